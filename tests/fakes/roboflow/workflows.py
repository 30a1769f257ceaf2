"""The Roboflow fake's Workflows API: list, read, versions, create, update, fork, token, delete."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tests.fakes.roboflow.state import (
    CREATE,
    READ,
    UPDATE,
    ApiError,
    Workflow,
    WorkflowVersion,
    Workspace,
    now_iso,
    parse_spec,
    slugify,
)


class WorkflowRoutes:
    """The Workflows API of a FakeRoboflow."""

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
        if self.strict_config and parsed != {} and parse_spec(value) is None:
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
