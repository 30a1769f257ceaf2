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
import re
from collections.abc import Iterator
from copy import deepcopy
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import anyio
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.fakes.base import FakePlatform, cut_off_after

READ, CREATE, UPDATE = "workflow:read", "workflow:create", "workflow:update"
ALL_SCOPES: frozenset[str] = frozenset({READ, CREATE, UPDATE})

WORKSPACE = "my-workspace"
PUBLIC_WORKSPACE = "public-workspace"
FULL_KEY = "rf_test_key"
READ_KEY = "rf_read_key"
FOLDER_KEY = "rf_folder_key"
PUBLIC_WS_KEY = "rf_public_key"
FOLDER = "team-a"

ChatScenario = Literal["normal", "slow", "cut_off", "malformed"]
_BLOCKS = {
    "detect": "roboflow_core/roboflow_object_detection_model@v2",
    "segment": "roboflow_core/roboflow_instance_segmentation_model@v2",
    "classif": "roboflow_core/roboflow_classification_model@v2",
    "count": "roboflow_core/property_definition@v1",
    "webhook": "roboflow_core/webhook_sink@v1",
}


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "workflow"


def error_body(message: str, **extra: Any) -> dict[str, Any]:
    """Roboflow's error shape: ``{"error": "..."}`` plus documented extras (``error_type``)."""
    return {"error": message, **extra}


def empty_spec() -> dict[str, Any]:
    return {
        "version": "1.0",
        "inputs": [{"type": "WorkflowImage", "name": "image"}],
        "steps": [],
        "outputs": [],
    }


def _parse_spec(config: str) -> dict[str, Any] | None:
    try:
        parsed = json.loads(config)
    except ValueError:
        return None
    spec = parsed.get("specification") if isinstance(parsed, dict) else None
    return spec if isinstance(spec, dict) else None


class ApiError(Exception):
    """Raised by route code; rendered as the platform's JSON error body."""

    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.body = error_body(message, **extra)


@dataclass
class ApiKey:
    """A workspace API key. ``folders=None`` means no folder restriction."""

    key: str
    workspace: str
    scopes: frozenset[str] = ALL_SCOPES
    folders: frozenset[str] | None = None

    def sees(self, workflow: Workflow) -> bool:
        return self.folders is None or workflow.folder in self.folders


@dataclass
class KeyUse:
    """Where a request carried its api_key, so tests can assert on the adapter's auth style."""

    method: str
    path: str
    location: str | None
    key: str | None


@dataclass
class WorkflowVersion:
    """One snapshot of a workflow's published config (create, update, fork or publish)."""

    id: str
    version: int
    config: str
    source: str
    created_at: str = field(default_factory=now_iso)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "version": self.version,
            "config": self.config,
            "specification": _parse_spec(self.config),
            "source": self.source,
            "createdAt": self.created_at,
        }


@dataclass
class Workflow:
    """A workflow: published ``config`` (JSON string), agent ``draft`` spec, version snapshots."""

    id: str
    name: str
    url: str
    workspace: str
    config: str = "{}"
    template: str = "{}"
    public: bool = False
    folder: str | None = None
    draft: dict[str, Any] | None = None
    versions: list[WorkflowVersion] = field(default_factory=list)
    forked_from: str | None = None
    in_trash: bool = False
    deleted_at: str | None = None
    created_at: str = field(default_factory=now_iso)
    updated_at: str = field(default_factory=now_iso)

    @property
    def specification(self) -> dict[str, Any] | None:
        return _parse_spec(self.config)

    def summary(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "url": self.url, "createdAt": self.created_at}

    def to_json(self, config: str | None = None) -> dict[str, Any]:
        config = self.config if config is None else config
        return {
            **self.summary(),
            "workspace": self.workspace,
            "config": config,
            "specification": _parse_spec(config),
            "template": self.template,
            "public": self.public,
            "folder": self.folder,
            "draft": self.draft,
            "version": len(self.versions),
            "forkedFrom": self.forked_from,
            "updatedAt": self.updated_at,
        }

    def agent_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "url": self.url, "specification": self.draft}


