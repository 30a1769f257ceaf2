"""Settings of the local backend: where its data lives and which model answers."""

from __future__ import annotations

import difflib
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from agentdeck.backends.settings import BackendCommon, Strict

DEFAULT_DATABASE = "~/.local/share/agentdeck/local.db"
#: The models a local agent can name without an endpoint (see backend.py).
LOCAL_MODELS = ("auto", "openai", "sampling", "echo")


class HistoryLimit(Strict):
    """How much of a conversation a model call sends: the latest messages, at most
    ``messages`` of them and at most ``characters`` of their text, after the agent's
    instructions; the instructions and the new message always go. The whole conversation stays
    stored and readable; only what the model sees is bounded, so a turn costs the same at
    message 10 and at message 10,000."""

    messages: int = Field(default=200, ge=1, description="Most past messages per model call.")
    characters: int = Field(
        default=200_000, ge=1, description="Most characters of past messages per model call."
    )


class LocalSettings(BackendCommon):
    kind: Literal["local"] = "local"
    enabled: bool = True
    database: str = DEFAULT_DATABASE
    model: str = Field(
        default="auto",
        description="auto, openai, sampling, echo, or a model name on openai_base_url.",
    )
    openai_base_url: str | None = None
    openai_api_key: SecretStr | None = None
    openai_model: str | None = None
    history_limit: HistoryLimit = Field(default_factory=HistoryLimit)
    auto_probe_ports: list[int] = Field(
        default_factory=lambda: [11434, 8080, 1234, 8000],
        description="Ports on 127.0.0.1 where `auto` looks for a local OpenAI-compatible server.",
    )

    @model_validator(mode="after")
    def _model_is_known(self) -> LocalSettings:
        if self.model not in LOCAL_MODELS and not self.openai_base_url:
            raise ValueError(
                f'model "{self.model}" is not one of {", ".join(LOCAL_MODELS)}; another name '
                "is a model on openai_base_url, which is not set"
            )
        return self

    @field_validator("model")
    @classmethod
    def _not_a_near_miss(cls, model: str) -> str:
        """Any name is a model on the OpenAI-compatible endpoint, but "ech" or "Echo" is a typo
        that would only fail at the first chat; catch it when the config loads."""
        if model in LOCAL_MODELS:
            return model
        close = difflib.get_close_matches(model.lower(), LOCAL_MODELS, n=1, cutoff=0.75)
        if close:
            raise ValueError(
                f'unknown model "{model}"; did you mean "{close[0]}"? (other names are '
                "models of the OpenAI-compatible endpoint at openai_base_url)"
            )
        return model


#: A backend name and minimal settings, for the generated docs (nothing is contacted).
EXAMPLE: tuple[str, dict[str, Any]] = (
    "local",
    {"kind": "local", "database": ":memory:", "model": "echo", "expose_agents": True},
)
