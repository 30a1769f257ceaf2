"""The configured backends by name: building them, looking them up, resolving refs.

The registry knows every backend kind by an import path, so a platform module is
only imported when a backend of its kind is configured. It owns the pooled HTTP
client of each backend (opened in :meth:`Registry.open`, closed at its end) and the
store (SQLite or PostgreSQL) shared by the local backend and the run history.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from typing import TYPE_CHECKING, Any, TypeVar

import httpx2
from pydantic import BaseModel, Field, SecretStr

from agentdeck.backends.base import (
    Backend,
    ConversationReader,
    StoreUser,
    capabilities_of,
    capability_name,
    implements,
)
from agentdeck.backends.kinds import KINDS, backend_class
from agentdeck.config import Settings
from agentdeck.errors import CredentialsRequiredError, InvalidInputError, UnsupportedError
from agentdeck.http import Connection, http_client_for
from agentdeck.model import Ref
from agentdeck.store import RunKeeping, Store, open_store

if TYPE_CHECKING:
    from agentdeck.credentials import Keyring

P = TypeVar("P")


def _keyring(settings: Settings, store: Store) -> Keyring | None:
    """The keyring of the per-user backends (``cryptography`` is loaded only for them)."""
    secret = settings.server.secret_key
    if secret is None or not any(
        b.credentials == "per_user" for b in settings.enabled_backends().values()
    ):
        return None
    from agentdeck.credentials import Keyring

    return Keyring(store, secret.get_secret_value())


def _per_user(
    name: str,
    cls_: type[Backend],
    settings: Any,
    keyring: Keyring,
    owner: Callable[[], str | None],
) -> Connection:
    """The connection of a per-user backend: its own scheme, with each caller's key."""
    from agentdeck.credentials import PerUserAuth

    def connection(settings: Any) -> Connection:
        found = cls_.connection(name, settings)
        assert found is not None  # a backend with keys to send calls a service
        return found

    def scheme(key: str) -> httpx2.Auth | None:
        with_key = settings.model_copy(update={settings.key_setting: SecretStr(key)})
        return connection(with_key).auth

    return Connection(
        base_url=connection(settings).base_url,
        auth=PerUserAuth(name, keyring, owner, scheme),
        credential_hint="The platform refused the key you connected: forget it with "
        "forget_key and connect a valid one.",
    )


def _one_of(names: list[str]) -> str:
    """``names`` as a list in words: "a, b or c"."""
    return f"{', '.join(names[:-1])} or {names[-1]}" if len(names) > 1 else names[0]


# A configured backend, as list_backends shows it (no docstring: it would enter the schema).
class BackendInfo(BaseModel):
    name: str = Field(description="The backend's configured name, used as the first part of refs.")
    kind: str = Field(description=f"The platform: {_one_of(list(KINDS))}.")
    capabilities: list[str] = Field(description="What this backend can do.")
    expose_agents: bool = Field(description="Whether its agents are also served as tools.")
    model: str | None = Field(
        default=None, description="Local backends: the default model, and what auto uses now."
    )


