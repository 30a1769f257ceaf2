"""Chat with an AgentFlow agent: the request, the stream, and the wait when it pauses.

A top-level agent chats through ``POST /api/v1/agent/{id}/chat`` (SSE, or one JSON
answer with ``stream: false``); a sub-agent runs one message with ``POST
.../subagents/{sub}/run``. A stream that ends on a pause leaves the chat to
:class:`~agentdeck.backends.agentflow.pauses.PausedRuns` until the pause is answered.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping
from typing import Any

from agentdeck.backends.agentflow.api import API, AgentFlowApi, segment
from agentdeck.backends.agentflow.events import EVENTS, StreamState, one_piece_events, text_of
from agentdeck.backends.agentflow.pauses import ChatPauses, PausedRuns
from agentdeck.backends.kit import (
    ChatEvent,
    ChatRequest,
    Done,
    InvalidInputError,
    ProtocolError,
    RunStarted,
    StreamWarning,
    TextDelta,
    iter_sse,
    sse_json,
)

#: The backend's option checker (:meth:`agentdeck.backends.base.Backend.check_options`).
OptionChecker = Callable[[Mapping[str, Any], str], None]


class Chats:
    """The chats of one AgentFlow backend, from the request to the agent's last word."""

    def __init__(
        self, api: AgentFlowApi, paused_runs: PausedRuns, check_options: OptionChecker
    ) -> None:
        self._api = api
        self._name = api.name
        self._paused_runs = paused_runs
        self._check_options = check_options

    async def chat(self, request: ChatRequest) -> AsyncGenerator[ChatEvent, None]:
        """The agent's answer to ``request``, waiting out any pause the stream ends on."""
        parent, sub = self._api.split(request.agent_id)
        options = request.options
        if sub is not None:
            async for event in self._run_subagent(parent, sub, request):
                yield event
            return
        self._check_options(options, "chat")
        stream = options.get("stream", True)
        if not isinstance(stream, bool):
            raise InvalidInputError("options.stream must be true or false.", backend=self._name)
        title = options.get("title")
        if title is not None and (not isinstance(title, str) or request.conversation_id):
            raise InvalidInputError(
                "options.title (a string) names a new conversation; leave it out when "
                "continuing one with conversation.",
                backend=self._name,
            )
        conversation_id = request.conversation_id
        if title is not None:
            created = await self._api.request(
                "POST", f"{API}/conversations", json={"agent_id": parent, "title": title}
            )
            conversation_id = text_of(created, "id", "conversation_id")
        body: dict[str, Any] = {"message": request.message, "stream": stream}
        if conversation_id:
            body["conversation_id"] = conversation_id
        state = StreamState(conversation_id=conversation_id)
        pauses = ChatPauses()
        try:
            async for event in self._chat_call(parent, body, state, pauses):
                yield event
            if state.paused:
                async for event in self._paused_runs.wait_out(state, pauses):
                    yield event
        finally:
            self._paused_runs.forget(pauses)

    async def _chat_call(
        self, parent: str, body: dict[str, Any], state: StreamState, pauses: ChatPauses
    ) -> AsyncIterator[ChatEvent]:
        """The chat call's events, up to its end or the pause it ends on."""
        path = f"{API}/agent/{segment(parent)}/chat"
        if not body["stream"]:
            answer = await self._api.request("POST", path, json=body)
            for event in one_piece_events(state, answer):
                await self._paused_runs.note(pauses, state, event)
                yield event
            return
        http = self._api.http
        operation = f"the chat with agent {self._name}:{parent}"
        headers = {"Accept": "text/event-stream"}
        async with http.stream(
            "POST", path, json=body, headers=headers, operation=operation
        ) as response:
            state.call_id = response.headers.get("x-call-id")
            async for sse in iter_sse(response, http, operation):
                handler = EVENTS.get(sse.event)
                if handler is None:
                    continue
                data = sse_json(sse)
                if isinstance(data, StreamWarning):
                    yield data
                    continue
                if not state.started and handler is not EVENTS["start"]:
                    state.started = True
                    yield RunStarted(
                        upstream_run_id=state.call_id, conversation_id=state.conversation_id
                    )
                for event in handler(state, data):
                    await self._paused_runs.note(pauses, state, event)
                    yield event
                if state.finished or state.failed or state.paused:
                    return
        raise ProtocolError(
            f"{operation} ended before the agent finished (no 'done' event).",
            backend=self._name,
            hint="The answer so far is kept; send the message again to retry.",
        )

    async def _run_subagent(
        self, parent: str, sub: str, request: ChatRequest
    ) -> AsyncIterator[ChatEvent]:
        """A sub-agent's one-message run, as a chat of one text and its end."""
        if request.options or request.conversation_id:
            raise InvalidInputError(
                "a sub-agent runs one message at a time: it takes no conversation or options.",
                backend=self._name,
                hint=f"Chat with the parent agent '{self._name}:{parent}' for a conversation.",
            )
        raw = await self._api.request(
            "POST",
            f"{API}/agent/{segment(parent)}/subagents/{segment(sub)}/run",
            json={"message": request.message},
        )
        text = text_of(raw, "output", "response", "content", "result") or ""
        if text:
            yield TextDelta(text=text)
        details = {k: raw[k] for k in ("call_id", "status") if isinstance(raw, dict) and k in raw}
        yield Done(details=details)
