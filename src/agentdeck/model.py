"""Domain models shared by every layer.

Backends turn platform JSON into these; the server returns them as structured
tool results. Everything a user can address carries a ref ``<backend>:<id>``,
the same form the tools accept.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar, Generic, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, computed_field

from agentdeck.errors import InvalidInputError

T = TypeVar("T")


def as_utc(moment: datetime) -> datetime:
    """``moment`` in UTC; a time without a zone is taken to be UTC already (the stores
    and most platforms write UTC without saying so)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def rfc3339(moment: datetime) -> str:
    """``moment`` as RFC 3339 in UTC with ``Z``: the one way agentdeck writes a time, in
    results (pydantic writes a UTC time so) and in Markdown alike."""
    return as_utc(moment).isoformat().replace("+00:00", "Z")


#: A point in time, kept in UTC so every result writes it as ``…Z``, whatever zone the
#: platform sent.
Timestamp = Annotated[datetime, AfterValidator(as_utc)]


def make_ref(backend: str, id: str) -> str:
    """The ref under which ``id`` of ``backend`` is addressed in every tool."""
    return f"{backend}:{id}"


class Ref(BaseModel):
    """A parsed ``<backend>:<id>`` ref; ``id`` is None for a bare backend name."""

    model_config = ConfigDict(frozen=True)

    backend: str
    id: str | None

    @classmethod
    def parse(cls, text: str, *, what: str = "ref") -> Ref:
        text = (text or "").strip()
        if not text:
            raise InvalidInputError(f"The {what} is empty; pass it as '<backend>:<id>'.")
        backend, sep, id = text.partition(":")
        if not backend:
            raise InvalidInputError(
                f"The {what} '{text}' has no backend before ':'; pass it as '<backend>:<id>'."
            )
        if sep and not id:
            raise InvalidInputError(
                f"The {what} '{text}' has no id after ':'; pass it as '<backend>:<id>'."
            )
        return cls(backend=backend, id=id or None)

    def __str__(self) -> str:
        return make_ref(self.backend, self.id) if self.id else self.backend


class Addressed(BaseModel):
    """Something that lives on one backend under one id."""

    backend: str = Field(description="The configured backend this belongs to.")
    id: str = Field(description="The platform's own id.")

    @computed_field(description="The ref to pass to other tools: '<backend>:<id>'.")
    @property
    def ref(self) -> str:
        return make_ref(self.backend, self.id)


class Agent(Addressed):
    name: str
    description: str | None = None
    instructions: str | None = Field(default=None, description="The agent's system prompt.")
    model: str | None = None
    created_at: Timestamp | None = None
    updated_at: Timestamp | None = None
    details: dict[str, Any] = Field(
        default_factory=dict, description="Platform-specific fields, as the platform names them."
    )


class AgentSpec(BaseModel):
    """What ``create_agent`` asks a backend to create."""

    name: str
    instructions: str | None = None
    model: str | None = None
    description: str | None = None
    options: dict[str, Any] = Field(default_factory=dict)


class AgentChanges(BaseModel):
    """What ``update_agent`` asks a backend to change; None means leave as is."""

    name: str | None = None
    instructions: str | None = None
    model: str | None = None
    description: str | None = None
    options: dict[str, Any] = Field(default_factory=dict)

    def is_empty(self) -> bool:
        return not self.options and all(
            value is None for value in (self.name, self.instructions, self.model, self.description)
        )


class Page(BaseModel, Generic[T]):
    """One page of a listing; pass ``next_cursor`` as ``cursor`` to get the next one."""

    items: list[T]
    next_cursor: str | None = Field(
        default=None, description="Pass as `cursor` for the next page; absent on the last page."
    )
    #: What the backend could not list while the rest is complete (an A2A agent whose card
    #: did not load); list tools show each under ``failures``.
    failures: list[str] = Field(default_factory=list, exclude=True)


class Message(BaseModel):
    role: str = Field(description="user, assistant, tool or system.")
    content: str
    created_at: Timestamp | None = None


class ConversationSummary(Addressed):
    agent: str | None = Field(default=None, description="Ref of the agent, when known.")
    title: str | None = None
    created_at: Timestamp | None = None
    updated_at: Timestamp | None = None
    message_count: int | None = None


class Conversation(ConversationSummary):
    messages: list[Message] = Field(default_factory=list)


class Artifact(BaseModel):
    """Something a chat turn made on the platform besides its answer, as the platform's
    own model (:class:`WorkflowDraft`). :class:`Done` carries them and the run engine keeps
    them without knowing their kind; the chat result lists each kind under a field of its
    own. Each kind is a subclass that names itself in ``kind``."""

    kind: ClassVar[str]

    @classmethod
    def kind_named(cls, kind: str) -> type[Artifact]:
        """The subclass of that ``kind`` (how an artifact is read back from JSON)."""
        for subclass in cls.__subclasses__():
            if subclass.kind == kind:
                return subclass
        raise ValueError(f"there is no kind of artifact named {kind!r}")