class Registry:
    """The backends of one running server, by configured name."""

    def __init__(
        self,
        settings: Settings,
        backends: dict[str, Backend],
        store: Store,
        keyring: Keyring | None = None,
        owner: Callable[[], str | None] = lambda: None,
        *,
        principal: str | None = None,
    ) -> None:
        self.settings = settings
        self.backends = backends
        self.store = store
        #: The users' keys to the per-user backends; None when no backend is per-user.
        self.keyring = keyring
        self._owner = owner
        #: the principal this registry serves (its backends are bound to it); None: everyone
        self.principal = principal

    def for_owner(self, owner: str | None) -> Registry:
        """The registry as ``owner`` sees it: every backend bound to them
        (:meth:`Backend.for_owner`). Without an owner (no OAuth) it is this registry."""
        if owner is None:
            return self
        bound = {name: backend.for_owner(owner) for name, backend in self.backends.items()}
        return Registry(
            self.settings, bound, self.store, self.keyring, self._owner, principal=owner
        )

    @classmethod
    @asynccontextmanager
    async def open(
        cls, settings: Settings, *, owner: Callable[[], str | None] = lambda: None
    ) -> AsyncIterator[Registry]:
        """Build every configured backend with its pooled HTTP client; close them all at exit.

        ``owner`` names the user a request is made for: whose key a per-user backend sends.
        """
        enabled = settings.enabled_backends()
        async with AsyncExitStack() as stack:
            keeping = RunKeeping(
                seconds=settings.server.run_keep_seconds,
                count=settings.server.run_keep_count,
                conversation_api=frozenset(
                    name
                    for name, backend_settings in enabled.items()
                    if issubclass(backend_class(backend_settings.kind), ConversationReader)
                ),
            )
            store = await stack.enter_async_context(
                open_store(
                    settings.database(),
                    wait_seconds=settings.server.database_wait_seconds,
                    keeping=keeping,
                )
            )
            keyring = _keyring(settings, store)
            backends: dict[str, Backend] = {}
            for name, backend_settings in enabled.items():
                cls_ = backend_class(backend_settings.kind)
                http = None
                connection = cls_.connection(name, backend_settings)
                if connection is not None:
                    if keyring is not None and backend_settings.credentials == "per_user":
                        connection = _per_user(name, cls_, backend_settings, keyring, owner)
                    client, http = http_client_for(name, backend_settings, connection)
                    await stack.enter_async_context(client)
                backend = cls_(name, backend_settings, http)
                if isinstance(backend, StoreUser):
                    backend.use_store(store)
                stack.push_async_callback(backend.aclose)
                backends[name] = backend
            yield cls(settings, backends, store, keyring, owner)

    def get(self, name: str) -> Backend:
        try:
            return self.backends[name]
        except KeyError:
            known = ", ".join(sorted(self.backends)) or "none"
            raise InvalidInputError(
                f"there is no backend named '{name}'. Configured backends: {known}.",
                hint="list_backends shows them with what each can do.",
            ) from None

    async def require_key(self, backend: Backend) -> None:
        """Raise ``CredentialsRequiredError`` now if ``backend`` is per-user and the caller
        has connected no key to it: what runs in the background (a chat) would fail
        there, where the user cannot be sent to connect one."""
        if self.keyring is None or backend.settings.credentials != "per_user":
            return
        owner = self._owner()
        if owner is None or await self.keyring.key(owner, backend.name) is None:
            raise CredentialsRequiredError(backend.name, owner)

    def info(self) -> list[BackendInfo]:
        return [
            BackendInfo(
                name=name,
                kind=backend.kind,
                capabilities=capabilities_of(backend),
                expose_agents=backend.settings.expose_agents,
            )
            for name, backend in self.backends.items()
        ]

    @staticmethod
    def require(backend: Backend, protocol: Callable[..., P], operation: str) -> P:
        """``backend`` as ``protocol`` (a capability's, or a finer one of
        ``backends.base``) if it implements it, else an error naming what it can do."""
        if implements(backend, protocol):
            return backend
        can = ", ".join(capabilities_of(backend)) or "nothing"
        capability = capability_name(protocol)
        explanation = backend.unsupported.get(capability) if capability else None
        if explanation is not None:
            raise UnsupportedError(
                f"{operation}: {explanation.format(backend=backend.name)}",
                backend=backend.name,
                hint=f"This backend can do: {can}.",
            )
        needs = f" (it needs '{capability}')" if capability else ""
        raise UnsupportedError(
            f"{operation} is not supported by {backend.kind} backends{needs}. "
            f"This backend can do: {can}.",
            backend=backend.name,
        )

    def resolve(self, ref: str, *, what: str = "agent") -> tuple[Backend, str]:
        """The backend and platform id a ref names; a bare backend name means its one agent."""
        parsed = Ref.parse(ref, what=f"{what} ref")
        backend = self.get(parsed.backend)
        if parsed.id is not None:
            return backend, parsed.id
        if what == "agent" and backend.default_agent_id is not None:
            return backend, backend.default_agent_id
        raise InvalidInputError(
            f"the {what} ref '{ref}' names only a backend; pass '<backend>:<id>'.",
            hint=f"list_{what}s shows the refs that exist.",
        )
