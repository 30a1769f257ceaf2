"""Settings: a TOML file plus environment variables, validated into one ``Settings`` object.

The file is found at ``--config PATH``, else ``$AGENTDECK_CONFIG``, else
``~/.config/agentdeck/agentdeck.toml`` when it exists; with none of them agentdeck
runs on the embedded ``local`` backend alone. Secrets are written as ``${ENV_VAR}``
references and expanded at load; a missing variable is an error naming the
variable, never a value. Secret fields are ``SecretStr`` so they never print.

Layers: this module sits above the backends' ``settings`` modules and reads them — each
``[backends.NAME]`` table is validated by its kind's settings class (found through
``backends/kinds.py``), and the default ``local`` backend's settings give the database
when ``[server] database`` is unset. That is the one way configuration reaches into
``backends/``: only their ``settings`` modules (small, pydantic only), never a backend.
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, get_args

from pydantic import (
    BaseModel,
    Field,
    SecretStr,
    SerializeAsAny,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails

from agentdeck.backends.kinds import KINDS, settings_class
from agentdeck.backends.local.settings import DEFAULT_DATABASE, LocalSettings
from agentdeck.backends.settings import BackendCommon, Strict
from agentdeck.errors import ConfigError
from agentdeck.store.shared import DEFAULT_WAIT_SECONDS

DEFAULT_CONFIG_PATH = Path("~/.config/agentdeck/agentdeck.toml")
Toolset = Literal[
    "agents",
    "chat",
    "conversations",
    "workflows",
    "approvals",
    "triggers",
    "knowledge",
]
ALL_TOOLSETS: tuple[Toolset, ...] = get_args(Toolset)
_ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_BACKEND_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")


class AuthSettings(Strict):
    """``[server.auth]``: agentdeck as an OAuth 2.1 resource server (docs/remote.md).

    Tokens are JWTs checked against the issuer's keys (``jwks_url``, else the one its
    metadata names), or opaque tokens asked about at ``introspection_url`` (RFC 7662).
    """

    issuer: str = Field(description="The authorization server; tokens' `iss`.")
    audience: str = Field(
        description="This server's canonical URL (https://host/mcp); tokens' `aud`, the "
        "RFC 8707 resource clients ask tokens for."
    )
    token_audience: str | None = Field(
        default=None,
        description="The `aud` tokens carry when the provider cannot put `audience` there "
        "(Microsoft Entra ID v2: the application ID); unset, `audience`.",
    )
    jwks_url: str | None = Field(
        default=None, description="The issuer's keys; unset, from its metadata."
    )
    introspection_url: str | None = Field(
        default=None, description="RFC 7662 endpoint for opaque tokens (instead of JWTs)."
    )
    client_id: str | None = Field(default=None, description="agentdeck's id at introspection.")
    client_secret: SecretStr | None = Field(default=None, description="Its secret, as ${ENV}.")
    read_scope: str = "agentdeck:read"
    chat_scope: str = "agentdeck:chat"
    manage_scope: str = "agentdeck:manage"
    leeway_seconds: int = Field(
        default=30, ge=0, le=300, description="Clock skew allowed on `exp` and `nbf`."
    )

    @model_validator(mode="after")
    def _one_way_to_check_tokens(self) -> AuthSettings:
        if self.introspection_url and self.jwks_url:
            raise ValueError("give jwks_url (JWTs) or introspection_url (opaque tokens), not both")
        if self.introspection_url and not (self.client_id and self.client_secret):
            raise ValueError("introspection_url needs client_id and client_secret")
        return self


class ServerSettings(Strict):
    read_only: bool = False
    toolsets: list[Toolset] = Field(default_factory=lambda: list(ALL_TOOLSETS))
    confirm_destructive: bool = True
    apps: bool = Field(
        default=True,
        description="Offer MCP Apps views (run, approvals, transcript, workflow) to clients "
        "that support them; false serves none.",
    )
    run_keep_seconds: float = Field(default=3600, gt=0)
    run_keep_count: int = Field(default=200, gt=0)
    database_wait_seconds: float = Field(
        default=DEFAULT_WAIT_SECONDS,
        gt=0,
        description="How long a call waits for a database another program holds locked "
        "before it fails saying so.",
    )
    agent_refresh_seconds: float = Field(default=300, ge=0)
    completion_seconds: float = Field(
        default=1.5,
        gt=0,
        le=30,
        description="Completions: how long each backend's list may take; a slower one is "
        "left out of the answer, which then says it has more.",
    )
    database: SecretStr | None = Field(
        default=None,
        description="Where everything durable lives: a postgresql:// URL (shared by replicas) "
        "or a SQLite file; unset, the local backend's `database` file.",
    )
    lease_seconds: float = Field(
        default=10,
        ge=1,
        le=60,
        description="A process sharing the database that is silent this long (by the "
        "database's clock) is taken as stopped and its running chats are failed.",
    )
    state_key: SecretStr | None = Field(
        default=None,
        description="Secret (32+ characters) sealing the 2026-07-28 input-required round "
        "state, the same on every replica; unset, derived from the HTTP token and database.",
    )
    secret_key: SecretStr | None = Field(
        default=None,
        description="Secret (32+ characters, through ${ENV}) encrypting the users' platform "
        'keys; required when a backend has credentials = "per_user".',
    )
    http_read_timeout_seconds: float = Field(
        default=10,
        gt=0,
        description="HTTP: a request (line, headers and body) must arrive within this long of "
        "its first byte or of the connection opening; a slower one is answered 408 and closed.",
    )
    http_max_connections: int = Field(
        default=1000,
        ge=1,
        description="HTTP: connections open at once; one more is answered 503 and closed.",
    )
    http_session_idle_seconds: float = Field(
        default=300,
        gt=0,
        description="HTTP: a session with no request in flight and no open GET stream for "
        "this long is closed; its client starts a new one.",
    )
    http_max_sessions: int = Field(
        default=1000,
        ge=1,
        description="HTTP: sessions open at once; one more is answered 503 until one ends.",
    )
    auth: AuthSettings | None = Field(
        default=None, description="OAuth 2.1 resource server (docs/remote.md); unset, none."
    )

    @field_validator("state_key", "secret_key")
    @classmethod
    def _key_is_long(cls, key: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        if key is not None and len(key.get_secret_value()) < 32:
            raise ValueError(f"{info.field_name} must be at least 32 characters")
        return key


if TYPE_CHECKING:
    BackendSettings = BackendCommon
else:
    # each value is the settings class of its kind (``parse_settings`` validates them), and
    # is dumped as that class
    BackendSettings = SerializeAsAny[BackendCommon]


class Settings(Strict):
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

    @model_validator(mode="after")
    def _one_database(self) -> Settings:
        if self.server.database is None:
            return self
        for name, backend in self.backends.items():
            if isinstance(backend, LocalSettings) and "database" in backend.model_fields_set:
                raise ValueError(
                    f"server.database and backends.{name}.database both say where the data "
                    "lives; keep only server.database"
                )
        return self

    @model_validator(mode="after")
    def _per_user_needs_a_secret_key(self) -> Settings:
        per_user = [n for n, b in self.backends.items() if b.credentials == "per_user"]
        if per_user and self.server.secret_key is None:
            raise ValueError(
                f'backends.{per_user[0]} has credentials = "per_user", which needs '
                'server.secret_key (32+ characters, e.g. secret_key = "${AGENTDECK_SECRET_KEY}"): '
                "it encrypts the keys users connect"
            )
        return self

    def database(self) -> str:
        """Where agents, conversations and run history live: ``[server] database`` (a
        PostgreSQL URL or a SQLite file), else the local backend's SQLite ``database``."""
        if self.server.database is not None:
            return self.server.database.get_secret_value()
        local = next(
            (b for b in self.enabled_backends().values() if isinstance(b, LocalSettings)), None
        )
        return local.database if local else DEFAULT_DATABASE

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
    """``raw`` (a parsed TOML file) as ``Settings``, every problem named in one ``ConfigError``.

    Each backend is validated by the settings class of its kind, imported only now: a
    configuration loads the settings code of the kinds it uses, not of every kind.
    """
    expanded = _expand(raw, environ, source=source, path=())
    problems: list[str] = []
    sections = expanded.get("backends")
    if isinstance(sections, dict):
        backends = {}
        for name, section in sections.items():
            try:
                backends[name] = _backend_settings(name, section)
            except _Invalid as exc:
                problems.extend(exc.problems)
        expanded = {**expanded, "backends": backends}
    try:
        settings = Settings.model_validate(expanded)
    except ValidationError as exc:
        problems.extend(_problems(exc))
    if problems:
        detail = "; ".join(problems)
        end = "" if detail.endswith(("?", ".")) else "."
        raise ConfigError(f"config file {source} is invalid: {detail}{end}")
    settings.source = source
    return settings


