"""A check every backend's chat tests share: how a flawed stream ends."""

from typing import Any


def assert_completed_with_a_warning(result: dict[str, Any], text: str, warning: str) -> None:
    """A chat turn that completed with ``text`` although its stream had one flaw (a malformed
    event), which it reports as its only warning, containing ``warning``."""
    assert result["status"] == "completed"
    assert result["text"] == text
    (only,) = result["warnings"]
    assert warning in only
