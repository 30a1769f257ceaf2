"""The AgenticFlow fake's webhook triggers, their events, and the webhook they answer."""

from __future__ import annotations

import base64
import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tests.fakes.agenticflow.schemas import TRIGGER
from tests.fakes.agenticflow.shared import detail_error, new_id, now_iso


class TriggerRoutes:
    """Webhook triggers and their events of a FakeAgenticFlow."""

    @staticmethod
    def _trigger_fields(body: dict[str, Any]) -> dict[str, Any]:
        config, task = body["trigger_config"], body["task_config"]
        auth = {"auth_type": "NONE", "username": None, "password": None, "token": None}
        return {
            "name": body["name"],
            "description": body.get("description"),
            "trigger_type": body["trigger_type"],
            "trigger_config": {**config, "auth_config": auth | config["auth_config"]},
            "task_config": {**task, "chat_id": task.get("chat_id")},
        }

    async def _list_triggers(self, request: Request) -> Response:
        scope = self._auth(request)
        agent = self._agent(scope, self._path_id(request, "agent_id"))
        return JSONResponse([t for t in self.triggers.values() if t["agent_id"] == agent["id"]])

    async def _create_trigger(self, request: Request) -> Response:
        scope = self._auth(request)
        agent_id = self._path_id(request, "agent_id")
        body = await self._body(request, TRIGGER)
        agent = self._agent(scope, agent_id)
        now, fields = now_iso(), self._trigger_fields(body)
        fields["trigger_config"]["path"] = new_id()
        trigger = {
            "id": new_id(),
            "agent_id": agent["id"],
            **fields,
            "created_at": now,
            "updated_at": now,
        }
        self.triggers[trigger["id"]] = trigger
        self.trigger_events[trigger["id"]] = []
        return JSONResponse(trigger)

    async def _get_trigger(self, request: Request) -> Response:
        scope = self._auth(request)
        return JSONResponse(self._trigger(scope, self._path_id(request, "trigger_id")))

    async def _update_trigger(self, request: Request) -> Response:
        scope = self._auth(request)
        trigger_id = self._path_id(request, "trigger_id")
        body = await self._body(request, TRIGGER)
        trigger = self._trigger(scope, trigger_id)
        fields = self._trigger_fields(body)
        fields["trigger_config"]["path"] = trigger["trigger_config"]["path"]
        trigger.update(fields, updated_at=now_iso())
        return JSONResponse(trigger)

    async def _delete_trigger(self, request: Request) -> Response:
        scope = self._auth(request)
        trigger = self._trigger(scope, self._path_id(request, "trigger_id"))
        del self.triggers[trigger["id"]]
        return JSONResponse(trigger)

    async def _events(self, request: Request) -> Response:
        scope = self._auth(request)
        agent_id = self._path_id(request, "agent_id")
        trigger_id = self._path_id(request, "trigger_id")
        q = self._query(request, {"limit": 100, "offset": 0})
        self._agent(scope, agent_id)
        trigger = self.triggers.get(trigger_id)
        if trigger is None or trigger["agent_id"] != agent_id:
            raise detail_error(404, "Trigger not found")
        events = list(reversed(self.trigger_events.get(trigger_id, [])))
        return JSONResponse(events[q["offset"] :][: max(q["limit"], 0)])

    async def _webhook(self, request: Request) -> Response:
        path = self._path_id(request, "path")
        trigger = next(
            (t for t in self.triggers.values() if t["trigger_config"]["path"] == path), None
        )
        if trigger is None:
            raise detail_error(404, "Trigger not found")
        config = trigger["trigger_config"]
        if request.method != config["method"]:
            raise detail_error(405, "Method Not Allowed", {"Allow": config["method"]})
        self._webhook_auth(request, config["auth_config"])
        raw = await request.body()
        try:
            payload = json.loads(raw) if raw.strip() else None
        except ValueError:
            payload = raw.decode(errors="replace")
        agent = self.agents[trigger["agent_id"]]
        thread_id = trigger["task_config"]["chat_id"] or new_id()
        message = trigger["task_config"]["message"]
        _, turn = self._send(agent, thread_id, {"role": "user", "content": message})
        self._send(
            agent, thread_id, {"role": "assistant", "content": self.reply_text(message, turn)}
        )
        event = {
            "id": new_id(),
            "trigger_id": trigger["id"],
            "agent_id": agent["id"],
            "status": "success",
            "thread_id": thread_id,
            "response_code": config["response_code"],
            "request": {
                "method": request.method,
                "query": dict(request.query_params),
                "headers": {k.lower(): v for k, v in request.headers.items()},
                "body": payload,
            },
            "created_at": now_iso(),
        }
        self.trigger_events.setdefault(trigger["id"], []).append(event)
        code = config["response_code"]
        if code < 200 or code in (204, 304):
            return Response(status_code=code)
        return JSONResponse(
            {"status": "success", "event_id": event["id"], "thread_id": thread_id}, code
        )

    @staticmethod
    def _webhook_auth(request: Request, auth: dict[str, Any]) -> None:
        header = request.headers.get("authorization", "")
        if auth["auth_type"] == "BASIC":
            pair = f"{auth['username'] or ''}:{auth['password'] or ''}".encode()
            if header != "Basic " + base64.b64encode(pair).decode():
                raise detail_error(
                    401, "Invalid webhook credentials", {"WWW-Authenticate": "Basic"}
                )
        elif auth["auth_type"] == "BEARER" and header != f"Bearer {auth['token'] or ''}":
            raise detail_error(401, "Invalid webhook credentials", {"WWW-Authenticate": "Bearer"})
