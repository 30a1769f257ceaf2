"""Settings: a TOML file plus environment variables, validated into one ``Settings`` object.

The file is found at ``--config PATH``, else ``$AGENTDECK_CONFIG``, else
``~/.config/agentdeck/agentdeck.toml`` when it exists; with none of them agentdeck
runs on the embedded ``local`` backend alone. Secrets are written as ``${ENV_VAR}``
references and expanded at load; a missing variable is an error naming the
variable, never a value. Secret fields are ``SecretStr`` so they never print.
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from agentdeck.errors import ConfigError

DEFAULT_CONFIG_PATH = Path("~/.config/agentdeck/agentdeck.toml")
DEFAULT_DATABASE = "~/.local/share/agentdeck/local.db"
ALL_TOOLSETS = (
    "agents",
    "chat",
    "conversations",
    "workflows",
    "approvals",
    "triggers",
    "knowledge",
)
#: The models a local agent can name without an endpoint (see backends/local.py).
LOCAL_MODELS = ("auto", "openai", "sampling", "echo")
_ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_BACKEND_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ServerSettings(_Strict):
    read_only: bool = False
    toolsets: list[Literal[ALL_TOOLSETS]] = Field(default_factory=lambda: list(ALL_TOOLSETS))  # type: ignore[valid-type]
    confirm_destructive: bool = True
    run_keep_seconds: float = Field(default=3600, gt=0)
    run_keep_count: int = Field(default=200, gt=0)
    agent_refresh_seconds: float = Field(default=300, ge=0)


class BackendCommon(_Strict):
    """Settings every backend kind shares: HTTP behaviour and agent exposure."""

    expose_agents: bool = False
    include_agents: list[str] = Field(default_factory=list)
    exclude_agents: list[str] = Field(default_factory=list)
    max_agent_tools: int = Field(default=50, ge=0)
    timeout: float = Field(default=30.0, gt=0, description="Seconds for ordinary requests.")
    stream_timeout: float = Field(default=300.0, gt=0, description="Read timeout of chat streams.")
    max_retries: int = Field(default=3, ge=0, le=10)
    retry_max_wait: float = Field(default=30.0, ge=0)
    max_response_bytes: int = Field(default=20_000_000, gt=0)


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


class MakeSettings(BackendCommon):
    kind: Literal["make"]
    base_url: str = Field(description="The zone's API URL, e.g. https://eu2.make.com/api/v2.")
    token: SecretStr = Field(description="A Make API token with the ai-agents scopes.")
    team_id: int = Field(gt=0, description="The Make team whose agents this backend serves.")
    streaming: bool = Field(default=True, description="Run agents with /run/stream (else /run).")


class AgenticFlowSettings(BackendCommon):
    kind: Literal["agenticflow"]
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


class AgentFlowSettings(BackendCommon):
    kind: Literal["agentflow"]
    base_url: str
    token: SecretStr


class RoboflowSettings(BackendCommon):
    kind: Literal["roboflow"]
    base_url: str = "https://api.roboflow.com"
    workspace: str
    api_key: SecretStr | None = None


BackendSettings = Annotated[
    LocalSettings | MakeSettings | AgenticFlowSettings | AgentFlowSettings | RoboflowSettings,
    Field(discriminator="kind"),
]


class Settings(_Strict):
    server: ServerSettings = Field(default_factory=ServerSettings)
    backends: dict[str, BackendSettings] = Field(default_factory=dict)
    source: str | None = Field(default=None, exclude=True, description="Where it was loaded from.")

    @field_validator("backends")
    @classmethod
    def _names_are_ref_safe(cls, backends: dict[str, Any]) -> dict[str, Any]:
        for name in backends:
            if not _BACKEND_NAME.match(name):
                raise ValueError(
                    f"backend name '{name}' must be lower-case letters, digits, '-' or '_', "
                    "starting with a letter (it becomes the first part of every ref)"
                )
        return backends

    def enabled_backends(self) -> dict[str, BackendSettings]:
        """The configured backends, plus ``local`` unless the file disabled it."""
        backends = {
            name: backend
            for name, backend in self.backends.items()
            if not (isinstance(backend, LocalSettings) and not backend.enabled)
        }
        if "local" not in self.backends:
            backends = {"local": LocalSettings(), **backends}
        return backends


def find_config_path(explicit: str | Path | None) -> Path | None:
    """The config file to read: the explicit path, ``$AGENTDECK_CONFIG``, or the default if present."""
    if explicit:
        return Path(explicit).expanduser()
    from_env = os.environ.get("AGENTDECK_CONFIG")
    if from_env:
        return Path(from_env).expanduser()
    default = DEFAULT_CONFIG_PATH.expanduser()
    return default if default.is_file() else None


def load_settings(
    path: str | Path | None = None, environ: dict[str, str] | None = None
) -> Settings:
    """Read, expand and validate the configuration; raise ``ConfigError`` naming what is wrong."""
    environ = dict(os.environ) if environ is None else environ
    config_path = find_config_path(path)
    if config_path is None:
        return Settings()
    try:
        raw = tomllib.loads(config_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"config file {config_path} does not exist.") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {config_path} is not valid TOML: {exc}.") from None
    except OSError as exc:
        raise ConfigError(f"config file {config_path} cannot be read: {exc.strerror}.") from None
    return parse_settings(raw, source=str(config_path), environ=environ)


def parse_settings(raw: dict[str, Any], *, source: str, environ: dict[str, str]) -> Settings:
    expanded = _expand(raw, environ, source=source, path=())
    try:
        settings = Settings.model_validate(expanded)
    except ValidationError as exc:
        raise ConfigError(f"config file {source} is invalid: {_describe(exc)}.") from None
    settings.source = source
    return settings


def _expand(value: Any, environ: dict[str, str], *, source: str, path: tuple[str, ...]) -> Any:
    if isinstance(value, dict):
        return {k: _expand(v, environ, source=source, path=(*path, k)) for k, v in value.items()}
    if isinstance(value, list):
        return [
            _expand(v, environ, source=source, path=(*path, str(i))) for i, v in enumerate(value)
        ]
    if isinstance(value, str):

        def substitute(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in environ:
                raise ConfigError(
                    f"config file {source}: {'.'.join(path)} refers to the environment "
                    f"variable {name}, which is not set. Set it, or remove the reference."
                )
            return environ[name]

        return _ENV_REFERENCE.sub(substitute, value)
    return value


def _describe(exc: ValidationError) -> str:
    """One line per problem, naming the key; input values are left out as they may be secrets."""
    problems = []
    for error in exc.errors(include_input=False, include_url=False):
        location = ".".join(str(part) for part in error["loc"])
        problems.append(f"{location}: {error['msg']}" if location else error["msg"])
    return "; ".join(problems)
