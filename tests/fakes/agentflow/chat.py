"""The AgentFlow fake's chat route: the SSE stream, its scripted variants and paused runs."""

from __future__ import annotations

import json
import re
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from typing import Any

import anyio
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from tests.fakes.agentflow.shared import ACTIVE, ApiError, Event, invalid_field, now_iso, sse_frame
from tests.fakes.base import cut_off_after


class ChatRoutes:
    """Chat over SSE of a FakeAgentFlow, and how a paused call goes on."""

    def _add_message(
        self, conversation_id: str, role: str, content: str, **extra: Any
    ) -> dict[str, Any]:
        msg = {
            "id": self._new_id("msg"),
            "conversation_id": conversation_id,
            "role": role,
            "content": content,
            "created_at": now_iso(),
        } | extra
        self.messages.setdefault(conversation_id, []).append(msg)
        self.conversations[conversation_id]["updated_at"] = msg["created_at"]
        return msg

    def _new_conversation(
        self, agent_id: str, title: str, metadata: dict[str, Any]
    ) -> dict[str, Any]:
        conv = {
            "id": self._new_id("conv"),
            "agent_id": agent_id,
            "title": title,
            "metadata": metadata,
            "created_at": now_iso(),
        }
        conv["updated_at"] = conv["created_at"]
        self.conversations[conv["id"]] = conv
        self.messages[conv["id"]] = []
        return conv

    async def _chat(self, request: Request) -> Response:
        """Chat with an agent (streaming or non-streaming)."""
        agent, body = self._agent(request), await self._body(request)
        message, stream = body.get("message"), body.get("stream", True)
        if not isinstance(message, str) or not message.strip():
            raise invalid_field("message", value=body)
        if not isinstance(stream, bool):
            raise invalid_field("stream", "Input should be a valid boolean", "bool_type", stream)
        conv_id = body.get("conversation_id")
        if conv_id is None:
            conv_id = self._new_conversation(agent["id"], message[:50], {})["id"]
        self._lookup(self.conversations, conv_id, "Conversation")
        user = self._add_message(conv_id, "user", message)
        turn = sum(1 for m in self.messages[conv_id] if m["role"] == "user")
        call = {
            "call_id": self._new_id("call"),
            "agent_id": agent["id"],
            "conversation_id": conv_id,
            "status": "running",
            "stream": stream,
            "message": message,
            "started_at": now_iso(),
        }
        self.calls[call["call_id"]] = call
        user["call_id"] = call["call_id"]
        scenario, self.next_stream = self.next_stream, "normal"
        reply = f"[{agent['name']}] Echo: {message} (turn {turn})"
        start = (
            "start",
            {
                "call_id": call["call_id"],
                "conversation_id": conv_id,
                "agent_id": agent["id"],
                "message_id": user["id"],
            },
        )
        headers = {"Cache-Control": "no-cache", "X-Call-Id": call["call_id"]}
        if scenario == "cut_off":
            call["status"] = "interrupted"
            if not stream:
                return StreamingResponse(
                    cut_off_after(['{"call_id": "', call["call_id"]]), media_type="application/json"
                )
            chunks = [sse_frame(start)] + [
                sse_frame(("text", {"content": w})) for w in reply.split()[:2]
            ]
            return StreamingResponse(
                cut_off_after(chunks, self.stream_delay),
                media_type="text/event-stream",
                headers=headers,
            )
        pause = max(self.stream_delay, 0.25) if scenario == "slow" else self.stream_delay
        events = self._pump(call, self._run(call, reply, turn, scenario, start), pause)
        if stream:

            async def body_iter() -> AsyncIterator[str]:
                try:
                    async for item in events:
                        yield sse_frame(item)
                finally:
                    if call["status"] in ACTIVE and "paused" not in call:
                        call["status"] = "disconnected"

            return StreamingResponse(body_iter(), media_type="text/event-stream", headers=headers)
        return await self._collect(call, events, turn, scenario == "malformed")

    async def _collect(
        self, call: dict[str, Any], events: AsyncIterator[Event], turn: int, malformed: bool
    ) -> Response:
        """The ``stream: false`` answer: run the same script and sum it up as one JSON body."""
        seen: list[dict[str, Any]] = []
        async for item in events:
            if isinstance(item, tuple):
                seen.append({"event": item[0], "data": item[1]})
        if malformed:
            return Response(
                b'{"call_id": "' + call["call_id"].encode() + b'", "response": ',
                media_type="application/json",
            )
        for e in seen:
            if e["event"] == "error":
                raise ApiError(500, e["data"]["message"])
        done = next((e["data"] for e in seen if e["event"] == "done"), {})
        text = "".join(e["data"].get("content", "") for e in seen if e["event"] == "text")
        tool_calls: dict[str, dict[str, Any]] = {}
        for e in seen:
            if e["event"] in ("tool_call", "tool_result"):
                tool_calls.setdefault(e["data"]["id"], {}).update(e["data"])
        return JSONResponse(
            {
                "call_id": call["call_id"],
                "conversation_id": call["conversation_id"],
                "agent_id": call["agent_id"],
                "message_id": done.get("message_id"),
                "response": done.get("content", text),
                "status": call["status"],
                "turn": turn,
                "tool_calls": list(tool_calls.values()),
                "events": seen,
            }
        )

    async def _pump(
        self, call: dict[str, Any], events: AsyncGenerator[Event, None], pause: float
    ) -> AsyncGenerator[Event, None]:
        """Pace a run's events and end it with a ``cancelled`` event once the call is cancelled."""
        try:
            async for item in events:
                if call["status"] == "cancelled":
                    break
                yield item
                if pause:
                    await anyio.sleep(pause)
        finally:
            await events.aclose()
        if call["status"] == "cancelled":
            yield ("cancelled", {"call_id": call["call_id"], "status": "cancelled"})

    async def _wait(self, call: dict[str, Any], answered: Callable[[], bool]) -> str:
        """Poll until answered ("answered"), the call is cancelled, or approval_timeout passes."""
        deadline = time.monotonic() + self.approval_timeout
        while time.monotonic() < deadline:
            if call["status"] == "cancelled":
                return "cancelled"
            if answered():
                return "answered"
            await anyio.sleep(0.02)
        return "timeout"

    async def _answered_in_time(self, call: dict[str, Any], pending: dict[str, Any]) -> bool:
        """Holds the run until ``pending`` (an approval or a question) is answered, or expires
        it on a timeout; then the run goes on. False when the run was cancelled meanwhile."""
        outcome = await self._wait(call, lambda: pending["status"] != "pending")
        if outcome == "cancelled":
            return False
        if outcome == "timeout":
            pending["status"] = "expired"
        call["status"] = "running"
        return True

    async def _run(
        self, call: dict[str, Any], reply: str, turn: int, scenario: str | list[Event], start: Event
    ) -> AsyncGenerator[Event, None]:
        """The agent's run as stream items; the scenario picks what happens before the reply."""
        tool_calls: list[dict[str, Any]] = []
        if isinstance(scenario, list):
            for item in scenario:
                yield item
            texts = [
                i[1].get("content", "")
                for i in scenario
                if isinstance(i, tuple) and i[0] == "text" and isinstance(i[1], dict)
            ]
            self._add_message(
                call["conversation_id"], "assistant", "".join(texts), call_id=call["call_id"]
            )
            call["status"] = "completed"
            return
        yield start
        if scenario == "tool":
            tc = {
                "id": self._new_id("tc"),
                "tool": "search_knowledge",
                "arguments": {"query": call["message"]},
            }
            yield ("tool_call", tc)
            result = self._tool_output(call["agent_id"], tc["tool"], tc["arguments"])
            yield ("tool_result", {"id": tc["id"], "tool": tc["tool"], "result": result})
            tool_calls.append(tc | {"result": result})
        elif scenario == "approval":
            args = {"to": "team@example.com", "subject": f"Turn {turn}", "body": call["message"]}
            tc = {"id": self._new_id("tc"), "tool": "send_email", "arguments": args}
            yield ("tool_call", tc)
            approval = self._new_approval(call, tc["tool"], args, tc["id"])
            call["status"] = "awaiting_approval"
            yield (
                "approval_required",
                {
                    "approval_id": approval["id"],
                    "call_id": call["call_id"],
                    "tool_call_id": tc["id"],
                    "tool": tc["tool"],
                    "arguments": args,
                    "expires_at": approval["expires_at"],
                },
            )
            if self.pause_ends_stream:
                call["paused"] = lambda: self._approval_outcome(call, approval, tc, reply)
                yield ("done", self._paused_done(call, turn))
                return
            if not await self._answered_in_time(call, approval):
                return
            resolved, calls, reply = self._approval_outcome(call, approval, tc, reply)
            for item in resolved:
                yield item
            tool_calls += calls
        elif scenario == "question":
            question = self._new_question(call, "Which format do you want?", ["short", "detailed"])
            call["status"] = "awaiting_input"
            yield (
                "question",
                {
                    "question_id": question["id"],
                    "call_id": call["call_id"],
                    "question": question["question"],
                    "options": question["options"],
                },
            )
            if self.pause_ends_stream:
                call["paused"] = lambda: ([], [], self._question_outcome(question, reply))
                yield ("done", self._paused_done(call, turn))
                return
            if not await self._answered_in_time(call, question):
                return
            reply = self._question_outcome(question, reply)
        words = re.findall(r"\S+\s*", reply)
        for i, word in enumerate(words):
            if scenario == "error" and i == 1:
                call["status"] = "failed"
                yield ("error", {"code": "internal_error", "message": "The model provider failed"})
                return
            yield ("text", {"content": word})
            if scenario == "malformed" and i == 0:
                yield 'event: text\ndata: {"content": "broken\n\n'
        msg = self._add_message(
            call["conversation_id"],
            "assistant",
            reply,
            call_id=call["call_id"],
            tool_calls=tool_calls,
        )
        call["status"] = "completed"
        yield (
            "done",
            {
                "call_id": call["call_id"],
                "conversation_id": call["conversation_id"],
                "message_id": msg["id"],
                "content": reply,
                "turn": turn,
                "status": "completed",
            },
        )

    def _approval_outcome(
        self, call: dict[str, Any], approval: dict[str, Any], tc: dict[str, Any], reply: str
    ) -> tuple[list[Event], list[dict[str, Any]], str]:
        """What the agent does once an approval is answered: events, tool calls, reply."""
        final = approval["modified_arguments"] or tc["arguments"]
        events: list[Event] = [
            (
                "approval_resolved",
                {
                    "approval_id": approval["id"],
                    "status": approval["status"],
                    "decision": approval["decision"],
                    "reason": approval["reason"],
                    "arguments": final,
                },
            )
        ]
        if approval["status"] != "approved":
            why = f" ({approval['reason']})" if approval["reason"] else ""
            return (
                events,
                [],
                f"Did not run send_email: approval {approval['status']}{why}. {reply}",
            )
        result = self._tool_output(call["agent_id"], tc["tool"], final)
        events.append(("tool_result", {"id": tc["id"], "tool": tc["tool"], "result": result}))
        calls = [tc | {"arguments": final, "result": result}]
        return events, calls, f"Ran send_email with {json.dumps(final, sort_keys=True)}. {reply}"

    @staticmethod
    def _question_outcome(question: dict[str, Any], reply: str) -> str:
        said = question["answer"]
        return (f"You answered: {said}. " if said is not None else "No answer was given. ") + reply

    @staticmethod
    def _paused_done(call: dict[str, Any], turn: int) -> dict[str, Any]:
        """The ``done`` that ends a stream on a pause (``pause_ends_stream``)."""
        return {
            "call_id": call["call_id"],
            "conversation_id": call["conversation_id"],
            "turn": turn,
            "status": call["status"],
        }

    def _go_on(self, call_id: str | None) -> dict[str, Any] | None:
        """Finish a call whose stream ended on a pause, now that the pause is answered;
        its reply as a one-piece chat answer (None if no such call waits)."""
        call = self.calls.get(call_id or "")
        if call is None or "paused" not in call:
            return None
        _, tool_calls, reply = call.pop("paused")()
        call["status"] = "completed"
        message = {"call_id": call["call_id"], "tool_calls": tool_calls}
        conv_id = call["conversation_id"]
        if self.continuation_in == "respond":
            msg = self._add_message(conv_id, "assistant", reply, **message)
            return {
                "call_id": call["call_id"],
                "conversation_id": conv_id,
                "message_id": msg["id"],
                "response": reply,
                "status": "completed",
                "tool_calls": tool_calls,
            }

        async def write_later() -> None:
            await anyio.sleep(self.continuation_delay)
            self._add_message(conv_id, "assistant", reply, **message)

        self._later.append(write_later)
        return None

    async def _answered(self, item: dict[str, Any], body: dict[str, Any]) -> Response:
        """The answer to a respond call; a call paused by ending its stream goes on."""
        continuation = self._go_on(item["call_id"])
        if continuation is not None:
            body = body | {"continuation": continuation}
        later, self._later = self._later, []

        async def run_later() -> None:
            for task in later:
                await task()

        return JSONResponse(body, background=BackgroundTask(run_later) if later else None)
