"""What a backend is written with, in one place: a platform's ``backend.py`` and the
modules beside it import from here only (its ``settings.py`` from
:mod:`agentdeck.backends.settings`, which the config reads without the rest).

- the contract: :class:`Backend` and what it declares (:class:`Option`, ``ANY_KEY``,
  :class:`CheckWarning`);
- the HTTP layer: :class:`Connection`, :class:`HttpClient`, :class:`BearerAuth`,
  :func:`http_client_for` for a backend that builds more clients (the local one, per
  model server), the
  stream decoders (``iter_sse``, ``sse_json``, ``mapped``, ``iter_data_stream``,
  ``data_stream_events``) and ``text_or_none``;
- the results (:mod:`agentdeck.model`), the errors (:mod:`agentdeck.errors`), paging
  (``offset_cursor``, ``parse_offset``) and redaction (``SECRETS``, :class:`Redactor`);
- for a backend that keeps or reads agentdeck's own store (``StoreUser``): :class:`Store`,
  the records its calls take (:class:`NewAgent`, :class:`NewMessage`,
  :class:`ConversationQuery`), ``new_id`` and the run history (``history_page``, ``history_conversation``).

Workflows, approvals, triggers and knowledge are not here: only the platforms that have
them import :mod:`agentdeck.platform_model`, so a server without them never builds it.
"""

from agentdeck.backends.base import ANY_KEY, Backend, CheckWarning, Option
from agentdeck.backends.run_history import history_conversation, history_page
from agentdeck.errors import (
    AgentdeckError,
    AgentDisabledError,
    AuthenticationError,
    ConfigError,
    ConflictError,
    InvalidInputError,
    ModelUnavailableError,
    NotFoundError,
    PaymentRequiredError,
    PermissionDeniedError,
    ProtocolError,
    UnsupportedError,
    UpstreamConnectError,
    UpstreamError,
    UpstreamTimeoutError,
    UpstreamValidationError,
)
from agentdeck.http import (
    BearerAuth,
    Connection,
    HttpClient,
    data_stream_events,
    http_client_for,
    iter_data_stream,
    iter_sse,
    mapped,
    sse_json,
    text_or_none,
)
from agentdeck.model import (
    Agent,
    AgentChanges,
    AgentSpec,
    ApprovalRequired,
    ApprovalResolved,
    ChatEvent,
    ChatRequest,
    Conversation,
    ConversationSummary,
    Done,
    ErrorEvent,
    Message,
    Page,
    PauseKey,
    QuestionAsked,
    ReasoningDelta,
    Ref,
    RunStarted,
    StreamWarning,
    TextDelta,
    ToolCall,
    ToolResult,
    WorkflowDraft,
    make_ref,
)
from agentdeck.pagination import offset_cursor, parse_offset
from agentdeck.redaction import SECRETS, Redactor
from agentdeck.store import ConversationQuery, NewAgent, NewMessage, Store
from agentdeck.store.shared import new_id

__all__ = [
    "ANY_KEY",
    "SECRETS",
    "Agent",
    "AgentChanges",
    "AgentDisabledError",
    "AgentSpec",
    "AgentdeckError",
    "ApprovalRequired",
    "ApprovalResolved",
    "AuthenticationError",
    "Backend",
    "BearerAuth",
    "ChatEvent",
    "ChatRequest",
    "CheckWarning",
    "ConfigError",
    "ConflictError",
    "Connection",
    "Conversation",
    "ConversationQuery",
    "ConversationSummary",
    "Done",
    "ErrorEvent",
    "HttpClient",
    "InvalidInputError",
    "Message",
    "ModelUnavailableError",
    "NewAgent",
    "NewMessage",
    "NotFoundError",
    "Option",
    "Page",
    "PauseKey",
    "PaymentRequiredError",
    "PermissionDeniedError",
    "ProtocolError",
    "QuestionAsked",
    "ReasoningDelta",
    "Redactor",
    "Ref",
    "RunStarted",
    "Store",
    "StreamWarning",
    "TextDelta",
    "ToolCall",
    "ToolResult",
    "UnsupportedError",
    "UpstreamConnectError",
    "UpstreamError",
    "UpstreamTimeoutError",
    "UpstreamValidationError",
    "WorkflowDraft",
    "data_stream_events",
    "history_conversation",
    "history_page",
    "http_client_for",
    "iter_data_stream",
    "iter_sse",
    "make_ref",
    "mapped",
    "new_id",
    "offset_cursor",
    "parse_offset",
    "sse_json",
    "text_or_none",
]
