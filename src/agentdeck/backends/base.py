"""The backend base class and the capability protocols backends implement.

A capability is a small protocol. A backend class implements the ones its
platform documents, and :func:`capabilities_of` derives its capability list from
them, so the list shown to users can never disagree with the code. Ids passed in
are the platform's own ids (the part of a ref after ``<backend>:``); results carry
``backend`` so their refs are complete.
"""

from __future__ import annotations

import copy
from collections.abc import AsyncGenerator, Callable, Mapping
from dataclasses import dataclass
from typing import (
    TYPE_CHECKING,
    Any,
    ClassVar,
    Protocol,
    Self,
    TypeGuard,
    TypeVar,
    cast,
    runtime_checkable,
)

from agentdeck.errors import AgentdeckError, InvalidInputError, UpstreamError
from agentdeck.http import Connection, HttpClient
from agentdeck.model import (
    Agent,
    AgentChanges,
    AgentSpec,
    ChatEvent,
    ChatRequest,
    Conversation,
    ConversationSummary,
    Page,
)

if TYPE_CHECKING:  # only in annotations: built when a platform that has them is configured
    from agentdeck.platform_model import (
        Approval,
        KnowledgeBase,
        KnowledgeHit,
        Trigger,
        TriggerEvent,
        Workflow,
        WorkflowChanges,
        WorkflowSpec,
        WorkflowVersion,
    )
    from agentdeck.store import Store

P = TypeVar("P")


class CheckWarning(AgentdeckError):
    """What :meth:`Backend.check` raises when nothing configured is broken but the user
    should act: the backend works, yet not for everything (``agentdeck check`` warns and
    still passes). Its message says what is missing, its hint how to get it."""


#: An option key that stands for "any other key": the platform takes keys agentdeck
#: passes through unchecked (e.g. AgentFlow's agent config).
ANY_KEY = "*"


@dataclass(frozen=True)
class Option:
    """One key a platform accepts in a tool's ``options`` object.

    Declared once on the backend class: the tool descriptions list the options of the
    configured kinds from these, and :meth:`Backend.check_options` accepts exactly them.
    """

    key: str
    #: The JSON type the caller writes: string, boolean, integer, object, list or any.
    type: str
    #: One line: what it does, its values and default, whether it is required ("" when the
    #: key says it all).
    description: str
    #: The tools that take it: chat, create_agent, update_agent, list_conversations, ...
    operations: tuple[str, ...]


def options_of(options: tuple[Option, ...], operation: str) -> tuple[Option, ...]:
    """The options ``operation`` takes, in declaration order."""
    return tuple(option for option in options if operation in option.operations)


class Backend:
    """A configured connection to one platform account.

    ``http`` is the backend's :class:`HttpClient`, built from the pooled client the
    server creates at start (None for the local backend, which has no platform); its
    errors reach the backend's caller as :meth:`explain` words them.
    """

    kind: ClassVar[str]
    #: A backend with one workspace agent accepts its bare name as the agent ref.
    default_agent_id: ClassVar[str | None] = None
    #: Why the platform lacks a capability, in its own terms (``{backend}`` is filled
    #: in), for the error a user gets when asking for it.
    unsupported: ClassVar[dict[str, str]] = {}
    #: Every ``options`` key the platform takes, per tool (see :class:`Option`).
    options: ClassVar[tuple[Option, ...]] = ()
    #: What the ``model`` of an agent may be, when the platform's own names are not all.
    model_note: ClassVar[str] = ""
    #: Whether the backend keeps things of agentdeck's own that belong to a user (local
    #: agents and conversations, the run history it reads): then each principal is served
    #: through a view bound to it (:meth:`for_owner`).
    keeps_owned: ClassVar[bool] = False

    def __init__(self, name: str, settings: Any, http: HttpClient | None) -> None:
        self.name = name
        self.settings = settings
        self._http = http.explained_by(self.explain) if http is not None else None
        #: the principal this view of the backend serves; None: everyone (no OAuth)
        self.owner: str | None = None

    def for_owner(self, owner: str | None) -> Self:
        """This backend as ``owner`` sees it. A platform shows what its credentials see,
        so one object serves everyone; a backend that :attr:`keeps_owned` answers with a
        shallow copy bound to ``owner`` (sharing its clients, locks and store)."""
        if owner is None or not self.keeps_owned:
            return self
        view = copy.copy(self)
        view.owner = owner
        return view

    @property
    def http(self) -> HttpClient:
        assert self._http is not None, f"{self.kind} backends are built with an HttpClient"
        return self._http

    @classmethod
    def connection(cls, name: str, settings: Any) -> Connection | None:
        """Where the platform is and how to authenticate; the registry builds the client.
        None: the backend calls no HTTP service (so far: the local one, on no model
        endpoint), and is built without a client."""
        raise NotImplementedError

    async def check(self) -> str:
        """Make one cheap authenticated call; return a one-line summary of what it found.
        Raise an AgentdeckError for what is broken, a :class:`CheckWarning` for what is
        merely missing."""
        raise NotImplementedError

    async def aclose(self) -> None:
        """Release what the backend holds beyond its HTTP client (which the server closes)."""

    def explain(self, error: UpstreamError) -> UpstreamError:
        """The error to raise for ``error``: ``error.refined(...)`` with what it means on this
        platform and what to do, or a plain copy when there is nothing to add (always a new
        error, so it can be raised ``from`` the original).

        The one way platforms explain their errors: the backend's :class:`HttpClient` calls
        it on every failed request, stream and send with the ``context`` the call passed
        (the agent asked for, the operation's own secrets) as keywords.
        """
        return error.refined()

    def check_options(
        self, given: Mapping[str, Any], operation: str, *, named_only: bool = False
    ) -> None:
        """Refuse keys ``operation`` does not take on this platform, naming the ones it does.

        ``named_only`` ignores the any-key declarations, for a case that takes only the
        named keys (an AgentFlow sub-agent's update).
        """
        declared = [option.key for option in options_of(self.options, operation)]
        accepted = [key for key in declared if key != ANY_KEY]
        unknown = sorted(set(given) - set(accepted))
        if unknown and (named_only or ANY_KEY not in declared):
            listed = ", ".join(accepted) or "none"
            raise InvalidInputError(
                f"{operation} on {self.kind} does not take the option(s) {', '.join(unknown)}; "
                f"accepted: {listed}.",
                backend=self.name,
            )

    def refuse_filters(self, filters: Mapping[str, Any]) -> None:
        """Refuse list_conversations ``filters`` on a platform that has none to apply."""
        if filters:
            raise InvalidInputError(
                f"{self.kind} conversations take no filters (got {sorted(filters)}).",
                backend=self.name,
            )


