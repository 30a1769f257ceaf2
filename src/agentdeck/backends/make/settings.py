"""Settings of a Make backend: its zone URL, API token and team."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field, SecretStr

from agentdeck.backends.settings import BackendCommon


class MakeSettings(BackendCommon):
    kind: Literal["make"]
    key_setting: ClassVar[str | None] = "token"
    base_url: str = Field(description="The zone's API URL, e.g. https://eu2.make.com/api/v2.")
    token: SecretStr = Field(description="A Make API token with the ai-agents scopes.")
    team_id: int = Field(gt=0, description="The Make team whose agents this backend serves.")
    streaming: bool = Field(default=True, description="Run agents with /run/stream (else /run).")


#: A backend name and minimal settings, for the generated docs (nothing is contacted).
EXAMPLE: tuple[str, dict[str, Any]] = (
    "ops",
    {"kind": "make", "base_url": "http://127.0.0.1:9/api/v2", "token": "-", "team_id": 1},
)
