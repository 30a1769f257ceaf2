"""Fake of Roboflow's workspace AI agent and Workflows management REST API (api.roboflow.com).

Source: ``shared/api-docs/roboflow-agent-api.txt`` (chat, publish, conversations),
``roboflow-workflows-api.txt`` (list, get, versions, create, update, fork, token, soft delete)
and the "Roboflow" section of ``NOTES.md``. Routes hang off the base URL with no prefix:
``{base}/{workspace}/...``.

Auth, as documented: ``api_key`` as a query parameter or in the JSON body. The Workflows routes
take either; agent chat takes it in the body, list/get conversations in the query (with
``strict_key_location=False`` every route takes either). Every use is recorded in
``key_uses`` (``location`` = "query" | "body" | "both" | None). Keys belong to one workspace and
carry scopes (``workflow:read`` / ``workflow:create`` / ``workflow:update``) and optionally a set
of folders; a folder-scoped key only sees workflows in those folders. Errors are always
``{"error": "..."}``; agent-disabled adds ``"error_type": "AGENT_DISABLED"``.

Assumptions (the references show no body or rule for these):
- 401 for a missing key, an unknown key, or a key of another workspace; a missing scope, a
  workflow outside the key's folders, a private fork source of another workspace -> 403.
- Order of checks: 401, AGENT_DISABLED (chat/publish), scope 403, 400 validation, 404, 402.
- GET workflow -> ``{"workflow": {...}, "status": "ok"}`` (the shape Roboflow's inference server
  reads); non-public workflows add top-level ``"authorized": true``. ``?workflow_version=`` (a
  version number or id) selects a version. Public workflows are readable without a key.
- The workflow object: ``id, name, url, workspace, config`` (JSON string of
  ``{"specification": ...}``, ``"{}"`` when empty), ``specification`` (parsed, or null),
  ``template, public, folder, draft`` (unpublished agent draft spec or null), ``version`` (latest
  number), ``forkedFrom`` ("ws/url" or null), ``createdAt, updatedAt``. List entries stay exactly
  as documented: ``id, name, url, createdAt``.
- create/update/fork answer 200 ``{"workflow": {...}, "status": "ok"}`` (``flat_write_responses``
  answers the workflow object flat plus ``status``, the other shape SDKs read). Create reads
  ``name, url, config, template`` from the query (as documented) or the body. ``name`` is
  required; ``template`` is required (pass "{}") unless ``require_template=False``; ``config``
  defaults to "{}". Update needs ``id``; ``name``/``url``/``config`` are optional. A url already
  taken -> 400; auto-generated urls get a ``-2``, ``-3`` suffix.
- ``strict_config`` (default on): ``config`` must be a string holding ``"{}"`` or
  ``{"specification": {...}}``, else 400. Off: stored verbatim, dicts are JSON-encoded.
- Versions: create or fork with a non-empty config, update with a config and publish each
  add one; GET versions answers ``{"versions": [{"id", "version", "config",
  "specification", "source", "createdAt"}], "status": "ok"}`` newest first.
- Workflow token: body/query ``workflow`` (url or id, optional; also ``workflow_url``,
  ``workflowUrl``, ``workflow_id``) and ``expires_in`` (seconds, default 3600); scope
  ``workflow:read``; answers ``{"token", "expiresAt", "expiresIn", "workflow", "status": "ok"}``.
- DELETE answers the Trash shape of Roboflow's "Manage Trash" page
  (``deleted, type, workspace, workflow, workflowId, trash``); scope ``workflow:update``.
  Trashed workflows vanish from every route (404). The path may name the url or the id.
- Agent chat: ``message`` required, ``mode`` agent|plan (else 400). A turn costs
  ``credits_per_turn``; with credits <= 0 -> 402. In agent mode a message naming a workflow url
  edits that workflow's draft; otherwise a continued conversation edits its last workflow;
  otherwise a new workflow is created (name from ``named "X"``/``called "X"`` or the first
  words; empty published config "{}"). Each edit appends one step whose ``instruction`` is the
  message (block type from keywords). A message ending in "?" only answers (lists workflows).
  Plan mode outlines and changes no workflow; ``workflows`` is then ``[]``. The turn is stored
  even when the reply is cut off.
- Publish answers ``{"published": true, "workflow": {id, name, url, specification}, "version":
  n}``; no draft -> 400.
- Conversations (agent-API casing, snake_case): list ``{"conversations": [{id, title, source,
  workflows, message_count, created_at, updated_at}]}`` newest first, ``source`` filter must be
  api|web (else 400); get ``{"conversation": {..., "messages": [{role, content, created_at,
  mode | workflows}]}}``. Conversations made through the API have source "api".
- Unknown paths -> 404 and wrong methods -> 405, both with ``{"error": ...}``.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from copy import deepcopy
from dataclasses import dataclass, field
from typing import Any

import anyio
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.fakes.base import FakePlatform
from tests.fakes.roboflow.agent import AgentRoutes
from tests.fakes.roboflow.state import (
    ALL_SCOPES,
    BLOCKS,
    FOLDER,
    FOLDER_KEY,
    FULL_KEY,
    PUBLIC_WORKSPACE,
    PUBLIC_WS_KEY,
    READ,
    READ_KEY,
    WORKSPACE,
    ApiError,
    ApiKey,
    ChatScenario,
    Conversation,
    KeyUse,
    Workflow,
    Workspace,
    empty_spec,
    error_body,
    now_iso,
    slugify,
)
from tests.fakes.roboflow.workflows import WorkflowRoutes

__all__ = ["FOLDER_KEY", "FULL_KEY", "PUBLIC_WORKSPACE", "READ_KEY", "WORKSPACE", "FakeRoboflow"]


@dataclass
class FakeRoboflow(WorkflowRoutes, AgentRoutes, FakePlatform):
    """In-memory Roboflow: workspaces, scoped keys, workflows with drafts, agent conversations."""

    workspaces: dict[str, Workspace] = field(default_factory=dict)
    api_keys: dict[str, ApiKey] = field(default_factory=dict)
    workflow_tokens: dict[str, dict[str, Any]] = field(default_factory=dict)
    key_uses: list[KeyUse] = field(default_factory=list)
    seed: bool = True
    credits_per_turn: float = 1.0
    delay: float = 0.0  # seconds, before routes named in delay_routes (None = every route)
    delay_routes: set[str] | None = None
    next_chat: ChatScenario = "normal"  # one-shot: consumed by the next successful chat
    next_reply: dict[str, Any] | None = None  # one-shot: replaces the next chat reply body
    slow_seconds: float = 1.0
    strict_config: bool = True
    require_template: bool = True
    strict_key_location: bool = True
    flat_write_responses: bool = False
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1), repr=False)

    def __post_init__(self) -> None:
        if self.seed:
            self._seed()

    # ----------------------------------------------------------------- seeding and knobs
    def _seed(self) -> None:
        spec = empty_spec()
        spec["steps"] = [
            {
                "type": BLOCKS["detect"],
                "name": "model",
                "images": "$inputs.image",
                "model_id": "yolov8n-640",
            }
        ]
        spec["outputs"] = [
            {"type": "JsonField", "name": "predictions", "selector": "$steps.model.predictions"}
        ]
        for slug in (WORKSPACE, PUBLIC_WORKSPACE):
            self.add_workspace(slug)
        seeds = [
            (WORKSPACE, "Slow webhooks", "slow-webhooks", "wf_abc123", None, False),
            (WORKSPACE, "Team A counter", "team-a-counter", "wf_team_a1", FOLDER, False),
            (PUBLIC_WORKSPACE, "People counter", "people-counter", "wf_pub001", None, True),
            (PUBLIC_WORKSPACE, "Secret flow", "secret-flow", "wf_priv01", None, False),
        ]
        for ws, name, url, wf_id, folder, public in seeds:
            self.add_workflow(
                ws, name, url=url, id=wf_id, specification=spec, folder=folder, public=public
            )
        self.workspaces[WORKSPACE].workflows["wf_abc123"].created_at = "2026-04-12T17:05:33.000Z"
        self.add_api_key(FULL_KEY, WORKSPACE)
        self.add_api_key(READ_KEY, WORKSPACE, scopes={READ})
        self.add_api_key(FOLDER_KEY, WORKSPACE, folders={FOLDER})
        self.add_api_key(PUBLIC_WS_KEY, PUBLIC_WORKSPACE)
        self.add_conversation(
            WORKSPACE,
            ["Add a webhook to slow-webhooks", "Done (draft)."],
            id="conv_web_1",
            source="web",
            workflows=["slow-webhooks"],
        )

    def _next(self, prefix: str) -> str:
        return f"{prefix}_{next(self._ids):06d}"

    def add_workspace(self, slug: str, *, credits: float = 100.0, agent: bool = True) -> Workspace:
        self.workspaces[slug] = Workspace(slug, credits=credits, agent_enabled=agent)
        return self.workspaces[slug]

    def add_api_key(
        self,
        key: str,
        workspace: str,
        *,
        scopes: set[str] | None = None,
        folders: set[str] | None = None,
    ) -> ApiKey:
        """``scopes=None`` grants every workflow scope; ``folders=None`` every folder."""
        self.api_keys[key] = ApiKey(
            key,
            workspace,
            frozenset(ALL_SCOPES if scopes is None else scopes),
            None if folders is None else frozenset(folders),
        )
        return self.api_keys[key]

    def add_workflow(
        self,
        workspace: str,
        name: str,
        *,
        url: str | None = None,
        specification: dict[str, Any] | None = None,
        config: str | None = None,
        public: bool = False,
        folder: str | None = None,
        draft: dict[str, Any] | None = None,
        id: str | None = None,
        created_at: str | None = None,
        source: str = "create",
    ) -> Workflow:
        """Store a workflow; a non-empty config becomes version 1."""
        ws = self.workspaces[workspace]
        if config is None:
            config = json.dumps({"specification": specification}) if specification else "{}"
        wf = Workflow(
            id or self._next("wf"),
            name,
            url or self._unique_url(ws, slugify(name)),
            workspace,
            config=config,
            public=public,
            folder=folder,
            draft=deepcopy(draft),
        )
        if created_at:
            wf.created_at = wf.updated_at = created_at
        if config != "{}":
            self._add_version(wf, source)
        ws.workflows[wf.id] = wf
        return wf

    def add_conversation(
        self,
        workspace: str,
        texts: list[str],
        *,
        id: str | None = None,
        source: str = "web",
        workflows: list[str] | None = None,
    ) -> Conversation:
        """Seed a conversation; ``texts`` alternate user / assistant."""
        conv = Conversation(
            id or self._next("conv"),
            workspace,
            source,
            texts[0][:60] if texts else "",
            workflows=list(workflows or []),
        )
        for i, text in enumerate(texts):
            conv.messages.append(
                {"role": "assistant" if i % 2 else "user", "content": text, "created_at": now_iso()}
            )
        self.workspaces[workspace].conversations[conv.id] = conv
        return conv

    def workflow(self, ref: str, workspace: str = WORKSPACE) -> Workflow | None:
        """Look a workflow up by url or id, trashed ones included (for assertions)."""
        found = [w for w in self.workspaces[workspace].workflows.values() if ref in (w.url, w.id)]
        return found[0] if found else None

    def conversation(self, conv_id: str) -> Conversation | None:
        found = [
            ws.conversations[conv_id]
            for ws in self.workspaces.values()
            if conv_id in ws.conversations
        ]
        return found[0] if found else None

    def disable_agent(self, workspace: str = WORKSPACE) -> None:
        self.workspaces[workspace].agent_enabled = False

    def out_of_credits(self, workspace: str = WORKSPACE) -> None:
        self.workspaces[workspace].credits = 0

    def rate_limited(
        self, retry_after: int = 1, *, path_contains: str | None = None, times: int = 1
    ) -> None:
        """Queue a 429 with Roboflow's error body and a Retry-After header."""
        self.fail_next(
            429,
            error_body("Rate limit exceeded. Please try again later."),
            headers={"Retry-After": str(retry_after)},
            path_contains=path_contains,
            times=times,
        )

    def server_error(self, *, path_contains: str | None = None, times: int = 1) -> None:
        self.fail_next(
            500, error_body("Internal server error"), path_contains=path_contains, times=times
        )

    def last_key_location(self) -> str | None:
        return self.key_uses[-1].location if self.key_uses else None

    # ----------------------------------------------------------------- shared route logic
    async def _pause(self, route: str) -> None:
        if self.delay and (self.delay_routes is None or route in self.delay_routes):
            await anyio.sleep(self.delay)

    @staticmethod
    async def _body(request: Request) -> dict[str, Any]:
        raw = await request.body()
        if not raw.strip():
            return {}
        try:
            data = json.loads(raw)
        except ValueError:
            raise ApiError(400, "Request body is not valid JSON") from None
        if not isinstance(data, dict):
            raise ApiError(400, "Request body must be a JSON object")
        return data

    def _record_key(self, request: Request, body: dict[str, Any]) -> tuple[str | None, str | None]:
        query_key = request.query_params.get("api_key") or None
        body_key = body.get("api_key") if isinstance(body.get("api_key"), str) else None
        where = {(True, True): "both", (True, False): "query", (False, True): "body"}
        location = where.get((bool(query_key), bool(body_key)))
        self.key_uses.append(
            KeyUse(request.method, request.url.path, location, query_key or body_key)
        )
        return query_key, body_key

    async def _auth(
        self,
        request: Request,
        scopes: tuple[str, ...],
        *,
        where: tuple[str, ...] = ("query", "body"),
        agent: bool = False,
    ) -> tuple[Workspace, ApiKey, dict[str, Any]]:
        """Check key (401), agent switch (403 AGENT_DISABLED) and scopes (403), in that order."""
        body = await self._body(request)
        query_key, body_key = self._record_key(request, body)
        if not self.strict_key_location:
            where = ("query", "body")
        value = (query_key if "query" in where else None) or (body_key if "body" in where else None)
        if not value:
            raise ApiError(401, f"Missing api_key (send it in the {' or '.join(where)})")
        key = self.api_keys.get(value)
        if key is None:
            raise ApiError(401, "This API key does not exist (or has been revoked).")
        slug = request.path_params["workspace"]
        ws = self.workspaces.get(slug)
        if key.workspace != slug or ws is None:
            raise ApiError(401, f"This API key does not have access to workspace {slug}.")
        if agent and not ws.agent_enabled:
            raise ApiError(
                403, "Agent features are disabled for this workspace.", error_type="AGENT_DISABLED"
            )
        missing = [s for s in scopes if s not in key.scopes]
        if missing:
            raise ApiError(403, f"API key is missing required scope(s): {', '.join(missing)}")
        return ws, key, body

    @staticmethod
    def _param(request: Request, body: dict[str, Any], *names: str) -> Any:
        for name in names:
            if body.get(name) not in (None, ""):
                return body[name]
            if request.query_params.get(name):
                return request.query_params[name]
        return None

    @staticmethod
    def _in_scope(key: ApiKey, wf: Workflow) -> Workflow:
        if not key.sees(wf):
            raise ApiError(403, "Workflow outside folder scope")
        return wf

    def _live(self, ws: Workspace, key: ApiKey, ref: str) -> Workflow:
        wf = ws.find(ref)
        if wf is None:
            raise ApiError(404, f"Workflow {ref} not found")
        return self._in_scope(key, wf)

    # ----------------------------------------------------------------- app
    def build_app(self) -> Starlette:
        async def api_error(_: Request, exc: Exception) -> Response:
            assert isinstance(exc, ApiError)
            return JSONResponse(exc.body, exc.status)

        async def http_error(_: Request, exc: Exception) -> Response:
            assert isinstance(exc, HTTPException)
            return JSONResponse(error_body(exc.detail), exc.status_code)

        ws = "/{workspace}"
        routes = [
            Route(f"{ws}/workflows", self._list_workflows, methods=["GET"]),
            Route(f"{ws}/workflows/{{workflow_url}}", self._get_workflow, methods=["GET"]),
            Route(f"{ws}/workflows/{{workflow_url}}", self._delete, methods=["DELETE"]),
            Route(f"{ws}/workflows/{{workflow_url}}/versions", self._versions, methods=["GET"]),
            Route(f"{ws}/createWorkflow", self._create, methods=["POST"]),
            Route(f"{ws}/updateWorkflow", self._update, methods=["POST"]),
            Route(f"{ws}/forkWorkflow", self._fork, methods=["POST"]),
            Route(f"{ws}/workflowToken", self._token, methods=["POST"]),
            Route(f"{ws}/agent/chat", self._chat, methods=["POST"]),
            Route(
                f"{ws}/agent/workflows/{{workflow_url}}/publish", self._publish, methods=["POST"]
            ),
            Route(f"{ws}/agent/conversations", self._list_conversations, methods=["GET"]),
            Route(
                f"{ws}/agent/conversations/{{conversation_id}}",
                self._get_conversation,
                methods=["GET"],
            ),
        ]
        return Starlette(
            routes=routes, exception_handlers={ApiError: api_error, HTTPException: http_error}
        )
