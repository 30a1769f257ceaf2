"""The AgenticFlow fake's agent routes: list, create, read, update, delete, anonymous read."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tests.fakes.agenticflow.schemas import (
    AGENT_DEFAULTS,
    CREATE_AGENT,
    PUBLIC_FIELDS,
    UPDATE_AGENT,
    field_error,
    fill_defaults,
)
from tests.fakes.agenticflow.shared import ApiError, detail_error, now_iso


class AgentRoutes:
    """Agents of a FakeAgenticFlow."""

    @staticmethod
    def _normalise(fields: dict[str, Any]) -> dict[str, Any]:
        """Fill item defaults the way the response models would."""
        out = dict(fields)
        run = {"run_behavior": "auto_run"}
        lists = {
            "tools": {**run, "workflow_template_id": None, "description": None, "timeout": 150,
                      "input_config": None},
            "plugins": {**run, "connection": None, "input_config": None},
            "mcp_clients": {**run, "description": None, "timeout": 150, "tools": None,
                            "override_headers": None},
            "sub_agents": {"meta": None},
        }  # fmt: skip
        for key, defaults in lists.items():
            if isinstance(out.get(key), list):
                out[key] = fill_defaults(out[key], defaults)
        if "model" in out and out["model"] is None:
            out["model"] = AGENT_DEFAULTS["model"]
        return out

    # --- agents ----------------------------------------------------------------------------

    async def _list_agents(self, request: Request) -> Response:
        scope = self._auth(request)
        self._check_workspace(request, scope)
        q = self._query(
            request, {"limit": 100, "offset": 0, "search_query": None, "project_id": None}
        )
        search = q["search_query"]
        if search is not None and not 1 <= len(search) <= 100:
            kind, msg = (
                ("string_too_short", "String should have at least 1 character")
                if not search
                else ("string_too_long", "String should have at most 100 characters")
            )
            raise ApiError(
                422, {"detail": [field_error(kind, ["query", "search_query"], msg, search)]}
            )
        if q["project_id"] is not None and q["project_id"] != scope[1]:
            raise detail_error(403, "You do not have permission to access this project")
        found = [
            a
            for a in self.agents.values()
            if (a["workspace_id"], a["project_id"]) == scope
            and (
                not search
                or search.lower() in a["name"].lower()
                or search.lower() in (a["description"] or "").lower()
            )
        ]
        return JSONResponse(found[q["offset"] :][: max(q["limit"], 0)])

    async def _create_agent(self, request: Request) -> Response:
        scope = self._auth(request)
        self._check_workspace(request, scope)
        body = await self._body(request, CREATE_AGENT)
        if body["project_id"] != scope[1]:
            raise detail_error(403, "You do not have permission to access this project")
        self._check_links(scope, body)
        fields = {k: v for k, v in body.items() if k not in ("project_id", "name")}
        agent = self.add_agent(
            body["name"], project_id=body["project_id"], workspace_id=scope[0], **fields
        )
        return JSONResponse(agent)

    async def _get_agent(self, request: Request) -> Response:
        scope = self._auth(request)
        return JSONResponse(self._agent(scope, self._path_id(request, "agent_id")))

    async def _update_agent(self, request: Request) -> Response:
        scope = self._auth(request)
        agent_id = self._path_id(request, "agent_id")
        body = await self._body(request, UPDATE_AGENT)
        agent = self._agent(scope, agent_id)
        self._check_links(scope, body)
        agent.update(self._normalise(body), updated_at=now_iso())
        return JSONResponse(agent)

    async def _delete_agent(self, request: Request) -> Response:
        scope = self._auth(request)
        agent = self._agent(scope, self._path_id(request, "agent_id"))
        del self.agents[agent["id"]]
        for trigger_id in [t["id"] for t in self.triggers.values() if t["agent_id"] == agent["id"]]:
            del self.triggers[trigger_id]
        return JSONResponse(agent)

    async def _anonymous_get(self, request: Request) -> Response:
        agent = self._public_agent(self._path_id(request, "agent_id"))
        return JSONResponse({k: agent[k] for k in PUBLIC_FIELDS})

    def _public_agent(self, agent_id: str) -> dict[str, Any]:
        agent = self._agent(None, agent_id)
        if agent["visibility"] != "public":
            raise detail_error(403, "Agent is not public")
        return agent