class _Invalid(Exception):
    """A backend's section was refused; ``problems`` says why, in the file's words."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems


def _backend_settings(name: str, section: Any) -> BackendCommon:
    """One ``[backends.NAME]`` table validated by its kind's settings class."""
    where = f"[backends.{name}]"
    if not isinstance(section, dict):
        raise _Invalid([f"{where} must be a table of settings"])
    kind = section.get("kind")
    if kind is None:
        raise _Invalid([f'{where} has no "kind"; set kind to one of: {", ".join(KINDS)}'])
    if kind not in KINDS:
        known = f'{where} has kind "{kind}", which is not one of: {", ".join(KINDS)}'
        raise _Invalid([known + _did_you_mean(str(kind), list(KINDS))])
    try:
        return settings_class(kind).model_validate(section)
    except ValidationError as exc:
        raise _Invalid(_problems(exc, within=("backends", name, kind))) from None


def _expand(value: Any, environ: dict[str, str], *, source: str, path: tuple[str, ...]) -> Any:
    """``value`` with every ``${VAR}`` replaced; all missing variables are named in one error."""
    missing: dict[str, list[str]] = {}
    expanded = _substitute(value, environ, path, missing)
    if missing:
        names = ", ".join(f"{name} (at {', '.join(keys)})" for name, keys in missing.items())
        raise ConfigError(
            f"config file {source} refers to environment variables that are not set: {names}. "
            "Set them, or remove the references."
        )
    return expanded


