"""A fake of Make's AI Agents API (open beta), served over real HTTP for adapter tests.

Source: ``shared/api-docs/make-ai-agents-api.txt`` (the contract) and the "Make"
section of ``shared/api-docs/NOTES.md``. Routes hang below ``base_path``
(``/api/v2``), so agentdeck's ``base_url`` is ``http://127.0.0.1:PORT/api/v2``:

- ``GET    /ai-agents/v1/agents``                    list (200)
- ``POST   /ai-agents/v1/agents``                    create (201, ``agentId`` + the fields sent)
- ``GET    /ai-agents/v1/agents/{agentId}``          get (200)
- ``PATCH  /ai-agents/v1/agents/{agentId}``          modify (204, no body)
- ``DELETE /ai-agents/v1/agents/{agentId}``          delete (204, no body)
- ``POST   /ai-agents/v1/agents/{agentId}/run``      run (200: response, executionTimeMs,
  threadId, lastAgentIterationId)
- ``POST   /ai-agents/v1/agents/{agentId}/run/stream``  run as ``text/event-stream``

Every call needs ``Authorization: Token <token>`` and a ``teamId`` query parameter.

Assumptions (the reference does not show these):

- Errors use Make API's common schema ``{"detail": ..., "message": ..., "code": ...}``
  (developers.make.com "HTTP status error codes": ``"code": "SC403"``); codes here are
  ``SC`` + status (SC400, SC401, SC403, SC404, SC429, SC500).
- Check order: auth (401) -> ``teamId`` missing/not a positive integer (400) -> team not
  granted to the token (403) -> scope (403) -> unknown agent or agent of another team
  (404) -> body validation (400).
- Scopes: list/get need ``ai-agents:read``; create/modify/delete/run/stream need
  ``ai-agents:write``. The token has both unless ``scopes`` is changed.
- List answers a bare JSON array of agents (the reference lists agent fields directly
  under the 200; the published spec's single object makes no sense for a list).
  ``list_format = "wrapped"`` answers ``{"agents": [...]}`` instead, to test tolerance.
  List items omit ``makeConnectionId``/``makeConnectionType``/``llmProviderId``, which
  only the get route documents.
- Create requires ``name``, ``teamId`` (equal to the query's), ``makeConnectionId``,
  ``defaultModel``, non-empty ``systemPrompt``; ``outputParserFormat`` is stored as the
  agent's ``outputParser``. PATCH accepts name/systemPrompt/defaultModel/
  outputParserFormat and the NOTES config objects (llmConfig, scenarios, historyConfig,
  mcpConfigs, invocationConfig, contexts); other keys are ignored.
- Run body: ``messages`` (non-empty list of ``{role: user|assistant, content: str}``),
  optional ``threadId`` (non-empty string; an unknown id starts a thread under that id,
  none starts a new uuid thread), ``callbackUrl`` and ``config`` (recorded in ``runs``,
  never acted on: the fake answers synchronously and never calls the callback).
- Thread history: every message sent is appended to the thread, then the assistant
  reply. The reply is ``"[<agent name>] user messages in thread: N. Last: <text>"``.
- ``stream_script`` (raw SSE chunks) replaces the steps of the next stream; with
  ``next_stream = "cut_off"`` the connection is dropped after the script.
- Stream: records ``event:step`` / ``id:<uuid>`` / ``data:<json>`` separated by a blank
  line, exactly as the reference example (no space after the colons). Steps: the
  system prompt (role system), each message sent (its role), a tool step (role tool),
  the assistant's reply (same text as /run). One ``agentIterationId`` per run, a fresh
  message ``id`` and event ``id`` per step. No terminal event: the stream ends when the
  connection closes. Steps carry no ``threadId``, so an adapter that wants to continue
  a streamed conversation should send its own ``threadId``.
- Trailing-slash variants are not served (404), as on the real API.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import anyio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.fakes.base import FakePlatform, cut_off_after

StreamScenario = Literal["normal", "cut_off", "malformed", "slow"]
SEED_AGENT_ID = "b504aa93-0752-4bf8-887e-c2c717d525bf"
SEED_TEAM_ID = 1
READ, WRITE = "ai-agents:read", "ai-agents:write"
_MESSAGES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Permission denied",
    404: "Not found",
    429: "Too many requests",
    500: "Internal server error",
}
_PATCHABLE = (
    "name",
    "systemPrompt",
    "defaultModel",
    "llmConfig",
    "scenarios",
    "historyConfig",
    "mcpConfigs",
    "invocationConfig",
    "contexts",
)
_GET_ONLY = ("makeConnectionId", "makeConnectionType", "llmProviderId")


def make_error(status: int, detail: str) -> dict[str, str]:
    """Make's common error body: ``{"detail", "message", "code"}``."""
    return {"detail": detail, "message": _MESSAGES.get(status, "Error"), "code": f"SC{status}"}


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class _Reject(Exception):
    """Carries an error response out of the request checks."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.response = JSONResponse(make_error(status, detail), status)


@dataclass
class FakeMake(FakePlatform):
    """In-memory Make AI Agents API with switchable failure modes and streams."""

    token: str = "make-test-token"
    #: More tokens it accepts, each a user of its own (per-user credentials).
    user_tokens: set[str] = field(default_factory=set)
    team_ids: set[int] = field(default_factory=lambda: {SEED_TEAM_ID})
    scopes: set[str] = field(default_factory=lambda: {READ, WRITE})
    base_path: str = "/api/v2"
    agents: dict[str, dict[str, Any]] = field(default_factory=dict)
    threads: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    runs: list[dict[str, Any]] = field(default_factory=list)
    list_format: Literal["array", "wrapped"] = "array"
    # Slowness: ``delay`` seconds before answering the routes named in ``delay_routes``
    # (list, create, get, update, delete, run, stream); ``stream_delay`` between events.
    delay: float = 0.0
    delay_routes: set[str] = field(default_factory=lambda: {"run", "stream"})
    stream_delay: float = 0.0
    slow_delay: float = 0.5
    # One-shot knobs for the next /run/stream call (reset after use).
    next_stream: StreamScenario = "normal"
    stream_script: list[str] | None = None
    seed: bool = True

    def __post_init__(self) -> None:
        if self.seed and not self.agents:
            self.add_agent(
                name="Seed Agent",
                system_prompt="You are a helpful assistant.",
                agent_id=SEED_AGENT_ID,
            )

    # -- state and failure helpers ------------------------------------------------

    def add_agent(
        self,
        name: str,
        system_prompt: str = "You are a helpful assistant.",
        *,
        team_id: int = SEED_TEAM_ID,
        default_model: str = "gpt-4.1-mini",
        make_connection_id: int = 123,
        agent_id: str | None = None,
        **extra: Any,
    ) -> str:
        """Store an agent in the full shape the get route answers; return its id."""
        agent_id = agent_id or str(uuid.uuid4())
        self.agents[agent_id] = {
            "id": agent_id,
            "name": name,
            "teamId": team_id,
            "createdAt": _now(),
            "systemPrompt": system_prompt,
            "defaultModel": default_model,
            "makeConnectionId": make_connection_id,
            "makeConnectionType": None,
            "invocationConfig": {"recursionLimit": 300},
            "scenarios": [],
            "mcpConfigs": [],
            "historyConfig": {"iterationsFromHistoryCount": 10},
            "llmConfig": {"maxTokens": 100000},
            "contexts": [],
            **extra,
        }
        return agent_id

    def rate_limited(
        self, retry_after: int = 1, *, path_contains: str | None = None, times: int = 1
    ) -> None:
        """Queue 429s with Make's error body and a ``Retry-After`` header."""
        body = make_error(429, "Requests limit exceeded, please try again later.")
        headers = {"Retry-After": str(retry_after)}
        self.fail_next(429, body, headers=headers, path_contains=path_contains, times=times)

    def server_error(self, *, path_contains: str | None = None, times: int = 1) -> None:
        """Queue 500s with Make's error body."""
        body = make_error(500, "Something went wrong on our side.")
        self.fail_next(500, body, path_contains=path_contains, times=times)

    @property
    def last_run(self) -> dict[str, Any]:
        """The most recent run or stream call as recorded (body fields and ids)."""
        return self.runs[-1]

    # -- request checks -----------------------------------------------------------

    def _check(self, request: Request, scope: str) -> int:
        """Apply auth, teamId, team access and scope checks; return the team id."""
        accepted = {f"Token {t}" for t in (self.token, *self.user_tokens)}
        if request.headers.get("authorization", "") not in accepted:
            raise _Reject(401, "Invalid access token.")
        raw = request.query_params.get("teamId")
        if raw is None:
            raise _Reject(400, "Missing required parameter teamId.")
        try:
            team_id = int(raw)
        except ValueError:
            raise _Reject(400, "teamId validation failed.") from None
        if team_id <= 0:
            raise _Reject(400, "teamId validation failed.")
        if team_id not in self.team_ids:
            raise _Reject(403, "Access denied.")
        if scope not in self.scopes:
            raise _Reject(403, f"Token is missing the scope {scope}.")
        return team_id

    def _agent(self, request: Request, team_id: int) -> dict[str, Any]:
        agent = self.agents.get(request.path_params["agent_id"])
        if agent is None or agent["teamId"] != team_id:
            raise _Reject(404, "Agent not found.")
        return agent

    @staticmethod
    async def _body(request: Request) -> dict[str, Any]:
        try:
            body = json.loads(await request.body() or b"{}")
        except ValueError:
            raise _Reject(400, "Request body is not valid JSON.") from None
        if not isinstance(body, dict):
            raise _Reject(400, "Request body must be an object.")
        return body

    async def _slow(self, route: str) -> None:
        if self.delay and route in self.delay_routes:
            await anyio.sleep(self.delay)

    # -- routes -------------------------------------------------------------------

    async def _agents(self, request: Request) -> Response:
        try:
            if request.method == "GET":
                team_id = self._check(request, READ)
                await self._slow("list")
                items = [
                    {k: v for k, v in a.items() if k not in _GET_ONLY}
                    for a in self.agents.values()
                    if a["teamId"] == team_id
                ]
                return JSONResponse(items if self.list_format == "array" else {"agents": items})
            team_id = self._check(request, WRITE)
            await self._slow("create")
            body = await self._body(request)
            missing = [
                k
                for k in ("name", "teamId", "makeConnectionId", "defaultModel", "systemPrompt")
                if body.get(k) in (None, "")
            ]
            if missing:
                raise _Reject(400, f"Missing value of required parameter: {', '.join(missing)}.")
            if body["teamId"] != team_id:
                raise _Reject(400, "teamId in the body does not match the teamId parameter.")
            extra = {k: body[k] for k in _PATCHABLE[3:] if k in body}
            if "outputParserFormat" in body:
                extra["outputParser"] = body["outputParserFormat"]
            agent_id = self.add_agent(
                body["name"],
                body["systemPrompt"],
                team_id=team_id,
                default_model=body["defaultModel"],
                make_connection_id=body["makeConnectionId"],
                **extra,
            )
            return JSONResponse({"agentId": agent_id, **body}, 201)
        except _Reject as reject:
            return reject.response

    async def _agent_route(self, request: Request) -> Response:
        try:
            team_id = self._check(request, READ if request.method == "GET" else WRITE)
            agent = self._agent(request, team_id)
            if request.method == "GET":
                await self._slow("get")
                return JSONResponse(agent)
            if request.method == "DELETE":
                await self._slow("delete")
                del self.agents[agent["id"]]
                return Response(status_code=204)
            await self._slow("update")
            body = await self._body(request)
            if "systemPrompt" in body and not body["systemPrompt"]:
                raise _Reject(400, "systemPrompt must not be empty.")
            agent.update({k: body[k] for k in _PATCHABLE if k in body})
            if "outputParserFormat" in body:
                agent["outputParser"] = body["outputParserFormat"]
            return Response(status_code=204)
        except _Reject as reject:
            return reject.response

    async def _start_run(
        self, request: Request, stream: bool
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Validate a run call, append its messages to the thread and record it."""
        team_id = self._check(request, WRITE)
        agent = self._agent(request, team_id)
        body = await self._body(request)
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            raise _Reject(400, "messages must be a non-empty array.")
        for m in messages:
            if (
                not isinstance(m, dict)
                or m.get("role") not in ("user", "assistant")
                or not isinstance(m.get("content"), str)
            ):
                raise _Reject(400, "Each message needs role user|assistant and string content.")
        thread_id = body.get("threadId", str(uuid.uuid4()))
        if not isinstance(thread_id, str) or not thread_id:
            raise _Reject(400, "threadId must be a non-empty string.")
        thread = self.threads.setdefault(thread_id, [])
        thread.extend({"role": m["role"], "content": m["content"]} for m in messages)
        users = [m["content"] for m in thread if m["role"] == "user"]
        last = users[-1] if users else ""
        reply = f"[{agent['name']}] user messages in thread: {len(users)}. Last: {last}"
        run = {
            "agentId": agent["id"],
            "teamId": team_id,
            "threadId": thread_id,
            "messages": messages,
            "callbackUrl": body.get("callbackUrl"),
            "config": body.get("config"),
            "body": body,
            "stream": stream,
            "agentIterationId": str(uuid.uuid4()),
            "reply": reply,
            "userCount": len(users),
        }
        self.runs.append(run)
        return agent, run

    async def _run(self, request: Request) -> Response:
        started = time.monotonic()
        try:
            _, run = await self._start_run(request, stream=False)
        except _Reject as reject:
            return reject.response
        await self._slow("run")
        self.threads[run["threadId"]].append({"role": "assistant", "content": run["reply"]})
        return JSONResponse(
            {
                "response": run["reply"],
                "executionTimeMs": max(1, int((time.monotonic() - started) * 1000)),
                "threadId": run["threadId"],
                "lastAgentIterationId": run["agentIterationId"],
            }
        )

    @staticmethod
    def step(message: dict[str, Any]) -> str:
        """One SSE record in the reference's format."""
        return f"event:step\nid:{uuid.uuid4()}\ndata:{json.dumps(message)}\n\n"

    async def _run_stream(self, request: Request) -> Response:
        try:
            agent, run = await self._start_run(request, stream=True)
        except _Reject as reject:
            return reject.response
        scenario, script = self.next_stream, self.stream_script
        self.next_stream, self.stream_script = "normal", None
        run["scenario"] = "script" if script is not None else scenario
        await self._slow("stream")

        def msg(role: str, content: str) -> dict[str, Any]:
            return {
                "role": role,
                "content": content,
                "id": str(uuid.uuid4()),
                "agentIterationId": run["agentIterationId"],
            }

        system = f"{agent['systemPrompt']}\nCurrent time (ISO): {_now()}"
        head = [self.step(msg("system", system))]
        head += [self.step(msg(m["role"], m["content"])) for m in run["messages"]]
        tool = f"thread {run['threadId']}: {run['userCount']} user message(s)"
        head.append(self.step(msg("tool", tool)))
        final = self.step(msg("assistant", run["reply"]))
        delay = self.slow_delay if scenario == "slow" else self.stream_delay

        if script is not None and scenario == "cut_off":
            body = cut_off_after(script, delay)
            return StreamingResponse(body, media_type="text/event-stream")
        if script is not None:
            chunks = script
        elif scenario == "cut_off":
            body = cut_off_after(head, delay)
            return StreamingResponse(body, media_type="text/event-stream")
        elif scenario == "malformed":
            chunks = [
                *head,
                f'event:step\nid:{uuid.uuid4()}\ndata:{{"role": "assistant", "cont\n\n',
                final,
            ]
        else:
            chunks = [*head, final]

        thread = self.threads[run["threadId"]]

        async def events() -> AsyncIterator[bytes]:
            for i, chunk in enumerate(chunks):
                if i and delay:
                    await anyio.sleep(delay)
                yield chunk.encode()
            if script is None:
                thread.append({"role": "assistant", "content": run["reply"]})

        return StreamingResponse(events(), media_type="text/event-stream")

    def build_app(self) -> Starlette:
        base = f"{self.base_path}/ai-agents/v1/agents"
        app = Starlette(
            routes=[
                Route(base, self._agents, methods=["GET", "POST"]),
                Route(base + "/{agent_id}", self._agent_route, methods=["GET", "PATCH", "DELETE"]),
                Route(base + "/{agent_id}/run", self._run, methods=["POST"]),
                Route(base + "/{agent_id}/run/stream", self._run_stream, methods=["POST"]),
            ]
        )
        app.router.redirect_slashes = False
        return app
