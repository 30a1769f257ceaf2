"""Settings of an AgenticFlow backend: host, path prefix, key, workspace and project."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field, SecretStr

from agentdeck.backends.settings import BackendCommon


class AgenticFlowSettings(BackendCommon):
    kind: Literal["agenticflow"]
    key_setting: ClassVar[str | None] = "api_key"
    base_url: str = Field(
        default="https://api.agenticflow.ai", description="The API host, without the prefix."
    )
    path_prefix: str = Field(
        default="/v1", description="The API path prefix: /v1 hosted, /api self-hosted."
    )
    api_key: SecretStr | None = Field(
        default=None,
        description="An AgenticFlow API key (Bearer); without one only public agents work.",
    )
    workspace_id: str | None = Field(
        default=None, description="The workspace (a UUID), sent on agent list and create."
    )
    project_id: str | None = Field(
        default=None, description="The project the key is bound to; agents are created in it."
    )


#: A backend name and minimal settings, for the generated docs (nothing is contacted).
EXAMPLE: tuple[str, dict[str, Any]] = (
    "af",
    {"kind": "agenticflow", "base_url": "http://127.0.0.1:9", "api_key": "-"},
)