@runtime_checkable
class AgentReader(Protocol):
    async def list_agents(self, *, limit: int, cursor: str | None) -> Page[Agent]: ...
    async def get_agent(self, agent_id: str) -> Agent: ...


@runtime_checkable
class AgentWriter(Protocol):
    async def create_agent(self, spec: AgentSpec) -> Agent: ...
    async def update_agent(self, agent_id: str, changes: AgentChanges) -> Agent: ...
    async def delete_agent(self, agent_id: str) -> None: ...


@runtime_checkable
class ChatCapable(Protocol):
    def chat(self, request: ChatRequest) -> AsyncGenerator[ChatEvent, None]:
        """Stream the agent's answer; end with a ``Done`` event or raise an AgentdeckError."""
        ...


@runtime_checkable
class CancelCapable(Protocol):
    async def cancel_chat(self, upstream_run_id: str) -> None:
        """Ask the platform to stop a run it announced with ``RunStarted``."""
        ...


@runtime_checkable
class ConversationReader(Protocol):
    async def list_conversations(
        self,
        *,
        agent_id: str | None,
        limit: int,
        cursor: str | None,
        filters: dict[str, Any],
    ) -> Page[ConversationSummary]: ...

    async def get_conversation(self, conversation_id: str) -> Conversation: ...


@runtime_checkable
class WorkflowManager(Protocol):
    async def list_workflows(self, *, limit: int, cursor: str | None) -> Page[Workflow]: ...
    async def get_workflow(self, workflow_id: str) -> Workflow: ...
    async def list_workflow_versions(
        self, workflow_id: str, *, limit: int, cursor: str | None
    ) -> Page[WorkflowVersion]: ...
    async def create_workflow(self, spec: WorkflowSpec) -> Workflow: ...
    async def update_workflow(self, workflow_id: str, changes: WorkflowChanges) -> Workflow: ...
    async def fork_workflow(
        self, source_workspace: str, source_workflow: str, options: dict[str, Any]
    ) -> Workflow: ...
    async def delete_workflow(self, workflow_id: str) -> str:
        """Delete; return a sentence saying what happened (e.g. moved to Trash)."""
        ...

    async def create_workflow_token(self, workflow_id: str) -> dict[str, Any]: ...


@runtime_checkable
class WorkflowPublisher(Protocol):
    async def publish_workflow(self, workflow_id: str) -> Workflow: ...


@runtime_checkable
class ApprovalHandler(Protocol):
    async def list_approvals(
        self, *, agent_id: str | None, limit: int, cursor: str | None
    ) -> Page[Approval]: ...

    async def respond_to_approval(
        self,
        approval_id: str,
        *,
        decision: str,
        arguments: dict[str, Any] | None,
        reason: str | None,
    ) -> Approval: ...


@runtime_checkable
class TriggerManager(Protocol):
    async def list_triggers(
        self, *, agent_id: str | None, limit: int, cursor: str | None
    ) -> Page[Trigger]: ...
    async def create_trigger(self, agent_id: str, options: dict[str, Any]) -> Trigger: ...
    async def update_trigger(self, trigger_id: str, options: dict[str, Any]) -> Trigger: ...
    async def delete_trigger(self, trigger_id: str) -> None: ...
    async def list_trigger_events(
        self, trigger_id: str, *, limit: int, cursor: str | None
    ) -> Page[TriggerEvent]: ...
    async def invoke_trigger(self, trigger_id: str, payload: Any) -> dict[str, Any]: ...


