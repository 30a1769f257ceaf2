"""One A2A agent as the backend sees it: its card and an A2A SDK client to reach it.

The SDK (``a2a-sdk``) speaks the protocol: it parses cards (0.3 ones too), picks the
interface, and sends JSON-RPC or HTTP+JSON requests and reads their event streams into
typed messages. Its HTTP goes through agentdeck's own: the SDK takes an
``AsyncClient``, and it gets an ``httpx2.AsyncClient`` (API-compatible with the httpx
client it expects) whose transport sends every request through the backend's
:class:`~agentdeck.http.HttpClient`, so the pooled connections, timeouts, retries, size
cap and redaction are those of every backend, and HTTP failures arrive as agentdeck
errors (the SDK catches only httpx's exception types, so it passes ours through).
What the SDK raises itself (JSON-RPC errors, malformed answers) :func:`translated`
turns into agentdeck errors: the one place this backend maps A2A failures.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any, cast

import anyio
import httpx2
from a2a.client import Client, ClientConfig, ClientFactory
from a2a.client.card_resolver import parse_agent_card
from a2a.client.errors import A2AClientError, A2AClientTimeoutError
from a2a.types import (
    AgentCard,
    AgentInterface,
    CancelTaskRequest,
    GetTaskRequest,
    ListTasksRequest,
    SendMessageRequest,
    StreamResponse,
    Task,
)
from a2a.utils.constants import TransportProtocol
from a2a.utils.errors import (
    A2AError,
    ContentTypeNotSupportedError,
    InvalidParamsError,
    InvalidRequestError,
    MethodNotFoundError,
    TaskNotCancelableError,
    TaskNotFoundError,
    UnsupportedOperationError,
)
from google.protobuf.json_format import ParseError

from agentdeck.backends.a2a.settings import A2AAgentEntry
from agentdeck.backends.kit import (
    SECRETS,
    AgentdeckError,
    ConflictError,
    HttpClient,
    NotFoundError,
    ProtocolError,
    UnsupportedError,
    UpstreamError,
    UpstreamTimeoutError,
    UpstreamValidationError,
)

#: The bindings agentdeck speaks, in its order of preference when a card offers both.
BINDINGS = [TransportProtocol.JSONRPC.value, TransportProtocol.HTTP_JSON.value]

_WHERE = (
    "Check the agent's URL in `agents`: its base URL (the card is read from "
    "/.well-known/agent-card.json below it) or its card's own URL."
)
_A2A_ERRORS: list[tuple[type[A2AError], type[UpstreamError]]] = [
    (TaskNotFoundError, NotFoundError),
    (TaskNotCancelableError, ConflictError),
    (InvalidParamsError, UpstreamValidationError),
    (InvalidRequestError, UpstreamValidationError),
    (ContentTypeNotSupportedError, UpstreamValidationError),
]


def translated(exc: Exception, *, backend: str, agent: str) -> AgentdeckError:
    """The agentdeck error for what the SDK raised while talking to ``agent``."""
    said = SECRETS.cut(getattr(exc, "message", None) or str(exc) or type(exc).__name__, 300)
    if isinstance(exc, UnsupportedOperationError | MethodNotFoundError):
        return UnsupportedError(
            f"the A2A agent '{agent}' does not serve this: {said}.", backend=backend
        )
    if isinstance(exc, A2AError) and not isinstance(exc, A2AClientError):
        cls = next((c for e, c in _A2A_ERRORS if isinstance(exc, e)), UpstreamError)
        return cls(
            f"the A2A agent '{agent}' answered with an error: {said}.",
            backend=backend,
            platform_message=said,
        )
    if isinstance(exc, A2AClientTimeoutError):
        return UpstreamTimeoutError(
            f"the A2A agent '{agent}' did not answer in time.", backend=backend
        )
    if isinstance(exc, A2AClientError):  # a JSON-RPC error of the agent's own, an SSE error
        return UpstreamError(
            f"the A2A agent '{agent}' failed the request: {said}.",
            backend=backend,
            platform_message=said,
        )
    return ProtocolError(
        f"the A2A agent '{agent}' answered something agentdeck cannot read: {said}.",
        backend=backend,
    )


class Peer:
    """One configured agent: where its card is, the card once read, and a client for it."""

    def __init__(self, backend: str, http: HttpClient, entry: A2AAgentEntry) -> None:
        self.backend = backend
        self.entry = entry
        self._http = http
        self._headers = {k: v.get_secret_value() for k, v in entry.headers.items()}
        self.card: AgentCard | None = None
        self.interface: AgentInterface | None = None
        #: when the card was last tried (read or failed); 0: never
        self.loaded_at = 0.0
        self._client: Client | None = None
        self._sender: Client | None = None
        # The SDK's HTTP clients: shells whose transport is the backend's HttpClient; the
        # sender's calls (SendMessage answers when the task has ended) get the long timeout.
        operation = f"A2A agent at {entry.url}"
        self._shells = [
            httpx2.AsyncClient(
                transport=_Through(http, operation, long=long), headers=self._headers
            )
            for long in (False, True)
        ]

    @property
    def name(self) -> str:
        return self.card.name if self.card and self.card.name else self.entry.url

    async def load(self) -> AgentCard:
        """Read the agent's card (again) and make a client for the interface it offers."""
        try:
            body = await self._http.request(
                "GET",
                self.entry.card_url(),
                headers=self._headers,
                operation=f"A2A agent card at {self.entry.card_url()}",
            )
        except NotFoundError as exc:
            raise exc.refined(hint=_WHERE) from exc
        try:
            card = parse_agent_card(body)
        except (ParseError, TypeError, ValueError) as exc:
            raise ProtocolError(
                f"{self.entry.card_url()} is not an A2A agent card: {exc}.",
                backend=self.backend,
                hint=_WHERE,
            ) from None
        interface = next(
            (i for i in card.supported_interfaces if i.protocol_binding in BINDINGS), None
        )
        if interface is None:
            offered = ", ".join(i.protocol_binding for i in card.supported_interfaces) or "none"
            raise UnsupportedError(
                f"the A2A agent '{card.name}' offers no interface agentdeck speaks "
                f"(JSON-RPC or HTTP+JSON); it offers: {offered}.",
                backend=self.backend,
            )
        # httpx2 is httpx's continuation with the same API; the SDK is typed for httpx's class.
        short, long = (
            ClientFactory(
                ClientConfig(httpx_client=cast(Any, shell), supported_protocol_bindings=BINDINGS)
            )
            for shell in self._shells
        )
        self._client, self._sender = short.create(card), long.create(card)
        self.card, self.interface, self.loaded_at = card, interface, anyio.current_time()
        return card

    @property
    def client(self) -> Client:
        assert self._client is not None, "load() makes the client"
        return self._client

    def details(self) -> dict[str, Any]:
        """What the card says beyond name and description, for ``get_agent``."""
        card, interface = self.card, self.interface
        assert card is not None and interface is not None
        skills = [
            {
                "id": s.id,
                "name": s.name,
                "description": s.description,
                "tags": list(s.tags),
                "examples": list(s.examples),
                **({"input_modes": list(s.input_modes)} if s.input_modes else {}),
                **({"output_modes": list(s.output_modes)} if s.output_modes else {}),
            }
            for s in card.skills
        ]
        details: dict[str, Any] = {
            "version": card.version,
            "card_url": self.entry.card_url(),
            "interface": {
                "url": interface.url,
                "binding": interface.protocol_binding,
                "protocol_version": interface.protocol_version,
            },
            "capabilities": {
                "streaming": card.capabilities.streaming,
                "push_notifications": card.capabilities.push_notifications,
            },
            "input_modes": list(card.default_input_modes),
            "output_modes": list(card.default_output_modes),
            "skills": skills,
        }
        if card.provider.organization:
            details["provider"] = {
                "organization": card.provider.organization,
                "url": card.provider.url,
            }
        if card.documentation_url:
            details["documentation_url"] = card.documentation_url
        return details

    @contextmanager
    def errors(self) -> Iterator[None]:
        """Raise what the SDK raises as agentdeck errors (see :func:`translated`)."""
        try:
            yield
        except httpx2.TransportError as exc:  # a stream cut off while the SDK read it
            raise self._http.translate(exc, f"A2A agent '{self.name}'") from exc
        except (A2AError, ParseError, ValueError) as exc:
            raise translated(exc, backend=self.backend, agent=self.name) from exc

    async def send(self, request: SendMessageRequest) -> AsyncIterator[StreamResponse]:
        """``SendStreamingMessage`` when the card streams, else ``SendMessage`` (one answer)."""
        assert self._sender is not None, "load() makes the client"
        with self.errors():
            async for response in self._sender.send_message(request):
                yield response

    async def get_task(self, task_id: str) -> Task:
        with self.errors():
            return await self.client.get_task(GetTaskRequest(id=task_id))

    async def cancel_task(self, task_id: str) -> Task:
        with self.errors():
            return await self.client.cancel_task(CancelTaskRequest(id=task_id))

    async def context_tasks(self, context_id: str) -> list[Task]:
        """The agent's tasks in one context, with their history (``ListTasks``)."""
        with self.errors():
            listed = await self.client.list_tasks(
                ListTasksRequest(context_id=context_id, history_length=100, include_artifacts=True)
            )
        return list(listed.tasks)

    async def aclose(self) -> None:
        for shell in self._shells:
            await shell.aclose()


class _Through(httpx2.AsyncBaseTransport):
    """Sends the SDK's requests through the backend's HttpClient (closing it closes nothing:
    the pooled client belongs to the registry)."""

    def __init__(self, http: HttpClient, operation: str, *, long: bool) -> None:
        self._http = http
        self._operation = operation
        self._long = long

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        operation = f"{self._operation} ({request.method} {request.url.path})"
        return await self._http.send(request, operation=operation, long=self._long)

    async def aclose(self) -> None:
        return None
