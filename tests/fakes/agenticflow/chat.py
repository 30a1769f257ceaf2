"""The AgenticFlow fake's chat routes: the data stream v1 answer and its scripted variants."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from typing import Any

import anyio
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from tests.fakes.agenticflow.schemas import STREAM
from tests.fakes.agenticflow.shared import STREAM_SCENARIOS, new_id, now_iso
from tests.fakes.base import cut_off_after


class ChatRoutes:
    """Chat streams of a FakeAgenticFlow."""

    async def _auth_stream(self, request: Request) -> Response:
        scope = self._auth(request)
        agent_id = self._path_id(request, "agent_id")
        body = await self._body(request, STREAM)
        return self._stream(self._agent(scope, agent_id), body)

    async def _anon_stream(self, request: Request) -> Response:
        agent_id = self._path_id(request, "agent_id")
        body = await self._body(request, STREAM)
        return self._stream(self._public_agent(agent_id), body)

    def _send(
        self, agent: dict[str, Any], thread_id: str, message: dict[str, Any]
    ) -> tuple[dict[str, Any], int]:
        """Append a message to a thread; return the stored message and the user-turn count."""
        thread = self.threads.setdefault(
            thread_id, {"id": thread_id, "agent_id": agent["id"], "messages": []}
        )
        stored = {"id": new_id(), "created_at": now_iso(), **message}
        thread["messages"].append(stored)
        return stored, sum(1 for m in thread["messages"] if m["role"] == "user")

    def _stream(self, agent: dict[str, Any], body: dict[str, Any]) -> Response:
        last = body["messages"][-1]
        text = last["content"]
        urls = [a["url"] for a in last.get("experimental_attachments") or []]
        message: dict[str, Any] = {"role": last["role"], "content": text}
        if urls:
            message["attachments"] = urls
        user_msg, turn = self._send(agent, body["id"], message)
        reply = self.reply_text(text, turn, urls)
        scenario, self.next_stream = self.next_stream, "normal"
        assistant_id = new_id()
        lines = self._lines(scenario, agent, body["id"], user_msg["id"], assistant_id, text, reply)
        if isinstance(scenario, list) or scenario in ("normal", "plain", "malformed", "slow"):
            self.threads[body["id"]]["messages"].append(
                {"id": assistant_id, "role": "assistant", "content": reply, "created_at": now_iso()}
            )
        self.streams.append(
            {
                "agent_id": agent["id"],
                "thread_id": body["id"],
                "scenario": scenario,
                "message": text,
            }
        )
        headers = {"x-vercel-ai-data-stream": "v1"}
        media = "text/plain; charset=utf-8"
        if scenario == "cut_off":
            return StreamingResponse(cut_off_after(lines), media_type=media, headers=headers)
        delay = self.stream_delay if scenario == "slow" else 0.0
        return StreamingResponse(self._emit(lines, delay), media_type=media, headers=headers)

    @staticmethod
    async def _emit(lines: list[str], delay: float) -> AsyncIterator[bytes]:
        for i, line in enumerate(lines):
            if delay and i:
                await anyio.sleep(delay)
            yield line.encode()

    def _lines(
        self,
        scenario: str | list[str],
        agent: dict[str, Any],
        thread_id: str,
        user_message_id: str,
        assistant_id: str,
        text: str,
        reply: str,
    ) -> list[str]:
        """Build the data-stream v1 lines for a scenario (each ends with a newline)."""
        if isinstance(scenario, list):
            return [line if line.endswith("\n") else line + "\n" for line in scenario]
        if scenario not in STREAM_SCENARIOS:
            raise ValueError(f"unknown stream scenario {scenario!r}; use one of {STREAM_SCENARIOS}")

        def line(prefix: str, value: Any) -> str:
            return f"{prefix}:{json.dumps(value, ensure_ascii=False, separators=(',', ':'))}\n"

        usage = {"promptTokens": len(text.split()), "completionTokens": len(reply.split())}
        info = {"type": "thread_info", "thread_id": thread_id, "user_message_id": user_message_id}
        head = [line("2", [info]), line("f", {"messageId": assistant_id})]
        deltas = [line("0", part) for part in re.findall(r"\S+\s*|\s+", reply)]
        step_end = line("e", {"finishReason": "stop", "usage": usage, "isContinued": False})
        finish = line("d", {"finishReason": "stop", "usage": usage})
        if scenario == "plain":
            return [*head, *deltas, step_end, finish]
        if scenario == "error_part":
            return [*head, deltas[0], line("3", self.stream_error),
                    line("d", {"finishReason": "error", "usage": usage})]  # fmt: skip
        if scenario == "finish_error":
            error_end = {"finishReason": "error", "usage": usage}
            return [*head, deltas[0], line("e", {**error_end, "isContinued": False}),
                    line("d", {**error_end, "error": self.stream_error})]  # fmt: skip
        if scenario == "cut_off":
            cut = deltas[min(2, len(deltas) - 1)]
            return [*head, *deltas[:2], cut[: max(1, len(cut) // 2)]]
        call_id = "call_" + assistant_id[:8]
        tool_step = [
            line("g", f"{agent['name']} will echo the user's {usage['promptTokens']} words."),
            line("9", {"toolCallId": call_id, "toolName": "echo", "args": {"text": text}}),
            line("a", {"toolCallId": call_id, "result": {"echo": text}}),
            line("e", {"finishReason": "tool-calls", "usage": usage, "isContinued": False}),
            head[1],
        ]
        if scenario == "malformed":
            deltas.insert(1, '0:{"not valid json\n')
        unknown = line("8", [{"note": "unknown prefix; clients skip it"}])
        return [*head, *tool_step, *deltas, unknown, step_end, finish]
