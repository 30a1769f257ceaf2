"""Settings of a Roboflow backend: the workspace and its API key."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import SecretStr

from agentdeck.backends.settings import BackendCommon


class RoboflowSettings(BackendCommon):
    kind: Literal["roboflow"]
    key_setting: ClassVar[str | None] = "api_key"
    base_url: str = "https://api.roboflow.com"
    workspace: str
    api_key: SecretStr | None = None


#: A backend name and minimal settings, for the generated docs (nothing is contacted).
EXAMPLE: tuple[str, dict[str, Any]] = (
    "vision",
    {"kind": "roboflow", "base_url": "http://127.0.0.1:9", "workspace": "w"},
)