@dataclass
class Conversation:
    """An agent conversation; ``workflows`` lists the url slugs its turns touched."""

    id: str
    workspace: str
    source: str
    title: str
    messages: list[dict[str, Any]] = field(default_factory=list)
    workflows: list[str] = field(default_factory=list)
    created_at: str = field(default_factory=now_iso)
    updated_at: str = field(default_factory=now_iso)

    def summary(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "source": self.source,
            "workflows": list(self.workflows),
            "message_count": len(self.messages),
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }

    def to_json(self) -> dict[str, Any]:
        return {**self.summary(), "messages": deepcopy(self.messages)}


@dataclass
class Workspace:
    """A workspace's state: credits and the agent switch gate chat; workflows keyed by id."""

    slug: str
    credits: float = 100.0
    agent_enabled: bool = True
    workflows: dict[str, Workflow] = field(default_factory=dict)  # by id
    conversations: dict[str, Conversation] = field(default_factory=dict)

    def find(self, ref: str) -> Workflow | None:
        """A live (not trashed) workflow by url slug or id."""
        for wf in self.workflows.values():
            if not wf.in_trash and ref in (wf.url, wf.id):
                return wf
        return None


@dataclass
class FakeRoboflow(FakePlatform):
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
                "type": _BLOCKS["detect"],
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

    @staticmethod
    def _unique_url(ws: Workspace, base: str) -> str:
        url, n = base, 1
        while ws.find(url):
            n += 1
            url = f"{base}-{n}"
        return url

    @staticmethod
    def _claim_url(ws: Workspace, url: str) -> str:
        if slugify(url) != url:
            raise ApiError(400, f"Invalid url slug: {url}")
        if ws.find(url):
            raise ApiError(400, f"A workflow with url {url} already exists")
        return url

    def _config(self, value: Any) -> str:
        if value is None:
            return "{}"
        if not isinstance(value, str):
            if self.strict_config:
                raise ApiError(400, "config must be a JSON-encoded string")
            value = json.dumps(value)
        try:
            parsed = json.loads(value)
        except ValueError:
            raise ApiError(400, "config is not valid JSON") from None
        if self.strict_config and parsed != {} and _parse_spec(value) is None:
            raise ApiError(400, 'config must be a JSON-encoded {"specification": {...}}')
        return value

    def _add_version(self, wf: Workflow, source: str) -> WorkflowVersion:
        version = WorkflowVersion(self._next("wfv"), len(wf.versions) + 1, wf.config, source)
        wf.versions.append(version)
        wf.updated_at = version.created_at
        return version

    def _written(self, wf: Workflow) -> JSONResponse:
        if self.flat_write_responses:
            return JSONResponse({**wf.to_json(), "status": "ok"})
        return JSONResponse({"workflow": wf.to_json(), "status": "ok"})

    # ----------------------------------------------------------------- Workflows API
    async def _list_workflows(self, request: Request) -> Response:
        await self._pause("list_workflows")
        ws, key, _ = await self._auth(request, (READ,))
        items = [w.summary() for w in ws.workflows.values() if not w.in_trash and key.sees(w)]
        return JSONResponse({"workflows": items, "status": "ok"})

    async def _get_workflow(self, request: Request) -> Response:
        await self._pause("get_workflow")
        ref = request.path_params["workflow_url"]
        ws = self.workspaces.get(request.path_params["workspace"])
        wf = ws.find(ref) if ws else None
        if wf is not None and wf.public:
            self._record_key(request, await self._body(request))
        else:
            ws, key, _ = await self._auth(request, (READ,))
            wf = self._live(ws, key, ref)
        config = wf.config
        if wanted := request.query_params.get("workflow_version"):
            match = [v for v in wf.versions if wanted in (str(v.version), v.id)]
            if not match:
                raise ApiError(404, f"Workflow version {wanted} not found")
            config = match[0].config
        body: dict[str, Any] = {"workflow": wf.to_json(config), "status": "ok"}
        if not wf.public:
            body["authorized"] = True
        return JSONResponse(body)

    async def _versions(self, request: Request) -> Response:
        await self._pause("versions")
        ws, key, _ = await self._auth(request, (READ,))
        wf = self._live(ws, key, request.path_params["workflow_url"])
        return JSONResponse(
            {"versions": [v.to_json() for v in reversed(wf.versions)], "status": "ok"}
        )

    async def _create(self, request: Request) -> Response:
        await self._pause("create")
        ws, key, body = await self._auth(request, (CREATE,))
        name = self._param(request, body, "name")
        if not isinstance(name, str) or not name.strip():
            raise ApiError(400, "name is required")
        template = self._param(request, body, "template")
        if template is None and self.require_template:
            raise ApiError(400, 'template is required (pass "{}" if you have none)')
        config = self._config(self._param(request, body, "config"))
        url = self._param(request, body, "url")
        url = self._claim_url(ws, url) if url else self._unique_url(ws, slugify(name))
        folder = sorted(key.folders)[0] if key.folders else None
        wf = self.add_workflow(ws.slug, name, url=url, config=config, folder=folder)
        wf.template = template if isinstance(template, str) else json.dumps(template or {})
        return self._written(wf)

    async def _update(self, request: Request) -> Response:
        await self._pause("update")
        ws, key, body = await self._auth(request, (UPDATE,))
        wf_id = self._param(request, body, "id")
        if not wf_id:
            raise ApiError(400, "id is required")
        wf = ws.workflows.get(wf_id)
        if wf is None or wf.in_trash:
            raise ApiError(404, f"Workflow {wf_id} not found")
        self._in_scope(key, wf)
        url, name = self._param(request, body, "url"), self._param(request, body, "name")
        config = self._param(request, body, "config")
        new_config = self._config(config) if config is not None else None
        if url and url != wf.url:
            wf.url = self._claim_url(ws, url)
        if name:
            wf.name = name
        if new_config is not None:
            wf.config = new_config
            self._add_version(wf, "update")
        wf.updated_at = now_iso()
        return self._written(wf)

    async def _fork(self, request: Request) -> Response:
        await self._pause("fork")
        ws, key, body = await self._auth(request, (CREATE,))
        src_slug = self._param(request, body, "source_workspace")
        src_ref = self._param(request, body, "source_workflow")
        if not src_slug or not src_ref:
            raise ApiError(400, "source_workspace and source_workflow are required")
        src_ws = self.workspaces.get(src_slug)
        src = src_ws.find(src_ref) if src_ws else None
        if src is None:
            raise ApiError(404, f"Workflow {src_slug}/{src_ref} not found")
        if src_ws is ws:
            self._in_scope(key, src)
        elif not src.public:
            raise ApiError(403, f"Workflow {src_slug}/{src_ref} is private")
        name = self._param(request, body, "name") or src.name
        url = self._param(request, body, "url")
        url = self._claim_url(ws, url) if url else self._unique_url(ws, slugify(name))
        folder = sorted(key.folders)[0] if key.folders else None
        wf = self.add_workflow(
            ws.slug, name, url=url, config=src.config, folder=folder, source="fork"
        )
        wf.template, wf.forked_from = src.template, f"{src_slug}/{src.url}"
        return self._written(wf)

    async def _token(self, request: Request) -> Response:
        await self._pause("token")
        ws, key, body = await self._auth(request, (READ,))
        ref = self._param(request, body, "workflow", "workflow_url", "workflowUrl", "workflow_id")
        wf = self._live(ws, key, ref) if ref else None
        try:
            ttl = int(self._param(request, body, "expires_in") or 3600)
        except (TypeError, ValueError):
            raise ApiError(400, "expires_in must be an integer") from None
        token = self._next("wft")
        expires = (datetime.now(UTC) + timedelta(seconds=ttl)).isoformat(timespec="seconds")
        info = {
            "token": token,
            "expiresAt": expires.replace("+00:00", "Z"),
            "expiresIn": ttl,
            "workflow": wf.url if wf else None,
            "status": "ok",
        }
        self.workflow_tokens[token] = {**info, "workspace": ws.slug}
        return JSONResponse(info)

    async def _delete(self, request: Request) -> Response:
        await self._pause("delete")
        ws, key, _ = await self._auth(request, (UPDATE,))
        wf = self._live(ws, key, request.path_params["workflow_url"])
        wf.in_trash, wf.deleted_at = True, now_iso()
        return JSONResponse(
            {
                "deleted": True,
                "type": "workflow",
                "workspace": ws.slug,
                "workflow": wf.url,
                "workflowId": wf.id,
                "trash": True,
            }
        )

    # ----------------------------------------------------------------- Agent API
    def _conv_visible(self, ws: Workspace, key: ApiKey, conv: Conversation) -> bool:
        return all(key.sees(w) for w in ws.workflows.values() if w.url in conv.workflows)

    def _target(
        self, ws: Workspace, key: ApiKey, message: str, conv: Conversation | None
    ) -> Workflow | None:
        """The workflow a message edits: one it names by url, else the conversation's last."""
        named = [
            w
            for w in ws.workflows.values()
            if not w.in_trash and re.search(rf"(?<![\w-]){re.escape(w.url)}(?![\w-])", message)
        ]
        if named:
            return self._in_scope(key, max(named, key=lambda w: len(w.url)))
        for url in reversed(conv.workflows if conv else []):
            if (wf := ws.find(url)) and key.sees(wf):
                return wf
        return None

    @staticmethod
    def _edit(base: dict[str, Any] | None, message: str) -> dict[str, Any]:
        spec = deepcopy(base) if base else empty_spec()
        n = len(spec.setdefault("steps", [])) + 1
        kind = next(
            (b for word, b in _BLOCKS.items() if word in message.lower()),
            "roboflow_core/expression@v1",
        )
        spec["steps"].append({"type": kind, "name": f"step_{n}", "instruction": message})
        spec.setdefault("outputs", []).append(
            {"type": "JsonField", "name": f"step_{n}", "selector": f"$steps.step_{n}.*"}
        )
        return spec

    def _new_name(self, message: str) -> str:
        quoted = re.search(r"(?:named|called)\s+[\"']([^\"']+)[\"']", message)
        if quoted:
            return quoted.group(1)
        return " ".join(re.findall(r"[\w-]+", message)[:6]).capitalize() or "New workflow"

    def _turn(
        self, ws: Workspace, key: ApiKey, message: str, mode: str, conv: Conversation
    ) -> tuple[str, list[Workflow]]:
        """Do one agent turn; returns the reply text and the workflows changed."""
        users = [m["content"] for m in conv.messages if m["role"] == "user"]
        history = f" (turn {len(users) + 1}; you last said: {users[-1]!r})" if users else ""
        if message.rstrip().endswith("?"):
            urls = [w.url for w in ws.workflows.values() if not w.in_trash and key.sees(w)]
            return f"You asked: {message}{history} Workflows here: {', '.join(urls)}.", []
        target = self._target(ws, key, message, conv)
        if mode == "plan":
            what = f"edit the draft of {target.url}" if target else "create a new workflow"
            return (
                f"Plan (no changes made){history}: I would {what} to: {message}\n"
                "1. Add a step for the request.\n2. Save it as a draft.",
                [],
            )
        if target is None:
            name = self._new_name(message)
            folder = sorted(key.folders)[0] if key.folders else None
            target = self.add_workflow(ws.slug, name, folder=folder, source="agent")
            verb = "Created a draft of"
        else:
            verb = "Updated the draft of"
        target.draft = self._edit(target.draft or target.specification, message)
        target.updated_at = now_iso()
        steps = len(target.draft["steps"])
        text = (
            f"{verb} workflow '{target.name}' ({target.url}) for: {message}{history}. "
            f"The draft has {steps} step(s); publish it to deploy."
        )
        return text, [target]

    async def _chat(self, request: Request) -> Response:
        await self._pause("chat")
        ws, key, body = await self._auth(request, (CREATE, UPDATE), where=("body",), agent=True)
        message, mode = body.get("message"), body.get("mode") or "agent"
        if not isinstance(message, str) or not message.strip():
            raise ApiError(400, "message is required")
        if mode not in ("agent", "plan"):
            raise ApiError(400, "mode must be 'agent' or 'plan'")
        conv_id = body.get("conversation_id")
        conv = ws.conversations.get(conv_id) if conv_id else None
        if conv_id and conv is None:
            raise ApiError(404, f"Conversation {conv_id} not found")
        if conv is not None and not self._conv_visible(ws, key, conv):
            raise ApiError(403, "Workflow outside folder scope")
        if ws.credits <= 0:
            raise ApiError(402, "Insufficient credits")
        conv = conv or Conversation(self._next("conv"), ws.slug, "api", message[:60])
        text, changed = self._turn(ws, key, message, mode, conv)
        ws.credits -= self.credits_per_turn
        ws.conversations[conv.id] = conv
        stamp = now_iso()
        conv.messages += [
            {"role": "user", "content": message, "mode": mode, "created_at": stamp},
            {
                "role": "assistant",
                "content": text,
                "created_at": stamp,
                "workflows": [w.url for w in changed],
            },
        ]
        conv.workflows += [w.url for w in changed if w.url not in conv.workflows]
        conv.updated_at = stamp
        payload = (
            self.next_reply
            if self.next_reply is not None
            else {
                "text": text,
                "workflows": [w.agent_json() for w in changed],
                "conversation_id": conv.id,
            }
        )
        scenario, self.next_chat, self.next_reply = self.next_chat, "normal", None
        raw = json.dumps(payload)
        if scenario == "slow":
            await anyio.sleep(self.slow_seconds)
        if scenario == "cut_off":
            third = max(1, len(raw) // 3)
            chunks = [raw[:third], raw[third : 2 * third]]
            return StreamingResponse(cut_off_after(chunks, 0.01), media_type="application/json")
        if scenario == "malformed":
            return Response(raw[:-1] + ', "text": <truncated', media_type="application/json")
        return JSONResponse(payload)

    async def _publish(self, request: Request) -> Response:
        await self._pause("publish")
        ws, key, _ = await self._auth(request, (UPDATE,), agent=True)
        wf = self._live(ws, key, request.path_params["workflow_url"])
        if wf.draft is None:
            raise ApiError(400, f"Workflow {wf.url} has no unpublished draft")
        wf.config, wf.draft = json.dumps({"specification": wf.draft}), None
        version = self._add_version(wf, "publish")
        return JSONResponse(
            {
                "published": True,
                "workflow": {**wf.agent_json(), "specification": wf.specification},
                "version": version.version,
            }
        )

    async def _list_conversations(self, request: Request) -> Response:
        await self._pause("list_conversations")
        ws, key, _ = await self._auth(request, (READ,), where=("query",))
        source, wf_url = request.query_params.get("source"), request.query_params.get("workflow")
        if source and source not in ("api", "web"):
            raise ApiError(400, "source must be 'api' or 'web'")
        convs = [
            c.summary()
            for c in reversed(ws.conversations.values())
            if (not source or c.source == source)
            and (not wf_url or wf_url in c.workflows)
            and self._conv_visible(ws, key, c)
        ]
        return JSONResponse({"conversations": convs})

    async def _get_conversation(self, request: Request) -> Response:
        await self._pause("get_conversation")
        ws, key, _ = await self._auth(request, (READ,), where=("query",))
        conv = ws.conversations.get(request.path_params["conversation_id"])
        if conv is None:
            raise ApiError(404, f"Conversation {request.path_params['conversation_id']} not found")
        if not self._conv_visible(ws, key, conv):
            raise ApiError(403, "Workflow outside folder scope")
        return JSONResponse({"conversation": conv.to_json()})

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
