"""The settings every backend kind shares; each platform's own class extends them.

Each platform keeps its settings class in its package (``backends/<kind>/settings.py``);
:mod:`agentdeck.config` validates each configured backend by its kind's class.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Strict(BaseModel):
    """A settings section that refuses unknown keys (a typo is an error, not ignored)."""

    model_config = ConfigDict(extra="forbid")


class BackendCommon(Strict):
    """Settings every backend kind shares: HTTP behaviour and agent exposure."""

    #: the platform; each kind's class narrows it to its own literal
    kind: str

    expose_agents: bool = False
    include_agents: list[str] = Field(default_factory=list)
    exclude_agents: list[str] = Field(default_factory=list)
    max_agent_tools: int = Field(default=50, ge=0)
    timeout: float = Field(default=30.0, gt=0, description="Seconds for ordinary requests.")
    stream_timeout: float = Field(default=300.0, gt=0, description="Read timeout of chat streams.")
    max_retries: int = Field(default=3, ge=0, le=10)
    retry_max_wait: float = Field(default=30.0, ge=0)
    max_response_bytes: int = Field(default=20_000_000, gt=0)
    max_connections: int = Field(
        default=100,
        ge=1,
        le=10_000,
        description="Connections to the platform at once; each streaming chat holds one.",
    )