def _substitute(
    value: Any, environ: dict[str, str], path: tuple[str, ...], missing: dict[str, list[str]]
) -> Any:
    if isinstance(value, dict):
        return {k: _substitute(v, environ, (*path, k), missing) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, environ, (*path, str(i)), missing) for i, v in enumerate(value)]
    if isinstance(value, str):

        def substitute(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in environ:
                missing.setdefault(name, []).append(".".join(path))
                return ""
            return environ[name]

        return _ENV_REFERENCE.sub(substitute, value)
    return value


def _problems(exc: ValidationError, within: tuple[str, ...] = ()) -> list[str]:
    """One line per problem in the words of the TOML file (sections and keys, not pydantic's
    locations); input values are left out as they may be secrets. ``within``: the location
    of what was validated (a backend's section)."""
    return [
        _problem({**error, "loc": (*within, *error["loc"])})
        for error in exc.errors(include_input=False, include_url=False)
    ]


def _problem(error: ErrorDetails) -> str:
    loc = [str(part) for part in error["loc"]]
    section, model, key = _section_of(loc)
    if error["type"] == "extra_forbidden" and model is not None:
        known = [name for name in model.model_fields if name != "source"]
        return f'unknown key "{key}" in {section}' + _did_you_mean(key, known)
    if error["type"] == "missing":
        return f'missing key "{key}" in {section}'
    message = error["msg"].removeprefix("Value error, ")
    return f"{key} in {section}: {message}" if key else f"{section}: {message}"


def _section_of(loc: list[str]) -> tuple[str, type[BaseModel] | None, str]:
    """The TOML section a pydantic location is in, the settings class of that section, and
    the key (with any list index) inside it."""
    if loc[:1] == ["backends"] and len(loc) >= 3:
        model = settings_class(loc[2]) if loc[2] in KINDS else None
        return f"[backends.{loc[1]}]", model, ".".join(loc[3:])
    if loc[:1] == ["server"] and len(loc) >= 2:
        return "[server]", ServerSettings, ".".join(loc[1:])
    if len(loc) == 1:
        return "the top level", Settings, loc[0]
    return f"[{'.'.join(loc)}]", None, ""


def _did_you_mean(word: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    if close:
        return f'; did you mean "{close[0]}"?'
    return f" (known: {', '.join(choices)})"
