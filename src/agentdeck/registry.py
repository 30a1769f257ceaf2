"""The configured backends by name: building them, looking them up, resolving refs.

The registry knows every backend kind by an import path, so a platform module is
only imported when a backend of its kind is configured. It owns the pooled HTTP
client of each backend (opened in :meth:`Registry.open`, closed at its end) and the
store (SQLite or PostgreSQL) shared by the local backend and the run history.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any, TypeVar

import httpx2

from agentdeck.backends.base import (
    Backend,
    ConversationReader,
    HistoryUser,
    capabilities_of,
    capability_name,
    implements,
)
from agentdeck.backends.kinds import backend_class
from agentdeck.backends.local.settings import LocalSettings
from agentdeck.config import Settings
from agentdeck.errors import InvalidInputError, UnsupportedError
from agentdeck.http import Connection, HttpClient, RetryPolicy, build_async_client
from agentdeck.http_auth import BearerAuth
from agentdeck.model import BackendInfo, Ref
from agentdeck.store import RunKeeping, Store, open_store

P = TypeVar("P")


def http_client_for(
    name: str, settings: Any, connection: Connection
) -> tuple[httpx2.AsyncClient, HttpClient]:
    client = build_async_client(
        connection.base_url,
        auth=connection.auth,
        timeout=settings.timeout,
        max_connections=settings.max_connections,
    )
    http = HttpClient(
        client,
        backend=name,
        secrets=connection.secrets,
        retry=RetryPolicy(max_retries=settings.max_retries, max_wait=settings.retry_max_wait),
        stream_timeout=settings.stream_timeout,
        max_response_bytes=settings.max_response_bytes,
        credential_hint=connection.credential_hint,
    )
    return client, http


class Registry:
    """The backends of one running server, by configured name."""

    def __init__(self, settings: Settings, backends: dict[str, Backend], store: Store) -> None:
        self.settings = settings
        self.backends = backends
        self.store = store

    @classmethod
    @asynccontextmanager
    async def open(cls, settings: Settings) -> AsyncIterator[Registry]:
        """Build every configured backend with its pooled HTTP client; close them all at exit."""
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
            backends: dict[str, Backend] = {}
            for name, backend_settings in enabled.items():
                cls_ = backend_class(backend_settings.kind)
                if isinstance(backend_settings, LocalSettings):
                    http = None
                    if backend_settings.openai_base_url:
                        key = backend_settings.openai_api_key
                        connection = Connection(
                            base_url=backend_settings.openai_base_url,
                            auth=BearerAuth(key.get_secret_value()) if key else None,
                            secrets=(key.get_secret_value(),) if key else (),
                            credential_hint="Check `openai_api_key` of the local backend in the config.",
                        )
                        client, http = http_client_for(name, backend_settings, connection)
                        await stack.enter_async_context(client)
                    backends[name] = cls_(name, backend_settings, http, store)  # type: ignore[call-arg]
                    stack.push_async_callback(backends[name].aclose)
                    continue
                connection = cls_.connection(name, backend_settings)
                client, http = http_client_for(name, backend_settings, connection)
                await stack.enter_async_context(client)
                backend = cls_(name, backend_settings, http)
                if isinstance(backend, HistoryUser):
                    backend.use_history(store)
                stack.push_async_callback(backend.aclose)
                backends[name] = backend
            yield cls(settings, backends, store)

    def get(self, name: str) -> Backend:
        try:
            return self.backends[name]
        except KeyError:
            known = ", ".join(sorted(self.backends)) or "none"
            raise InvalidInputError(
                f"there is no backend named '{name}'. Configured backends: {known}.",
                hint="list_backends shows them with what each can do.",
            ) from None

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
