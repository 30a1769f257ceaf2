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
import re
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.fakes.base import FakePlatform, cut_off_after

ALL_SCOPES = frozenset(
    {
        "agents:read",
        "agents:write",
        "agents:execute",
        "conversations:read",
        "conversations:write",
        "approvals:read",
        "approvals:write",
        "knowledge:read",
    }
)
READ_SCOPES = frozenset(s for s in ALL_SCOPES if s.endswith(":read"))
ACTIVE = ("running", "awaiting_approval", "awaiting_input")
# A stream item: (event name, data) or a raw string written verbatim (scripted/malformed).
Event = tuple[str, Any] | str
Handler = Callable[[Request], Awaitable[Response]]
_DECISIONS = {
    "approve": "approve",
    "approved": "approve",
    "deny": "deny",
    "denied": "deny",
    "reject": "deny",
    "rejected": "deny",
    "modify": "modify",
    "approve_with_modifications": "modify",
}


class ApiError(Exception):
    """An AgentFlow error answer: ``{"detail": detail}`` with this status."""

    def __init__(self, status: int, detail: Any, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status, self.detail, self.headers = status, detail, headers or {}


def _invalid(name: str, msg: str = "Field required", kind: str = "missing", value: Any = None):
    """A pydantic-v2-shaped 422 for one body field."""
    return ApiError(422, [{"type": kind, "loc": ["body", name], "msg": msg, "input": value}])


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def _sse(item: Event) -> str:
    if isinstance(item, str):
        return item
    name, data = item
    return f"event: {name}\ndata: {data if isinstance(data, str) else json.dumps(data)}\n\n"


def _seed_agents() -> dict[str, dict[str, Any]]:
    def agent(agent_id: str, name: str, description: str, prompt: str) -> dict[str, Any]:
        config = {"model": "gpt-4o", "system_prompt": prompt, "temperature": 0.2}
        config |= {"max_tokens": 2048, "max_iterations": 10}
        created = "2025-01-01T00:00:00Z"
        return {"id": agent_id, "name": name, "description": description, "status": "active"} | {
            "created_at": created,
            "updated_at": created,
            "config": config,
        }

    return {
        "agent_research": agent(
            "agent_research", "Research Assistant", "Answers from docs", "Be precise."
        ),
        "agent_support": agent("agent_support", "Support Bot", "Helps customers", "Be kind."),
    }


def _schema(*required: str, optional: tuple[str, ...] = ()) -> dict[str, Any]:
    props = {name: {"type": "string"} for name in (*required, *optional)}
    return {"type": "object", "properties": props, "required": list(required)}


def _seed_tools() -> dict[str, dict[str, dict[str, Any]]]:
    def tool(name: str, description: str, params: dict[str, Any], approval: bool):
        return {"name": name, "description": description, "parameters": params} | {
            "requires_approval": approval
        }

    return {
        "agent_research": {
            "search_knowledge": tool(
                "search_knowledge", "Search bound KBs", _schema("query"), False
            ),
            "send_email": tool(
                "send_email", "Send an email", _schema("to", "body", optional=("subject",)), True
            ),
        },
        "agent_support": {
            "lookup_order": tool("lookup_order", "Find an order", _schema("order_id"), False)
        },
    }


def _seed_subagents() -> dict[str, dict[str, dict[str, Any]]]:
    sub = {"id": "sub_summarizer", "parent_id": "agent_research", "name": "Summarizer"}
    sub |= {"description": "Summarizes text", "system_prompt": "Summarize.", "tools": []}
    return {"agent_research": {"sub_summarizer": sub | {"created_at": "2025-01-01T00:00:00Z"}}}


def _seed_kbs() -> dict[str, dict[str, Any]]:
    def doc(doc_id: str, content: str, source: str) -> dict[str, Any]:
        return {"id": doc_id, "content": content, "metadata": {"source": source}}

    created = "2025-01-01T00:00:00Z"
    return {
        "kb_docs": {"id": "kb_docs", "name": "Product docs", "description": "Manuals"}
        | {
            "created_at": created,
            "documents": [
                doc("doc_1", "Install the agent with pip install agentflow.", "install.md"),
                doc("doc_2", "Approvals pause a tool call until a human answers.", "approvals.md"),
                doc("doc_3", "Streaming chat uses server-sent events.", "chat.md"),
            ],
        },
        "kb_faq": {"id": "kb_faq", "name": "FAQ", "description": "Common questions"}
        | {
            "created_at": created,
            "documents": [
                doc("faq_1", "Refunds are processed within 5 days.", "faq.md"),
                doc("faq_2", "Reset your password from the settings page.", "faq.md"),
            ],
        },
    }


@dataclass
class FakeAgentFlow(FakePlatform):
    """In-memory AgentFlow deployment; all state is plain dicts tests can read and seed."""

    tokens: dict[str, set[str]] = field(
        default_factory=lambda: {"test-token": set(ALL_SCOPES), "read-token": set(READ_SCOPES)}
    )
    version: str = "2.3.0"
    agents: dict[str, dict[str, Any]] = field(default_factory=_seed_agents)
    tools: dict[str, dict[str, dict[str, Any]]] = field(default_factory=_seed_tools)
    subagents: dict[str, dict[str, dict[str, Any]]] = field(default_factory=_seed_subagents)
    knowledge_bases: dict[str, dict[str, Any]] = field(default_factory=_seed_kbs)
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
        self.approvals[approval_id]["expires_at"] = _now()

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
            raise _invalid("__root__", "Input should be a valid dictionary", "dict_type", body)
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

    # ---- agents, sub-agents, tools -----------------------------------------------------

    def _agent_view(self, agent: dict[str, Any]) -> dict[str, Any]:
        view = dict(agent) | {"model": agent["config"].get("model")}
        view["tools"] = list(self.tools.get(agent["id"], {}))
        view["subagent_count"] = len(self.subagents.get(agent["id"], {}))
        view["knowledge_base_ids"] = list(self.agent_knowledge_bases.get(agent["id"], []))
        return view

    async def _list_agents(self, request: Request) -> Response:
        """List all agents."""
        agents = [self._agent_view(a) for a in self.agents.values()]
        return JSONResponse({"agents": agents, "total": len(agents)})

    async def _get_agent(self, request: Request) -> Response:
        """Get agent details."""
        return JSONResponse(self._agent_view(self._agent(request)))

    async def _delete_agent(self, request: Request) -> Response:
        """Delete an agent."""
        agent_id = self._agent(request)["id"]
        for table in (self.agents, self.tools, self.subagents, self.agent_knowledge_bases):
            table.pop(agent_id, None)
        return JSONResponse({"id": agent_id, "deleted": True})

    async def _get_config(self, request: Request) -> Response:
        """Get agent configuration."""
        agent = self._agent(request)
        return JSONResponse({"agent_id": agent["id"], "config": agent["config"]})

    async def _patch_config(self, request: Request) -> Response:
        """Update agent configuration."""
        agent, body = self._agent(request), await self._body(request)
        changes = (
            body["config"] if set(body) == {"config"} and isinstance(body["config"], dict) else body
        )
        agent["config"].update(changes)
        agent["updated_at"] = _now()
        return JSONResponse({"agent_id": agent["id"], "config": agent["config"]})

    async def _list_subagents(self, request: Request) -> Response:
        """List sub-agents."""
        subs = list(self.subagents.get(self._agent(request)["id"], {}).values())
        return JSONResponse({"subagents": subs, "total": len(subs)})

    async def _create_subagent(self, request: Request) -> Response:
        """Create a sub-agent."""
        agent, body = self._agent(request), await self._body(request)
        if not isinstance(body.get("name"), str) or not body["name"]:
            raise _invalid("name", value=body)
        sub = {"id": self._new_id("sub"), "parent_id": agent["id"], "name": body["name"]}
        sub |= {
            k: body.get(k, d)
            for k, d in (("description", ""), ("system_prompt", ""), ("tools", []))
        }
        sub["created_at"] = _now()
        self.subagents.setdefault(agent["id"], {})[sub["id"]] = sub
        return JSONResponse(sub, 201)

    def _subagent(self, request: Request) -> dict[str, Any]:
        subs = self.subagents.get(self._agent(request)["id"], {})
        return self._lookup(subs, request.path_params["sub_id"], "Sub-agent")

    async def _get_subagent(self, request: Request) -> Response:
        """Get sub-agent details."""
        return JSONResponse(self._subagent(request))

    async def _patch_subagent(self, request: Request) -> Response:
        """Update sub-agent."""
        sub, body = self._subagent(request), await self._body(request)
        for key in ("name", "description", "system_prompt", "model", "tools"):
            if key in body:
                sub[key] = body[key]
        sub["updated_at"] = _now()
        return JSONResponse(sub)

    async def _delete_subagent(self, request: Request) -> Response:
        """Delete sub-agent."""
        sub = self._subagent(request)
        del self.subagents[sub["parent_id"]][sub["id"]]
        return JSONResponse({"id": sub["id"], "deleted": True})

    async def _run_subagent(self, request: Request) -> Response:
        """Run a sub-agent directly."""
        sub, body = self._subagent(request), await self._body(request)
        message = body.get("message", body.get("input"))
        if not isinstance(message, str) or not message:
            raise _invalid("message", value=body)
        call_id = self._new_id("call")
        self.calls[call_id] = {
            "call_id": call_id,
            "agent_id": sub["parent_id"],
            "subagent_id": sub["id"],
            "conversation_id": None,
            "status": "completed",
            "message": message,
            "started_at": _now(),
        }
        return JSONResponse(
            {
                "call_id": call_id,
                "agent_id": sub["parent_id"],
                "subagent_id": sub["id"],
                "status": "completed",
                "output": f"[{sub['name']}] Echo: {message}",
            }
        )

    async def _list_tools(self, request: Request) -> Response:
        """List agent tools."""
        tools = list(self.tools.get(self._agent(request)["id"], {}).values())
        return JSONResponse({"tools": tools, "total": len(tools)})

    def _tool(self, request: Request) -> dict[str, Any]:
        tools = self.tools.get(self._agent(request)["id"], {})
        return self._lookup(tools, request.path_params["tool_name"], "Tool")

    async def _get_tool(self, request: Request) -> Response:
        """Get tool details."""
        return JSONResponse(self._tool(request))

    def _tool_output(self, agent_id: str, tool: str, args: dict[str, Any]) -> dict[str, Any]:
        if tool == "search_knowledge":
            kbs = self.agent_knowledge_bases.get(agent_id, [])
            return {"results": self._search(kbs, str(args.get("query", "")), 3)}
        return {
            "tool": tool,
            "arguments": args,
            "output": f"{tool} ran with {json.dumps(args, sort_keys=True)}",
        }

    async def _run_tool(self, request: Request) -> Response:
        """Execute a specific tool."""
        agent, tool, body = self._agent(request), self._tool(request), await self._body(request)
        args = body.get("arguments", {})
        if not isinstance(args, dict):
            raise _invalid("arguments", "Input should be a valid dictionary", "dict_type", args)
        for name in tool["parameters"].get("required", []):
            if name not in args:
                raise ApiError(
                    422,
                    [
                        {
                            "type": "missing",
                            "loc": ["body", "arguments", name],
                            "msg": "Field required",
                            "input": args,
                        }
                    ],
                )
        run = {
            "call_id": self._new_id("call"),
            "agent_id": agent["id"],
            "tool": tool["name"],
            "status": "success",
            "arguments": args,
            "result": self._tool_output(agent["id"], tool["name"], args),
            "execution_time_ms": 3,
        }
        self.tool_runs.append(run)
        return JSONResponse(run)

    # ---- chat --------------------------------------------------------------------------

    def _add_message(
        self, conversation_id: str, role: str, content: str, **extra: Any
    ) -> dict[str, Any]:
        msg = {
            "id": self._new_id("msg"),
            "conversation_id": conversation_id,
            "role": role,
            "content": content,
            "created_at": _now(),
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
            "created_at": _now(),
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
            raise _invalid("message", value=body)
        if not isinstance(stream, bool):
            raise _invalid("stream", "Input should be a valid boolean", "bool_type", stream)
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
            "started_at": _now(),
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
            chunks = [_sse(start)] + [_sse(("text", {"content": w})) for w in reply.split()[:2]]
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
                        yield _sse(item)
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
            outcome = await self._wait(call, lambda: approval["status"] != "pending")
            if outcome == "cancelled":
                return
            if outcome == "timeout":
                approval["status"] = "expired"
            call["status"] = "running"
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
            outcome = await self._wait(call, lambda: question["status"] != "pending")
            if outcome == "cancelled":
                return
            if outcome == "timeout":
                question["status"] = "expired"
            call["status"] = "running"
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

    # ---- conversations -----------------------------------------------------------------

    def _conversation_view(self, conv: dict[str, Any]) -> dict[str, Any]:
        return conv | {"message_count": len(self.messages.get(conv["id"], []))}

    async def _create_conversation(self, request: Request) -> Response:
        """Create a conversation."""
        body = await self._body(request)
        if not isinstance(body.get("agent_id"), str):
            raise _invalid("agent_id", value=body)
        self._lookup(self.agents, body["agent_id"], "Agent")
        conv = self._new_conversation(
            body["agent_id"], body.get("title") or "New conversation", body.get("metadata") or {}
        )
        return JSONResponse(self._conversation_view(conv), 201)

    async def _list_conversations(self, request: Request) -> Response:
        """List conversations."""
        q = request.query_params
        convs = [
            c
            for c in reversed(self.conversations.values())
            if q.get("agent_id") in (None, c["agent_id"])
        ]
        limit, offset = int(q.get("limit", 50)), int(q.get("offset", 0))
        page = [self._conversation_view(c) for c in convs[offset : offset + limit]]
        return JSONResponse(
            {"conversations": page, "total": len(convs), "limit": limit, "offset": offset}
        )

    async def _search_conversations(self, request: Request) -> Response:
        """Search conversation titles and chat history."""
        q = request.query_params
        needle = (q.get("q") or q.get("query") or "").lower()
        results = []
        for conv in reversed(self.conversations.values()):
            if q.get("agent_id") not in (None, conv["agent_id"]):
                continue
            matches = [
                {"message_id": m["id"], "role": m["role"], "content": m["content"]}
                for m in self.messages.get(conv["id"], [])
                if needle in m["content"].lower()
            ]
            if matches or needle in conv["title"].lower():
                results.append(
                    {
                        "conversation_id": conv["id"],
                        "title": conv["title"],
                        "agent_id": conv["agent_id"],
                        "matches": matches,
                    }
                )
        return JSONResponse({"query": needle, "results": results, "total": len(results)})

    def _conversation(self, request: Request) -> dict[str, Any]:
        return self._lookup(
            self.conversations, request.path_params["conversation_id"], "Conversation"
        )

    async def _get_conversation(self, request: Request) -> Response:
        """Get conversation metadata."""
        return JSONResponse(self._conversation_view(self._conversation(request)))

    async def _delete_conversation(self, request: Request) -> Response:
        """Delete conversation."""
        conv_id = self._conversation(request)["id"]
        del self.conversations[conv_id]
        self.messages.pop(conv_id, None)
        return JSONResponse({"id": conv_id, "deleted": True})

    async def _list_messages(self, request: Request) -> Response:
        """List flat chat messages."""
        conv_id = self._conversation(request)["id"]
        msgs = self.messages.get(conv_id, [])
        return JSONResponse({"conversation_id": conv_id, "messages": msgs, "total": len(msgs)})

    # ---- approvals, questions, cancellation --------------------------------------------

    def _new_approval(
        self, call: dict[str, Any], tool: str, args: dict[str, Any], tc_id: str
    ) -> dict[str, Any]:
        expires = datetime.now(UTC) + timedelta(seconds=self.approval_timeout)
        approval = {
            "id": self._new_id("appr"),
            "call_id": call["call_id"],
            "conversation_id": call["conversation_id"],
            "agent_id": call["agent_id"],
            "tool_name": tool,
            "tool_call_id": tc_id,
            "arguments": args,
            "status": "pending",
            "decision": None,
            "reason": None,
            "modified_arguments": None,
            "created_at": _now(),
            "expires_at": expires.isoformat().replace("+00:00", "Z"),
            "responded_at": None,
        }
        self.approvals[approval["id"]] = approval
        return approval

    def _new_question(self, call: dict[str, Any], text: str, options: list[str]) -> dict[str, Any]:
        question = {
            "id": self._new_id("q"),
            "call_id": call["call_id"],
            "agent_id": call["agent_id"],
            "conversation_id": call["conversation_id"],
            "question": text,
            "options": options,
            "status": "pending",
            "answer": None,
            "created_at": _now(),
            "answered_at": None,
        }
        self.questions[question["id"]] = question
        return question

    def _check_open(self, item: dict[str, Any], kind: str) -> None:
        """409 if already answered/cancelled, 410 if expired (an approval past expires_at too)."""
        expires = item.get("expires_at")
        if (
            item["status"] == "pending"
            and expires
            and datetime.fromisoformat(expires) < datetime.now(UTC)
        ):
            item["status"] = "expired"
        if item["status"] == "expired":
            raise ApiError(410, f"{kind} {item['id']} has expired")
        if item["status"] != "pending":
            raise ApiError(409, f"{kind} {item['id']} is already {item['status']}")

    def _decide(self, approval: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        decision = body.get("decision")
        if decision is None and isinstance(body.get("approved"), bool):
            decision = "approve" if body["approved"] else "deny"
        modified = body.get("modified_arguments")
        normal = _DECISIONS.get(str(decision).lower())
        if normal is None:
            raise _invalid(
                "decision", "Input should be 'approve', 'deny' or 'modify'", "enum", decision
            )
        if modified is not None and not isinstance(modified, dict):
            raise _invalid(
                "modified_arguments", "Input should be a valid dictionary", "dict_type", modified
            )
        if normal == "modify" and modified is None:
            raise _invalid("modified_arguments", value=body)
        if normal == "approve" and modified:
            normal = "modify"
        self._check_open(approval, "Approval")
        approval.update(
            status="denied" if normal == "deny" else "approved",
            decision=normal,
            reason=body.get("reason"),
            responded_at=_now(),
            modified_arguments=modified if normal == "modify" else None,
        )
        return approval

    async def _pending_approvals(self, request: Request) -> Response:
        """List pending approvals."""
        q = request.query_params
        pending = []
        for approval in self.approvals.values():
            try:
                self._check_open(approval, "Approval")
            except ApiError:
                continue
            if all(
                q.get(k) in (None, approval[k]) for k in ("agent_id", "conversation_id", "call_id")
            ):
                pending.append(approval)
        return JSONResponse({"approvals": pending, "total": len(pending)})

    async def _get_approval(self, request: Request) -> Response:
        """Get approval details."""
        return JSONResponse(
            self._lookup(self.approvals, request.path_params["approval_id"], "Approval")
        )

    async def _respond_approval(self, request: Request) -> Response:
        """Approve, deny, or approve with modified arguments."""
        approval = self._lookup(self.approvals, request.path_params["approval_id"], "Approval")
        decided = self._decide(approval, await self._body(request))
        return await self._answered(approval, dict(decided))

    async def _bulk_respond(self, request: Request) -> Response:
        """Bulk approve/deny."""
        body = await self._body(request)
        ids = body.get("approval_ids")
        if not isinstance(ids, list) or not ids:
            raise _invalid("approval_ids", value=body)
        results = []
        for approval_id in ids:
            try:
                approval = self._lookup(self.approvals, approval_id, "Approval")
                status = self._decide(approval, body)["status"]
                result = {"approval_id": approval_id, "success": True, "status": status}
                continuation = self._go_on(approval["call_id"])
                if continuation is not None:
                    result["continuation"] = continuation
                results.append(result | {"error": None})
            except ApiError as exc:
                if exc.status == 422:
                    raise
                status = self.approvals.get(approval_id, {}).get("status")
                results.append(
                    {
                        "approval_id": approval_id,
                        "success": False,
                        "status": status,
                        "error": exc.detail,
                    }
                )
        ok = sum(r["success"] for r in results)
        answer = {"results": results, "succeeded": ok, "failed": len(results) - ok}
        return await self._answered({"call_id": None}, answer)

    async def _cancel_approval(self, request: Request) -> Response:
        """Cancel approval."""
        approval = self._lookup(self.approvals, request.path_params["approval_id"], "Approval")
        self._check_open(approval, "Approval")
        approval.update(status="cancelled", responded_at=_now())
        return await self._answered(approval, dict(approval))

    async def _respond_question(self, request: Request) -> Response:
        """Respond to an agent question."""
        question = self._lookup(self.questions, request.path_params["question_id"], "Question")
        body = await self._body(request)
        answer = body.get("answer", body.get("response"))
        if not isinstance(answer, str):
            raise _invalid("answer", value=body)
        self._check_open(question, "Question")
        question.update(status="answered", answer=answer, answered_at=_now())
        return await self._answered(question, dict(question))

    def _cancel_call(self, call: dict[str, Any]) -> None:
        call.update(status="cancelled", cancelled_at=_now())
        call.pop("paused", None)
        self.cancelled_calls.append(call["call_id"])
        for item in (*self.approvals.values(), *self.questions.values()):
            if item["call_id"] == call["call_id"] and item["status"] == "pending":
                item["status"] = "cancelled"

    async def _active_calls(self, request: Request) -> Response:
        """List active executions."""
        active = [c for c in self.calls.values() if c["status"] in ACTIVE]
        return JSONResponse({"active_calls": active, "total": len(active)})

    async def _cancel(self, request: Request) -> Response:
        """Cancel specific execution."""
        call = self._lookup(self.calls, request.path_params["call_id"], "Call")
        if call["status"] not in (*ACTIVE, "disconnected"):
            raise ApiError(409, f"Call {call['call_id']} is not active (status: {call['status']})")
        self._cancel_call(call)
        return JSONResponse({"call_id": call["call_id"], "status": "cancelled", "cancelled": True})

    async def _cancel_all(self, request: Request) -> Response:
        """Cancel all executions."""
        active = [c for c in self.calls.values() if c["status"] in ACTIVE]
        for call in active:
            self._cancel_call(call)
        return JSONResponse({"cancelled": [c["call_id"] for c in active], "total": len(active)})

    # ---- knowledge bases ---------------------------------------------------------------

    def _search(self, kb_ids: list[str], query: str, top_k: int) -> list[dict[str, Any]]:
        words = re.findall(r"\w+", query.lower())
        results = []
        for kb_id in kb_ids:
            for doc in self.knowledge_bases[kb_id]["documents"]:
                hits = sum(1 for w in words if w in doc["content"].lower())
                if hits:
                    results.append(
                        {
                            "chunk_id": f"{doc['id']}_c0",
                            "document_id": doc["id"],
                            "knowledge_base_id": kb_id,
                            "content": doc["content"],
                            "score": round(hits / len(words), 3),
                            "metadata": doc.get("metadata", {}),
                        }
                    )
        return sorted(results, key=lambda r: -r["score"])[:top_k]

    def _kb_view(self, kb: dict[str, Any]) -> dict[str, Any]:
        view = {k: v for k, v in kb.items() if k != "documents"}
        return view | {"document_count": len(kb["documents"])}

    async def _search_answer(self, request: Request, kb_ids: list[str], **extra: Any) -> Response:
        body = await self._body(request)
        query, top_k = body.get("query"), body.get("top_k", 5)
        if not isinstance(query, str) or not query.strip():
            raise _invalid("query", value=body)
        if not isinstance(top_k, int) or top_k < 1:
            raise _invalid("top_k", "Input should be greater than 0", "greater_than", top_k)
        kb_ids = kb_ids or body.get("knowledge_base_ids") or []
        if not isinstance(kb_ids, list) or not kb_ids:
            raise _invalid("knowledge_base_ids", value=body)
        for kb_id in kb_ids:
            self._lookup(self.knowledge_bases, kb_id, "Knowledge base")
        results = self._search(kb_ids, query, top_k)
        return JSONResponse({"query": query, **extra, "results": results, "total": len(results)})

    async def _list_kbs(self, request: Request) -> Response:
        """List all knowledge bases."""
        kbs = [self._kb_view(kb) for kb in self.knowledge_bases.values()]
        return JSONResponse({"knowledge_bases": kbs, "total": len(kbs)})

    async def _get_kb(self, request: Request) -> Response:
        """Get KB details."""
        kb = self._lookup(self.knowledge_bases, request.path_params["kb_id"], "Knowledge base")
        return JSONResponse(self._kb_view(kb))

    async def _search_kb(self, request: Request) -> Response:
        """Search a knowledge base."""
        kb_id = request.path_params["kb_id"]
        return await self._search_answer(request, [kb_id], knowledge_base_id=kb_id)

    async def _search_kbs(self, request: Request) -> Response:
        """Search across multiple knowledge bases."""
        body = await self._body(request)
        ids = body.get("knowledge_base_ids")
        return await self._search_answer(request, [], knowledge_base_ids=ids)

    async def _agent_kbs(self, request: Request) -> Response:
        """List KBs bound to agent."""
        kb_ids = self.agent_knowledge_bases.get(self._agent(request)["id"], [])
        kbs = [self._kb_view(self.knowledge_bases[k]) for k in kb_ids if k in self.knowledge_bases]
        return JSONResponse({"knowledge_bases": kbs, "total": len(kbs)})

    async def _agent_kb_search(self, request: Request) -> Response:
        """Search KB through agent."""
        agent, kb_id = self._agent(request), request.path_params["kb_id"]
        if kb_id not in self.agent_knowledge_bases.get(agent["id"], []):
            raise ApiError(404, f"Knowledge base {kb_id} is not bound to agent {agent['id']}")
        return await self._search_answer(
            request, [kb_id], agent_id=agent["id"], knowledge_base_id=kb_id
        )
