"""A fake OpenAI-compatible chat-completions server (llama.cpp, vLLM, Ollama speak the same).

``GET /v1/models`` lists :attr:`FakeOpenAI.models`. ``POST /v1/chat/completions`` with ``stream: true`` answers SSE ``data: {chunk}``
lines ending with ``data: [DONE]``; without streaming, one JSON completion. The
reply reflects the request: it names the model and echoes the last user message
and how many messages came before it, so tests can see history was sent.
Bearer auth is checked when ``api_key`` is set.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import anyio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.fakes.base import FakePlatform, cut_off_after


@dataclass
class FakeOpenAI(FakePlatform):
    api_key: str | None = None
    #: "normal"; "cut_off" (drops the connection mid-answer); "malformed" (a bad chunk);
    #: "wrong_shape" (valid JSON chunks of the wrong shape); "leaky" (a malformed chunk that
    #: quotes the request's Authorization header, as a failing proxy might); "hang" (stops
    #: sending after a few chunks, connection kept open); "oversized" (``oversized_words``
    #: extra words of reply); "endless" (one-word chunks as fast as they can be sent, until
    #: the client hangs up).
    next_stream: str = "normal"
    oversized_words: int = 5000
    #: seconds between streamed chunks (slow models, run-manager tests)
    chunk_delay: float = 0.0
    #: while this is set and clear, streams stop after their first word and wait for it
    #: (a model thinking for exactly as long as a test needs)
    hold: threading.Event | None = None
    #: seconds before answering at all (a backend's own latency, for benchmarks)
    latency: float = 0.0
    #: requests inside their ``latency`` now, and the most there were at once
    waiting: int = 0
    most_waiting: int = 0
    #: connections currently streaming; a cancelled run must bring this back to 0
    open_streams: int = 0
    closed_early: int = 0
    bodies: list[dict[str, Any]] = field(default_factory=list)
    #: what GET /v1/models lists
    models: list[str] = field(default_factory=lambda: ["tiny-llama"])

    def reply_for(self, body: dict[str, Any]) -> str:
        messages = body.get("messages", [])
        last = messages[-1]["content"] if messages else ""
        return f"[{body.get('model')}] heard '{last}' after {len(messages) - 1} earlier messages"

    def build_app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/v1/chat/completions", self.completions, methods=["POST"]),
                Route("/v1/models", self.list_models, methods=["GET"]),
            ]
        )

    def _refused(self, request: Request) -> Response | None:
        if self.api_key and request.headers.get("authorization") != f"Bearer {self.api_key}":
            return JSONResponse(
                {
                    "error": {
                        "message": "Incorrect API key provided.",
                        "type": "invalid_request_error",
                    }
                },
                status_code=401,
            )
        return None

    async def list_models(self, request: Request) -> Response:
        refused = self._refused(request)
        if refused is not None:
            return refused
        return JSONResponse(
            {"object": "list", "data": [{"id": m, "object": "model"} for m in self.models]}
        )

    async def completions(self, request: Request) -> Response:
        refused = self._refused(request)
        if refused is not None:
            return refused
        body = await request.json()
        self.bodies.append(body)
        if self.latency:
            self.waiting += 1
            self.most_waiting = max(self.most_waiting, self.waiting)
            try:
                await anyio.sleep(self.latency)
            finally:
                self.waiting -= 1
        text = self.reply_for(body)
        if not body.get("stream"):
            return JSONResponse(
                {"choices": [{"index": 0, "message": {"role": "assistant", "content": text}}]}
            )
        scenario, self.next_stream = self.next_stream, "normal"
        words = text.split(" ")
        chunks = [
            _chunk({"content": word if i == 0 else f" {word}"}) for i, word in enumerate(words)
        ]
        if scenario == "endless":
            return StreamingResponse(self._stream(_endless()), media_type="text/event-stream")
        if scenario == "cut_off":
            return StreamingResponse(cut_off_after(chunks[:3]), media_type="text/event-stream")
        if scenario == "malformed":
            chunks.insert(1, "data: {not json\n\n")
        if scenario == "wrong_shape":
            chunks[1:1] = [
                "data: []\n\n",
                'data: {"choices": 5}\n\n',
                'data: {"choices": [{"delta": {"content": 42}}]}\n\n',
                'data: {"choices": [{"delta": "text"}]}\n\n',
                'data: {"choices": [{"delta": {}, "finish_reason": true}]}\n\n',
                # half of a UTF-16 pair, which no text holds; a whole pair is fine
                'data: {"choices": [{"delta": {"content": "\\ud83d"}}]}\n\n',
                'data: {"id": "\\ud83d\\ude00", "choices": []}\n\n',
            ]
        if scenario == "leaky":
            quoted = request.headers.get("authorization", "")
            chunks.insert(1, f"data: {{upstream said: Authorization: {quoted}}}\n\n")
        if scenario == "hang":
            return StreamingResponse(
                self._stream(chunks[:2], hang=True), media_type="text/event-stream"
            )
        if scenario == "oversized":
            chunks[1:1] = [_chunk({"content": " word"})] * self.oversized_words
        chunks.append(_chunk({}, finish="stop"))
        chunks.append(
            f"data: {json.dumps({'choices': [], 'usage': {'total_tokens': len(words)}})}\n\n"
        )
        chunks.append("data: [DONE]\n\n")
        return StreamingResponse(self._stream(chunks), media_type="text/event-stream")

    async def _stream(self, chunks: Iterable[str], hang: bool = False) -> AsyncIterator[bytes]:
        self.open_streams += 1
        finished = False
        try:
            for index, chunk in enumerate(chunks):
                yield chunk.encode()
                if index == 0 and self.hold is not None:
                    await anyio.to_thread.run_sync(self.hold.wait, abandon_on_cancel=True)
                # a checkpoint even without delay, so a hang-up is noticed mid-stream
                await anyio.sleep(self.chunk_delay)
            if hang:
                await anyio.sleep_forever()  # until the client gives up and disconnects
            finished = True
        finally:
            self.open_streams -= 1
            if not finished:
                self.closed_early += 1


def _endless(limit_seconds: float = 60.0) -> Iterator[str]:
    """Word chunks for up to ``limit_seconds`` (a bound, so a forgotten run cannot stream forever)."""
    end = time.monotonic() + limit_seconds
    count = 0
    while time.monotonic() < end:
        count += 1
        yield _chunk({"content": f" w{count}"})


def _chunk(delta: dict[str, Any], finish: str | None = None) -> str:
    payload = {"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
    return f"data: {json.dumps(payload)}\n\n"
