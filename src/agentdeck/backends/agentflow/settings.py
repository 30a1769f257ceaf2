"""Settings of an AgentFlow backend: its URL and token."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import SecretStr

from agentdeck.backends.settings import BackendCommon


class AgentFlowSettings(BackendCommon):
    kind: Literal["agentflow"]
    key_setting: ClassVar[str | None] = "token"
    base_url: str
    token: SecretStr


#: A backend name and minimal settings, for the generated docs (nothing is contacted).
EXAMPLE: tuple[str, dict[str, Any]] = (
    "flow",
    {"kind": "agentflow", "base_url": "http://127.0.0.1:9", "token": "-"},
)
