"""Roboflow: the workspace AI agent and its conversations (``roboflow-agent-api.txt``).

Workflow management and publishing live in :mod:`agentdeck.backends.roboflow.workflows`
(the base class), JSON readers in :mod:`agentdeck.backends.roboflow.parse`. Routes hang
off ``{base_url}/{workspace}/``; the key is sent as documented: ``api_key`` in the query
on GET/DELETE and in the JSON body on POST (``ApiKeyAuth``).

A workspace has exactly one agent. It is listed as ``<backend>:agent`` and the bare
backend name is its ref. It cannot be created, changed or deleted: the three agent-writing
methods exist only to say so in Roboflow's terms ("a Roboflow workspace has one agent:
chat with it as '<backend>'"), which the registry's generic message cannot.

A chat turn is one POST answered in one piece (``text``, ``workflows``,
``conversation_id``); it is read with the long stream timeout because a turn that builds
a workflow can take minutes. The workflows the agent created or edited come back as
drafts (``published=False``) until ``publish_workflow``. ``options.mode`` is ``agent``
(default) or ``plan`` (outline only, nothing changes). A cut-off or unreadable answer
fails the run and says the turn may still have been saved; a readable answer with an
unreadable part (a workflow without id, a non-text ``text``) gives a warning and the rest.

``api_key`` is optional: without it only public workflows can be read, and every other
operation fails before any request, saying to set it.

Assumptions about shapes the reference does not show (the fake follows the same ones):
- conversations: ``{"conversations": [...]}`` and ``{"conversation": {..., "messages"}}``
  (both also accepted unwrapped), dates snake_case or camelCase; a message has ``role``,
  ``content``, ``created_at`` and, on assistant turns, the ``workflows`` it changed, and on
  user turns the ``mode`` it ran in. The list is not paged by the API; agentdeck pages it.
- the chat answer may carry more fields than documented; they go to the result's details.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

from agentdeck.backends.kit import (
    Agent,
    ChatEvent,
    ChatRequest,
    Connection,
    Conversation,
    ConversationSummary,
    Done,
    InvalidInputError,
    Option,
    Page,
    ProtocolError,
    RunStarted,
    StreamWarning,
    TextDelta,
    parse_offset,
)
from agentdeck.backends.roboflow import parse
from agentdeck.backends.roboflow.auth import ApiKeyAuth
from agentdeck.backends.roboflow.settings import RoboflowSettings
from agentdeck.backends.roboflow.workflows import (
    CREATE,
    READ,
    UPDATE,
    WORKFLOW_OPTIONS,
    RoboflowWorkflows,
)

_MODES = ("agent", "plan")
_SOURCES = ("api", "web")


class RoboflowBackend(RoboflowWorkflows):
    """One Roboflow workspace: its AI agent, its conversations and its workflows."""

    kind = "roboflow"
    default_agent_id = "agent"
    options = (
        Option(
            "mode",
            "string",
            '"agent" (default) or "plan": outline what would change, change nothing',
            ("chat",),
        ),
        Option("source", "string", '"api" or "web"', ("list_conversations",)),
        Option("workflow", "string", "a workflow url", ("list_conversations",)),
        *WORKFLOW_OPTIONS,
    )
    unsupported = {  # noqa: RUF012 - a class-level constant table
        "manage_agents": (
            "a Roboflow workspace has one agent: chat with it as '{backend}'. Its instructions "
            "and model are managed by Roboflow; to shape what it builds, say so in the chat, "
            "and manage its workflows with the workflow tools."
        )
    }
    settings: RoboflowSettings

    @classmethod
    def connection(cls, name: str, settings: RoboflowSettings) -> Connection:
        key = settings.api_key.get_secret_value() if settings.api_key else None
        hint = (
            f"Check `api_key` of backend '{name}' in the config: it must be an API key of "
            f"Roboflow workspace '{settings.workspace}' (Roboflow app → Settings → API Keys)."
            if key
            else f"Backend '{name}' has no `api_key`; set one in the config to read private "
            "workflows."
        )
        return Connection(
            base_url=settings.base_url,
            auth=ApiKeyAuth(key) if key else None,
            secrets=(key,) if key else (),
            credential_hint=hint,
        )

    async def check(self) -> str:
        if self.settings.api_key is None:
            return (
                f"workspace {self.workspace}: no api_key, so only public workflows can be read "
                "(chat and workflow changes need one)"
            )
        count = len(await self._workflow_entries("list workflows"))
        return f"{count} workflows in workspace {self.workspace}; agent ref '{self.name}'"

    # ---- the one workspace agent ---------------------------------------------------------

    def _agent(self) -> Agent:
        return Agent(
            backend=self.name,
            id="agent",
            name="Roboflow agent",
            description=(
                f"The AI agent of Roboflow workspace '{self.workspace}': builds and edits "
                "computer-vision Workflows from plain-language instructions and answers questions "
                "about the workspace. Its changes are drafts until publish_workflow deploys them; "
                "options.mode='plan' outlines a change without making it."
            ),
            details={
                "workspace": self.workspace,
                "modes": list(_MODES),
                "chat_ref": self.name,
                "api_key_configured": self.settings.api_key is not None,
            },
        )

    async def list_agents(self, *, limit: int, cursor: str | None) -> Page[Agent]:
        items, next_cursor = self._page([self._agent()], limit, cursor)
        return Page[Agent](items=items, next_cursor=next_cursor)

    async def get_agent(self, agent_id: str) -> Agent:
        self._agent_id(agent_id)
        return self._agent()

    def _agent_id(self, agent_id: str) -> None:
        if agent_id != self.default_agent_id:
            raise InvalidInputError(
                f"there is no agent '{agent_id}': a Roboflow workspace has one agent: "
                f"chat with it as '{self.name}' (or '{self.name}:agent').",
                backend=self.name,
            )

    # ---- chat ----------------------------------------------------------------------------

    async def chat(self, request: ChatRequest) -> AsyncGenerator[ChatEvent, None]:
        self._agent_id(request.agent_id)
        self.check_options(request.options, "chat")
        mode = request.options.get("mode", "agent")
        if mode not in _MODES:
            raise InvalidInputError(
                f"option 'mode' must be 'agent' or 'plan' (got {mode!r}).", backend=self.name
            )
        self._need_key("Chatting with the Roboflow agent")
        body: dict[str, Any] = {"message": request.message, "mode": mode}
        if request.conversation_id:
            body["conversation_id"] = request.conversation_id
        answer = await self._chat_turn(body)

        warnings: list[str] = []
        conversation_id = answer.get("conversation_id") or answer.get("conversationId")
        if not isinstance(conversation_id, str) or not conversation_id:
            warnings.append(
                "Roboflow's answer had no conversation_id; the conversation cannot be continued."
            )
            conversation_id = request.conversation_id
        yield RunStarted(conversation_id=conversation_id)
        for warning in warnings:
            yield StreamWarning(message=warning)
        text = answer.get("text")
        if isinstance(text, str) and text:
            yield TextDelta(text=text)
        elif text is not None and not isinstance(text, str):
            yield StreamWarning(message="Roboflow's answer had a 'text' that is not text; skipped.")
        drafts = []
        raw_workflows = answer.get("workflows") or []
        if not isinstance(raw_workflows, list):
            yield StreamWarning(message="Roboflow's answer had a 'workflows' that is not a list.")
            raw_workflows = []
        for index, raw in enumerate(raw_workflows):
            found = parse.draft(self.name, raw)
            if found is None:
                yield StreamWarning(
                    message=f"Skipped workflow #{index + 1} of the answer: it has no id or url."
                )
            else:
                drafts.append(found)
        extra = {
            k: v
            for k, v in answer.items()
            if k not in {"text", "workflows", "conversation_id", "conversationId"}
        }
        yield Done(
            conversation_id=conversation_id,
            artifacts=drafts,
            details={"mode": mode, **extra},
        )

    async def _chat_turn(self, body: dict[str, Any]) -> dict[str, Any]:
        """POST one turn with the long stream timeout (a turn can take minutes); return its JSON."""
        operation = "Roboflow agent chat"
        maybe_saved = (
            "Check before sending it again: the turn may still have been saved on Roboflow "
            "(list_conversations shows it, and get_workflow shows any draft it made)."
        )
        context = {
            "scope": f"{CREATE} and {UPDATE}",
            "not_found": "That conversation is unknown in this workspace; leave it out to "
            "start a new conversation (list_conversations shows the existing ones).",
            "on_400": "Check the message (it must not be empty) and options.mode.",
        }
        try:
            answer = await self.http.request(
                "POST",
                self._path("agent", "chat"),
                json=body,
                operation=operation,
                long=True,
                context=context,
            )
        except ProtocolError as exc:
            raise exc.refined(hint=maybe_saved) from exc
        if not isinstance(answer, dict):
            raise ProtocolError(
                f"{operation} answered with something other than a JSON object "
                "(malformed JSON, or JSON of the wrong shape).",
                backend=self.name,
                hint=maybe_saved,
            )
        return answer

    # ---- conversations -------------------------------------------------------------------

    async def list_conversations(
        self, *, agent_id: str | None, limit: int, cursor: str | None, filters: dict[str, Any]
    ) -> Page[ConversationSummary]:
        if agent_id is not None:
            self._agent_id(agent_id)
        self.check_options(filters, "list_conversations")
        source, workflow_filter = filters.get("source"), filters.get("workflow")
        if source is not None and source not in _SOURCES:
            raise InvalidInputError(
                f"option 'source' must be 'api' or 'web' (got {source!r}).", backend=self.name
            )
        if workflow_filter is not None:
            if not isinstance(workflow_filter, str) or not workflow_filter:
                raise InvalidInputError(
                    "option 'workflow' must be a workflow url (or its ref).", backend=self.name
                )
            workflow_filter = workflow_filter.removeprefix(f"{self.name}:")
        parse_offset(cursor)
        self._need_key("Listing Roboflow agent conversations")
        operation = "list Roboflow agent conversations"
        body = await self._call(
            "GET",
            self._path("agent", "conversations"),
            operation=operation,
            scope=READ,
            params={"source": source, "workflow": workflow_filter},
        )
        raw = parse.items_of(body, "conversations", operation=operation, backend=self.name)
        found = [parse.summary(self.name, f"{self.name}:agent", c) for c in raw]
        items, next_cursor = self._page([c for c in found if c], limit, cursor)
        return Page[ConversationSummary](items=items, next_cursor=next_cursor)

    async def get_conversation(self, conversation_id: str) -> Conversation:
        self._need_key("Reading a Roboflow agent conversation")
        body = await self._call(
            "GET",
            self._path("agent", "conversations", conversation_id),
            operation=f"get Roboflow conversation '{conversation_id}'",
            scope=READ,
            not_found=f"There is no conversation '{conversation_id}' in workspace "
            f"'{self.workspace}'; list_conversations shows the ones that exist.",
        )
        raw = parse.unwrap(body, "conversation")
        if not isinstance(raw, dict):
            raise ProtocolError(
                "Roboflow answered a conversation that is not an object.", backend=self.name
            )
        raw = {"id": conversation_id, **raw}
        messages = [m for m in map(parse.message, raw.get("messages") or []) if m]
        fields = parse.conversation_fields(self.name, f"{self.name}:agent", raw)
        fields["message_count"] = len(messages)
        return Conversation(**fields, messages=messages)