@runtime_checkable
class KnowledgeSearcher(Protocol):
    async def list_knowledge_bases(
        self, *, limit: int, cursor: str | None
    ) -> Page[KnowledgeBase]: ...

    async def search_knowledge(
        self,
        query: str,
        *,
        knowledge_base_ids: list[str],
        agent_id: str | None,
        limit: int,
    ) -> list[KnowledgeHit]: ...


# ---- finer protocols: what some platforms offer beyond a capability -----------------------
# Not capabilities of their own (list_backends does not show them); a tool that needs one
# is served when a configured backend implements it.


@runtime_checkable
class BulkApprovalResponder(Protocol):
    async def respond_to_approvals(
        self, approval_ids: list[str], *, decision: str, reason: str | None
    ) -> list[tuple[str, str | None, str | None]]:
        """Answer several approvals in one call; per id: (id, status, error or None)."""
        ...


@runtime_checkable
class ApprovalCanceller(Protocol):
    async def cancel_approval(self, approval_id: str) -> Approval: ...


@runtime_checkable
class QuestionResponder(Protocol):
    async def answer_question(self, question_id: str, *, answer: str) -> str:
        """Answer an agent's question; return the question's status afterwards."""
        ...


@runtime_checkable
class SubagentLister(Protocol):
    async def list_subagents(
        self, agent_id: str, *, limit: int, cursor: str | None
    ) -> Page[Agent]: ...


@runtime_checkable
class AgentToolRunner(Protocol):
    async def list_agent_tools(
        self, agent_id: str, *, limit: int, cursor: str | None
    ) -> Page[dict[str, Any]]:
        """Tools as dicts with name, description, parameters, requires_approval, details."""
        ...

    async def run_agent_tool(
        self, agent_id: str, tool: str, *, arguments: dict[str, Any]
    ) -> dict[str, Any]:
        """Run one tool; a dict with status, result and details."""
        ...


@runtime_checkable
class ClientModelAnswerer(Protocol):
    """A backend whose agents may answer through the MCP client's own model (sampling).

    The server asks the client's model, since only it holds the session, and hands the
    run a ``ChatRequest.sampler``; the backend says when that applies and what the model
    is to read.
    """

    async def answers_through_client(self, agent_id: str) -> bool:
        """Whether the agent's answer comes from the client's model when the client samples."""
        ...

    async def history(self, agent_id: str, conversation_id: str | None) -> list[dict[str, str]]:
        """The messages the model reads before the next user turn (role, content)."""
        ...

    async def describe_model(self) -> str:
        """The backend's default model, as ``list_backends`` shows it."""
        ...


@runtime_checkable
class ConversationKeeper(Protocol):
    """A backend that keeps its conversations itself and knows whose each one is."""

    async def conversation_owner(self, conversation_id: str) -> str:
        """The id of the agent the conversation belongs to; an unknown one is NotFoundError."""
        ...


@runtime_checkable
class StoreUser(Protocol):
    """A backend that keeps or reads something in agentdeck's own store: the local
    backend its agents and conversations, A2A the run history (its conversations are
    the ones agentdeck took part in); the registry hands it the store it opened."""

    def use_store(self, store: Store) -> None: ...


#: Capability name → protocol. The names are what ``list_backends`` shows.
CAPABILITIES: dict[str, type] = {
    "agents": AgentReader,
    "manage_agents": AgentWriter,
    "chat": ChatCapable,
    "cancel": CancelCapable,
    "conversations": ConversationReader,
    "workflows": WorkflowManager,
    "publish": WorkflowPublisher,
    "approvals": ApprovalHandler,
    "triggers": TriggerManager,
    "knowledge": KnowledgeSearcher,
}


def capabilities_of(backend: Backend) -> list[str]:
    """The capability names ``backend`` implements, in table order."""
    return [name for name, protocol in CAPABILITIES.items() if isinstance(backend, protocol)]


def capability_name(protocol: object) -> str | None:
    """The capability name of ``protocol``; None for the finer protocols."""
    return next((name for name, p in CAPABILITIES.items() if p is protocol), None)


def implements(backend: object, protocol: Callable[..., P]) -> TypeGuard[P]:
    """Whether ``backend`` implements ``protocol`` (a runtime-checkable protocol class).

    Typed as a callable because mypy refuses a protocol class where ``type[P]`` is
    expected (its ``type-abstract`` rule), and a protocol is what callers pass.
    Answered once per backend class: the protocols hold only methods, which a class
    defines, and a protocol ``isinstance`` costs microseconds at every chat.
    """
    key = (type(backend), protocol)
    known = _IMPLEMENTS.get(key)
    if known is None:
        known = _IMPLEMENTS[key] = isinstance(backend, cast(type, protocol))
    return known


#: (backend class, protocol) -> whether the class implements the protocol
_IMPLEMENTS: dict[tuple[type, object], bool] = {}
