"""A fake of the AgentFlow REST API (agents, chat over SSE, approvals, knowledge bases).

Source: ``shared/api-docs/agentflow-api-reference.txt`` (a route table, the contract)
and the "AgentFlow" section of ``shared/api-docs/NOTES.md``. The reference shows
paths and methods only, no bodies; every shape below is an assumption that follows the
document's conventions (FastAPI-style: ``/docs``, ``/redoc``, ``/openapi.json``, snake_case).

Only the routes agentdeck uses are served (the reference lists ~200; admin, artifacts,
prompt blocks, LLM, batches, memory etc. are left out and answer 404
``{"detail": "Not Found"}``; a wrong method answers 405 ``{"detail": "Method Not Allowed"}``)::

    GET  /  /health  /ready  /openapi.json                      (public unless public_probes=False)
    GET  /api/v1/agents                                          agents:read
    GET|DELETE /api/v1/agent/{id}    GET|PATCH /api/v1/agent/{id}/config
    POST /api/v1/agent/{id}/chat                                 agents:execute
    GET|POST /api/v1/agent/{id}/subagents   GET|PATCH|DELETE .../subagents/{sub_id}
    POST .../subagents/{sub_id}/run                              agents:execute
    GET  /api/v1/agent/{id}/tools   GET .../tools/{tool}   POST .../tools/{tool}/run
    POST|GET /api/v1/conversations   GET /api/v1/conversations/search?q=
    GET|DELETE /api/v1/conversations/{id}   GET .../{id}/messages
    GET  /api/v1/approvals/pending   GET|DELETE /api/v1/approvals/{id}
    POST /api/v1/approvals/{id}/respond   POST /api/v1/approvals/bulk-respond
    POST /api/v1/questions/{id}/respond                          agents:execute
    GET  /api/v1/cancel/active-calls   POST /api/v1/cancel/all   POST /api/v1/cancel/{call_id}
    GET  /api/v1/knowledge-bases   GET .../{kb_id}   POST .../{kb_id}/search
    POST /api/v1/knowledge-bases/search      (several KBs: ``knowledge_base_ids``)
    GET  /api/v1/agents/{id}/knowledge-bases   POST .../knowledge-bases/{kb_id}/search

Assumptions (not shown by the reference):

- Auth: ``Authorization: Bearer <token>``; ``tokens`` maps token -> scopes. Missing or
  unknown token: 401 ``{"detail": ...}`` + ``WWW-Authenticate: Bearer``; a known token
  without the route's scope: 403 ``{"detail": "Missing required scope: <scope>"}``.
  Scopes: agents:read, agents:write, agents:execute, conversations:read,
  conversations:write, approvals:read, approvals:write, knowledge:read.
- Errors are FastAPI's ``{"detail": "<text>"}``; 422 is pydantic v2's
  ``{"detail": [{"type", "loc": ["body", field], "msg", "input"}]}``. 429 and 500 (queued
  via ``rate_limited()``/``server_error()``) use ``{"detail": ...}``; 429 adds Retry-After.
- Lists are wrapped: ``{"agents"|"subagents"|"tools"|"conversations"|"approvals"|
  "knowledge_bases"|"active_calls": [...], "total": n}``. Deletes answer 200
  ``{"id": ..., "deleted": true}``. Creates answer 201 with the object.
- Config: GET/PATCH answer ``{"agent_id", "config": {...}}``; PATCH merges the body's
  top-level keys (or those of ``body["config"]``) into the config.
- Chat body: ``message`` (required), ``conversation_id`` (optional; none starts a
  conversation titled with the message), ``stream`` (bool, default true). The reply is
  ``"[<agent name>] Echo: <message> (turn <n>)"``, n = user messages in the conversation.
  User and assistant messages are stored in ``messages[conversation_id]``.
- SSE: ``event: <name>\\ndata: <json>\\n\\n``; header ``X-Call-Id``. Events: ``start``
  {call_id, conversation_id, agent_id, message_id}; ``text`` {content} (word deltas);
  ``tool_call`` {id, tool, arguments}; ``tool_result`` {id, tool, result};
  ``approval_required`` {approval_id, call_id, tool_call_id, tool, arguments, expires_at};
  ``approval_resolved`` {approval_id, status, decision, reason, arguments};
  ``question`` {question_id, call_id, question, options}; ``error`` {code, message};
  ``cancelled`` {call_id, status}; ``done`` {call_id, conversation_id, message_id,
  content, turn, status}. A stream paused on an approval/question waits up to
  ``approval_timeout`` s for the answer (then expires it) and ends at once when cancelled.
  With ``pause_ends_stream`` it ends instead with ``done`` {call_id, conversation_id,
  turn, status: awaiting_approval|awaiting_input} and the call waits; answering the pause
  (respond, bulk-respond, DELETE, question respond) finishes it: the reply is stored as
  the assistant message and, with ``continuation_in = "respond"``, the respond answer
  (each bulk result) adds ``continuation`` {call_id, conversation_id, message_id,
  response, status, tool_calls}; with ``"messages"`` the message is written
  ``continuation_delay`` s after the answer and the answer carries nothing more.
  Call statuses (``calls[call_id]["status"]``): running, awaiting_approval,
  awaiting_input, completed, failed, cancelled, interrupted (cut_off), disconnected
  (the client went away mid-run).
- ``stream: false`` answers ``{call_id, conversation_id, agent_id, message_id, response,
  status, turn, tool_calls: [{id, tool, arguments, result}], events: [{event, data}]}``
  after the same run (so it waits on approvals too); the ``error`` scenario answers 500,
  ``cut_off`` drops the connection mid-body, ``malformed`` sends truncated JSON.
- Scenarios (``next_stream``, used by the next chat then reset to "normal"): normal;
  tool (search_knowledge call + result); approval (send_email {to, subject, body} needs
  approval); question (options short/detailed); error (``error`` event after one text
  delta, no ``done``); slow (>= 0.25 s between events); cut_off (start + two text deltas,
  then the connection drops); malformed (an extra ``text`` event whose data is not JSON,
  then the normal events); or a list of ``(event, data)`` / raw strings sent verbatim
  (no start/done added; the text deltas are stored as the assistant message).
- Ids come from one counter: ``conv_N``, ``msg_N``, ``call_N``, ``tc_N``, ``appr_N``,
  ``q_N``, ``sub_N``. Seeded: agents agent_research ("Research Assistant"; tools
  search_knowledge, send_email [requires_approval]; sub-agent sub_summarizer; KB kb_docs)
  and agent_support ("Support Bot"; tool lookup_order; KB kb_faq); tokens ``test-token``
  (all scopes) and ``read-token`` (the ``:read`` scopes).
- Approvals: ``{id, call_id, conversation_id, agent_id, tool_name, tool_call_id,
  arguments, status: pending|approved|denied|cancelled|expired, decision, reason,
  modified_arguments, created_at, expires_at, responded_at}``. Respond body:
  ``decision`` approve|deny|modify (aliases approved/denied/reject/
  approve_with_modifications) or ``approved: bool``; optional ``reason``,
  ``modified_arguments`` (with approve it means modify; modify requires it). Already
  answered or cancelled: 409; expired: 410; answers the approval. Bulk body:
  ``{approval_ids, decision, reason?}`` -> ``{results: [{approval_id, success, status,
  error}], succeeded, failed}``. DELETE cancels a pending approval (409/410 likewise).
- Questions: body ``answer`` (alias ``response``); 404/409/410 as approvals.
- Cancel: ``{call_id, status: "cancelled", cancelled: true}``; unknown call 404, a call
  no longer active 409. A ``disconnected`` call can still be cancelled (the run goes on
  server-side after the client closes the stream; stopping it is what cancel is for).
  Cancelling also cancels its pending approvals/questions.
- Sub-agent PATCH merges ``name``, ``description``, ``system_prompt``, ``model``, ``tools``
  from the body and answers the sub-agent.
- KB search body: ``query`` (required), ``top_k`` (default 5), and ``knowledge_base_ids``
  for the multi-KB route; answers ``{query, results: [{chunk_id, document_id,
  knowledge_base_id, content, score, metadata}], total}``; the score is the fraction of
  query words found in a document. Agent-scoped search of an unbound KB: 404.
- Tool run body ``{arguments: {...}}``; missing required parameters: 422. Answers
  ``{call_id, agent_id, tool, status: "success", arguments, result, execution_time_ms}``.
  Sub-agent run body ``{message}`` (alias ``input``) -> ``{call_id, agent_id,
  subagent_id, status: "completed", output}``.
- ``/health`` ``{status: healthy, version, memory: {...}}``, ``/ready`` ``{status: ready,
  database: ok}`` (503 when ``healthy``/``ready`` is False), ``/openapi.json`` a small
  OpenAPI 3.1 document of the routes above with ``info.version = version``.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import anyio
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.fakes.agentflow.agents import AgentRoutes
from tests.fakes.agentflow.approvals import ApprovalRoutes
from tests.fakes.agentflow.chat import ChatRoutes
from tests.fakes.agentflow.conversations import ConversationRoutes
from tests.fakes.agentflow.knowledge import KnowledgeRoutes
from tests.fakes.agentflow.seeds import seed_agents, seed_kbs, seed_subagents, seed_tools
from tests.fakes.agentflow.shared import (
    ALL_SCOPES,
    READ_SCOPES,
    ApiError,
    Event,
    Handler,
    invalid_field,
    now_iso,
)
from tests.fakes.base import FakePlatform

__all__ = ["FakeAgentFlow"]


@dataclass
class FakeAgentFlow(
    AgentRoutes, ChatRoutes, ConversationRoutes, ApprovalRoutes, KnowledgeRoutes, FakePlatform
):
    """In-memory AgentFlow deployment; all state is plain dicts tests can read and seed."""

    tokens: dict[str, set[str]] = field(
        default_factory=lambda: {"test-token": set(ALL_SCOPES), "read-token": set(READ_SCOPES)}
    )
    version: str = "2.3.0"
    agents: dict[str, dict[str, Any]] = field(default_factory=seed_agents)
    tools: dict[str, dict[str, dict[str, Any]]] = field(default_factory=seed_tools)
    subagents: dict[str, dict[str, dict[str, Any]]] = field(default_factory=seed_subagents)
    knowledge_bases: dict[str, dict[str, Any]] = field(default_factory=seed_kbs)
    agent_knowledge_bases: dict[str, list[str]] = field(
        default_factory=lambda: {"agent_research": ["kb_docs"], "agent_support": ["kb_faq"]}
    )
    conversations: dict[str, dict[str, Any]] = field(default_factory=dict)
    messages: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    approvals: dict[str, dict[str, Any]] = field(default_factory=dict)
    questions: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: dict[str, dict[str, Any]] = field(default_factory=dict)
    cancelled_calls: list[str] = field(default_factory=list)
    tool_runs: list[dict[str, Any]] = field(default_factory=list)
    # Knobs. next_stream: "normal" | "tool" | "approval" | "question" | "error" | "slow" |
    # "cut_off" | "malformed" | a scripted list of Events; used by the next chat, then reset.
    next_stream: str | list[Event] = "normal"
    delay: float = 0.0  # seconds before answering routes whose path contains a delay_paths item
    delay_paths: tuple[str, ...] = ()  # empty: every route
    stream_delay: float = 0.0  # seconds between SSE events ("slow" uses at least 0.25)
    approval_timeout: float = 30.0  # how long a stream waits on an approval/question
    # The second reading of a pause: the stream ends with ``done`` {status: awaiting_approval
    # | awaiting_input}; answering the pause finishes the call. The reply then comes back
    # in the respond answer (continuation_in "respond", under ``continuation``) or only as
    # a conversation message written continuation_delay s after the answer ("messages").
    pause_ends_stream: bool = False
    continuation_in: str = "respond"
    continuation_delay: float = 0.05
    public_probes: bool = True  # /, /health, /ready, /openapi.json need no token
    healthy: bool = True
    ready: bool = True
    _ids: Any = field(default_factory=lambda: itertools.count(1), repr=False)
    _later: list[Callable[[], Awaitable[None]]] = field(default_factory=list, repr=False)

    # ---- helpers for tests -------------------------------------------------------------

    def rate_limited(self, retry_after: int = 1, path_contains: str | None = None, times: int = 1):
        """Queue AgentFlow's 429 (with Retry-After) for the next matching request(s)."""
        body = {"detail": f"Rate limit exceeded. Retry after {retry_after} seconds."}
        headers = {"Retry-After": str(retry_after)}
        self.fail_next(429, body, headers=headers, path_contains=path_contains, times=times)

    def server_error(self, path_contains: str | None = None, times: int = 1) -> None:
        """Queue a 500 with AgentFlow's error body."""
        self.fail_next(
            500, {"detail": "Internal server error"}, path_contains=path_contains, times=times
        )

    def add_token(self, token: str, scopes: set[str] | frozenset[str] = ALL_SCOPES) -> None:
        """Accept ``token`` with exactly these scopes (an empty set gives 403 everywhere)."""
        self.tokens[token] = set(scopes)

    def add_approval(
        self,
        tool_name: str = "send_email",
        arguments: dict[str, Any] | None = None,
        agent_id: str = "agent_research",
        **extra: Any,
    ) -> dict[str, Any]:
        """Store a pending approval not tied to a live stream, to test the approvals routes."""
        call = {"call_id": extra.pop("call_id", None), "agent_id": agent_id}
        call["conversation_id"] = extra.pop("conversation_id", None)
        approval = self._new_approval(call, tool_name, arguments or {}, self._new_id("tc"))
        approval.update(extra)
        return approval

    def expire_approval(self, approval_id: str) -> None:
        """Make an approval expired now (a waiting stream then reports it and finishes)."""
        self.approvals[approval_id]["status"] = "expired"
        self.approvals[approval_id]["expires_at"] = now_iso()

    # ---- plumbing ----------------------------------------------------------------------

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}_{next(self._ids)}"

    def _authorize(self, request: Request, scope: str | None) -> None:
        if scope is None and self.public_probes:
            return
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise ApiError(401, "Not authenticated", {"WWW-Authenticate": "Bearer"})
        if token.strip() not in self.tokens:
            raise ApiError(
                401, "Invalid authentication credentials", {"WWW-Authenticate": "Bearer"}
            )
        if scope is not None and scope not in self.tokens[token.strip()]:
            raise ApiError(403, f"Missing required scope: {scope}")

    def _endpoint(self, handler: Handler, scope: str | None) -> Handler:
        async def endpoint(request: Request) -> Response:
            try:
                path = request.url.path
                if self.delay and (
                    not self.delay_paths or any(p in path for p in self.delay_paths)
                ):
                    await anyio.sleep(self.delay)
                self._authorize(request, scope)
                return await handler(request)
            except ApiError as exc:
                return JSONResponse({"detail": exc.detail}, exc.status, headers=exc.headers)

        return endpoint

    def _routes(self) -> list[tuple[str, str, Handler, str | None]]:
        a, c, ap, kb = (
            "/api/v1/agent/{agent_id}",
            "/api/v1/conversations",
            "/api/v1/approvals",
            "/api/v1/knowledge-bases",
        )
        R, W, X = "agents:read", "agents:write", "agents:execute"
        return [
            ("GET", "/", self._root, None),
            ("GET", "/health", self._health, None),
            ("GET", "/ready", self._ready, None),
            ("GET", "/openapi.json", self._openapi, None),
            ("GET", "/api/v1/agents", self._list_agents, R),
            ("GET", a, self._get_agent, R),
            ("DELETE", a, self._delete_agent, W),
            ("GET", f"{a}/config", self._get_config, R),
            ("PATCH", f"{a}/config", self._patch_config, W),
            ("POST", f"{a}/chat", self._chat, X),
            ("GET", f"{a}/subagents", self._list_subagents, R),
            ("POST", f"{a}/subagents", self._create_subagent, W),
            ("GET", f"{a}/subagents/{{sub_id}}", self._get_subagent, R),
            ("PATCH", f"{a}/subagents/{{sub_id}}", self._patch_subagent, W),
            ("DELETE", f"{a}/subagents/{{sub_id}}", self._delete_subagent, W),
            ("POST", f"{a}/subagents/{{sub_id}}/run", self._run_subagent, X),
            ("GET", f"{a}/tools", self._list_tools, R),
            ("GET", f"{a}/tools/{{tool_name}}", self._get_tool, R),
            ("POST", f"{a}/tools/{{tool_name}}/run", self._run_tool, X),
            ("POST", c, self._create_conversation, "conversations:write"),
            ("GET", c, self._list_conversations, "conversations:read"),
            ("GET", f"{c}/search", self._search_conversations, "conversations:read"),
            ("GET", f"{c}/{{conversation_id}}", self._get_conversation, "conversations:read"),
            (
                "DELETE",
                f"{c}/{{conversation_id}}",
                self._delete_conversation,
                "conversations:write",
            ),
            ("GET", f"{c}/{{conversation_id}}/messages", self._list_messages, "conversations:read"),
            ("GET", f"{ap}/pending", self._pending_approvals, "approvals:read"),
            ("POST", f"{ap}/bulk-respond", self._bulk_respond, "approvals:write"),
            ("GET", f"{ap}/{{approval_id}}", self._get_approval, "approvals:read"),
            ("POST", f"{ap}/{{approval_id}}/respond", self._respond_approval, "approvals:write"),
            ("DELETE", f"{ap}/{{approval_id}}", self._cancel_approval, "approvals:write"),
            ("POST", "/api/v1/questions/{question_id}/respond", self._respond_question, X),
            ("GET", "/api/v1/cancel/active-calls", self._active_calls, X),
            ("POST", "/api/v1/cancel/all", self._cancel_all, X),
            ("POST", "/api/v1/cancel/{call_id}", self._cancel, X),
            ("GET", kb, self._list_kbs, "knowledge:read"),
            ("POST", f"{kb}/search", self._search_kbs, "knowledge:read"),
            ("GET", f"{kb}/{{kb_id}}", self._get_kb, "knowledge:read"),
            ("POST", f"{kb}/{{kb_id}}/search", self._search_kb, "knowledge:read"),
            ("GET", "/api/v1/agents/{agent_id}/knowledge-bases", self._agent_kbs, "knowledge:read"),
            (
                "POST",
                "/api/v1/agents/{agent_id}/knowledge-bases/{kb_id}/search",
                self._agent_kb_search,
                "knowledge:read",
            ),
        ]

    def build_app(self) -> Starlette:
        async def not_found(request: Request, exc: Exception) -> Response:
            status = exc.status_code if isinstance(exc, HTTPException) else 404
            return JSONResponse(
                {"detail": "Not Found" if status == 404 else "Method Not Allowed"}, status
            )

        routes = [Route(p, self._endpoint(h, s), methods=[m]) for m, p, h, s in self._routes()]
        return Starlette(routes=routes, exception_handlers={404: not_found, 405: not_found})

    async def _body(self, request: Request) -> dict[str, Any]:
        raw = await request.body()
        if not raw:
            return {}
        try:
            body = json.loads(raw)
        except ValueError:
            raise ApiError(
                422,
                [
                    {
                        "type": "json_invalid",
                        "loc": ["body", 0],
                        "msg": "JSON decode error",
                        "input": {},
                    }
                ],
            ) from None
        if not isinstance(body, dict):
            raise invalid_field("__root__", "Input should be a valid dictionary", "dict_type", body)
        return body

    def _agent(self, request: Request) -> dict[str, Any]:
        agent_id = request.path_params["agent_id"]
        if agent_id not in self.agents:
            raise ApiError(404, f"Agent {agent_id} not found")
        return self.agents[agent_id]

    def _lookup(self, table: dict[str, Any], key: str, kind: str) -> Any:
        if key not in table:
            raise ApiError(404, f"{kind} {key} not found")
        return table[key]

    # ---- system ------------------------------------------------------------------------

    async def _root(self, request: Request) -> Response:
        """Health check (API status)."""
        return JSONResponse({"status": "ok", "service": "AgentFlow API", "version": self.version})

    async def _health(self, request: Request) -> Response:
        """Detailed health check (API + memory)."""
        status = "healthy" if self.healthy else "unhealthy"
        body = {
            "status": status,
            "version": self.version,
            "memory": {"status": "ok", "rss_mb": 128.0},
        }
        return JSONResponse(body, 200 if self.healthy else 503)

    async def _ready(self, request: Request) -> Response:
        """Readiness probe (verifies database)."""
        body = (
            {"status": "ready", "database": "ok"}
            if self.ready
            else {"status": "not_ready", "database": "unavailable"}
        )
        return JSONResponse(body, 200 if self.ready else 503)

    async def _openapi(self, request: Request) -> Response:
        """Machine-readable spec for code generation."""
        paths: dict[str, dict[str, Any]] = {}
        for method, path, handler, _ in self._routes():
            summary = (handler.__doc__ or "").strip().splitlines()[0]
            paths.setdefault(path, {})[method.lower()] = {"summary": summary}
        info = {"title": "AgentFlow API", "version": self.version}
        return JSONResponse({"openapi": "3.1.0", "info": info, "paths": paths})
