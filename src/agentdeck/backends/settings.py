"""The settings every backend kind shares; each platform's own class extends them.

Each platform keeps its settings class in its package (``backends/<kind>/settings.py``);
:mod:`agentdeck.config` validates each configured backend by its kind's class.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


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
    credentials: Literal["shared", "per_user"] = Field(
        default="shared",
        description="shared: every user acts with the key in the config; per_user: each "
        "user connects their own key (needs [server.auth] and [server] secret_key).",
    )

    #: The setting holding the platform key, which a per-user backend takes from each user
    #: instead of the config; None: the kind has no single key, so it cannot be per-user.
    key_setting: ClassVar[str | None] = None

    @model_validator(mode="before")
    @classmethod
    def _per_user_key(cls, data: Any) -> Any:
        """A per-user backend has no key in the config: its key setting is filled with an
        empty placeholder, which each call replaces with the calling user's key."""
        if not isinstance(data, dict) or data.get("credentials") != "per_user":
            return data
        if cls.key_setting is None:
            raise ValueError(f'credentials = "per_user" is not available for {cls.__name__}')
        if cls.key_setting in data:
            raise ValueError(
                f'a backend with credentials = "per_user" takes each user\'s own key: remove '
                f"`{cls.key_setting}`"
            )
        if data.get("expose_agents"):
            raise ValueError(
                'expose_agents cannot be used with credentials = "per_user": the per-agent '
                "tools are one list for every user"
            )
        return {**data, cls.key_setting: ""}


def is_per_user(_: type, settings: BackendCommon) -> bool:
    """Whether a backend takes each user's own key (what the forget-key tool needs)."""
    return settings.credentials == "per_user"