class WorkflowDraft(Artifact):
    """A workflow a chat created or edited (Roboflow drafts until published)."""

    kind: ClassVar[str] = "workflow"

    backend: str
    id: str
    name: str | None = None
    url: str | None = None
    published: bool = False
    specification: dict[str, Any] | None = None

    @computed_field(description="The ref to pass to workflow tools: '<backend>:<url or id>'.")
    @property
    def ref(self) -> str:
        return make_ref(self.backend, self.url or self.id)


# ---- chat events: what every backend's chat yields -------------------------------------


class _Event(BaseModel):
    """What every chat event is. Its classes are built on first use, not at import
    (``defer_build``): a chat yields two or three of the thirteen kinds, so a server
    that has not chatted yet has built none of them."""

    model_config = ConfigDict(defer_build=True)


class TextDelta(_Event):
    type: Literal["text"] = "text"
    text: str


class ReasoningDelta(_Event):
    type: Literal["reasoning"] = "reasoning"
    text: str


class ToolCall(_Event):
    type: Literal["tool_call"] = "tool_call"
    id: str | None = None
    name: str
    arguments: Any = None


class ToolResult(_Event):
    type: Literal["tool_result"] = "tool_result"
    id: str | None = None
    name: str | None = None
    result: Any = None


class ApprovalRequired(_Event):
    type: Literal["approval_required"] = "approval_required"
    approval_id: str
    tool: str | None = None
    arguments: dict[str, Any] | None = None
    message: str | None = None


class ApprovalResolved(_Event):
    """The platform reports that a pending approval was answered (or expired)."""

    type: Literal["approval_resolved"] = "approval_resolved"
    approval_id: str
    status: str | None = None


class QuestionAsked(_Event):
    type: Literal["question"] = "question"
    question_id: str
    question: str


class StepStart(_Event):
    type: Literal["step_start"] = "step_start"
    step: str | None = None


class StepFinish(_Event):
    type: Literal["step_finish"] = "step_finish"
    step: str | None = None
    details: dict[str, Any] = Field(default_factory=dict)


class RunStarted(_Event):
    """The platform's own id for this run, for its cancel endpoint."""

    type: Literal["run_started"] = "run_started"
    upstream_run_id: str | None = None
    conversation_id: str | None = None


class ErrorEvent(_Event):
    """A problem inside the stream; the run ends as failed after it."""

    type: Literal["error"] = "error"
    message: str


class StreamWarning(_Event):
    """Something was skipped (a malformed line); the run goes on."""

    type: Literal["warning"] = "warning"
    message: str


class Done(_Event):
    type: Literal["done"] = "done"
    conversation_id: str | None = None
    usage: dict[str, Any] | None = None
    artifacts: Sequence[Artifact] = Field(default_factory=list)
    details: dict[str, Any] = Field(default_factory=dict)


ChatEvent = Annotated[
    TextDelta
    | ReasoningDelta
    | ToolCall
    | ToolResult
    | ApprovalRequired
    | ApprovalResolved
    | QuestionAsked
    | StepStart
    | StepFinish
    | RunStarted
    | ErrorEvent
    | StreamWarning
    | Done,
    Field(discriminator="type"),
]


@dataclass(frozen=True, slots=True)
class PauseKey:
    """Names one pause of a run: an approval or a question, by the platform's own id.

    Its text form, ``approval:<id>`` / ``question:<id>``, is what an input round's state
    carries to the client and back (:meth:`parse` reads it).
    """

    kind: Literal["approval", "question"]
    id: str

    @classmethod
    def of(cls, event: ApprovalRequired | QuestionAsked) -> PauseKey:
        """The pause the event announces."""
        if isinstance(event, ApprovalRequired):
            return cls("approval", event.approval_id)
        return cls("question", event.question_id)

    @classmethod
    def parse(cls, text: str) -> PauseKey | None:
        """The key whose text form is ``text``; None for anything else."""
        kind, sep, id = text.partition(":")
        if not sep or not id or kind not in ("approval", "question"):
            return None
        return cls("approval" if kind == "approval" else "question", id)

    def __str__(self) -> str:
        return f"{self.kind}:{self.id}"


#: The MCP client's own model: a chat history in, its answer out (None: it gave no text).
Sampler = Callable[[list[dict[str, str]]], Awaitable[str | None]]


class ChatRequest(BaseModel):
    """One user turn sent to an agent."""

    agent_id: str
    message: str
    conversation_id: str | None = None
    options: dict[str, Any] = Field(default_factory=dict)
    sampler: Sampler | None = Field(
        default=None,
        exclude=True,
        description=(
            "Asks the MCP client's own model to answer a history (OpenAI-style messages, "
            "the new user turn last), for local agents on the sampling model."
        ),
    )
