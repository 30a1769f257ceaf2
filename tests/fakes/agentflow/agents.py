"""The AgentFlow fake's agent routes: agents, their config, sub-agents and tools."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tests.fakes.agentflow.shared import ApiError, invalid_field, now_iso


class AgentRoutes:
    """Agents, config, sub-agents and tools of a FakeAgentFlow."""

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
        agent["updated_at"] = now_iso()
        return JSONResponse({"agent_id": agent["id"], "config": agent["config"]})

    async def _list_subagents(self, request: Request) -> Response:
        """List sub-agents."""
        subs = list(self.subagents.get(self._agent(request)["id"], {}).values())
        return JSONResponse({"subagents": subs, "total": len(subs)})

    async def _create_subagent(self, request: Request) -> Response:
        """Create a sub-agent."""
        agent, body = self._agent(request), await self._body(request)
        if not isinstance(body.get("name"), str) or not body["name"]:
            raise invalid_field("name", value=body)
        sub = {"id": self._new_id("sub"), "parent_id": agent["id"], "name": body["name"]}
        sub |= {
            k: body.get(k, d)
            for k, d in (("description", ""), ("system_prompt", ""), ("tools", []))
        }
        sub["created_at"] = now_iso()
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
        sub["updated_at"] = now_iso()
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
            raise invalid_field("message", value=body)
        call_id = self._new_id("call")
        self.calls[call_id] = {
            "call_id": call_id,
            "agent_id": sub["parent_id"],
            "subagent_id": sub["id"],
            "conversation_id": None,
            "status": "completed",
            "message": message,
            "started_at": now_iso(),
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
            raise invalid_field(
                "arguments", "Input should be a valid dictionary", "dict_type", args
            )
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
