"""AgenticFlow's webhook triggers: the half of the backend that manages them, and what
both halves share (the API key requirement, the ids). Routes: ``/agents/{id}/triggers``,
``/agents/triggers/{trigger_id}``, ``/agents/{id}/triggers/{trigger_id}/events`` and
``{METHOD} /agents/webhook/{path}/trigger``.

Reading a trigger returns its credentials: update sends them back (the route replaces the
whole trigger) and invoke uses them; they never appear in results, and every error of a
call that carried them is worded without them (the ``secrets`` the backend's ``explain``
takes). Invoking a webhook is never retried once sent, whatever its method: each call
starts an agent task, and a repeat would start another.
"""

from __future__ import annotations

import base64
from typing import Any

from agentdeck.backends.agenticflow.api import agent_rows, api_root, items, platform_id
from agentdeck.backends.agenticflow.auth import WITHOUT_KEY
from agentdeck.backends.agenticflow.settings import AgenticFlowSettings
from agentdeck.backends.agenticflow.trigger_schema import (
    check_trigger_options,
    query_payload,
    secrets_of,
    trigger_body,
    trigger_event,
    trigger_result,
)
from agentdeck.backends.kit import (
    AuthenticationError,
    Backend,
    InvalidInputError,
    Page,
    ProtocolError,
    UnsupportedError,
    make_ref,
    offset_cursor,
    parse_offset,
)
from agentdeck.platform_model import Trigger, TriggerEvent

_LIST_ALL_TRIGGERS_MAX_AGENTS = 500
_MAX_WEBHOOK_ANSWER = 1_000_000


class AgenticFlowTriggers(Backend):
    """The base class of :class:`~agentdeck.backends.agenticflow.backend.AgenticFlowBackend`:
    its trigger methods (``TriggerManager``) and the checks every method makes first."""

    settings: AgenticFlowSettings

    @property
    def has_key(self) -> bool:
        return self.settings.api_key is not None

    def _id(self, value: str, what: str) -> str:
        return platform_id(value, what, backend=self.name)

    def _need_key(self, operation: str) -> None:
        if not self.has_key:
            raise UnsupportedError(
                f"{operation} needs an API key, and backend '{self.name}' has none.",
                backend=self.name,
                hint="Set `api_key` in its config; without one only public agents can be "
                "read (get_agent) and chatted with.",
            )

    async def _delete(self, what: str, item_id: str, collection: str) -> None:
        """Delete the agent or trigger ``item_id`` of ``collection``: one keyed request."""
        self._need_key(f"delete_{what}")
        item_id = self._id(item_id, what)
        path = f"{collection}/{item_id}"
        await self.http.request("DELETE", path, operation=f"delete {what} {item_id}")

    def _trigger(self, data: dict[str, Any]) -> Trigger:
        return trigger_result(data, backend=self.name, api_root=api_root(self.settings))

    async def _get_trigger(self, trigger_id: str) -> dict[str, Any]:
        trigger_id = self._id(trigger_id, "trigger")
        path = f"/agents/triggers/{trigger_id}"
        data = await self.http.request("GET", path, operation=f"get trigger {trigger_id}")
        if not isinstance(data, dict):
            raise ProtocolError(f"get trigger {trigger_id} answered no trigger.", backend=self.name)
        return data

    async def _agent_triggers(self, agent_id: str) -> list[dict[str, Any]]:
        path = f"/agents/{agent_id}/triggers"
        operation = f"list triggers of agent {agent_id}"
        return items(await self.http.request("GET", path, operation=operation))

    async def list_triggers(
        self, *, agent_id: str | None, limit: int, cursor: str | None
    ) -> Page[Trigger]:
        self._need_key("list_triggers")
        offset = parse_offset(cursor)
        if agent_id is not None:
            rows = await self._agent_triggers(self._id(agent_id, "agent"))
        else:
            # Triggers are listed per agent: walk the project's agents.
            rows, page = [], 100
            for start in range(0, _LIST_ALL_TRIGGERS_MAX_AGENTS, page):
                agents = await agent_rows(
                    self.http, self.settings, limit=page, offset=start, search=None
                )
                for agent in agents:
                    rows.extend(await self._agent_triggers(self._id(str(agent["id"]), "agent")))
                if len(agents) < page:
                    break
        window = rows[offset : offset + limit + 1]
        return Page[Trigger](
            items=[self._trigger(r) for r in window[:limit]],
            next_cursor=offset_cursor(offset, limit, len(window)),
        )

    async def create_trigger(self, agent_id: str, options: dict[str, Any]) -> Trigger:
        self._need_key("create_trigger")
        agent_id = self._id(agent_id, "agent")
        body = trigger_body(options, backend=self.name)
        data = await self.http.request(
            "POST", f"/agents/{agent_id}/triggers", operation=f"create a trigger on agent {agent_id}",
            json=body, context={"secrets": secrets_of(body)},
        )  # fmt: skip
        return self._trigger(data)

    async def update_trigger(self, trigger_id: str, options: dict[str, Any]) -> Trigger:
        self._need_key("update_trigger")
        if not options:
            raise InvalidInputError(
                "nothing to change: pass the trigger options to change.", backend=self.name
            )
        check_trigger_options(options, backend=self.name)  # before the lookup
        current = await self._get_trigger(trigger_id)
        body = trigger_body(options, backend=self.name, current=current)
        trigger_id = self._id(trigger_id, "trigger")
        data = await self.http.request(
            "PUT", f"/agents/triggers/{trigger_id}", operation=f"update trigger {trigger_id}",
            json=body, context={"secrets": secrets_of(body)},
        )  # fmt: skip
        return self._trigger(data)

    async def delete_trigger(self, trigger_id: str) -> None:
        await self._delete("trigger", trigger_id, "/agents/triggers")

    async def list_trigger_events(
        self, trigger_id: str, *, limit: int, cursor: str | None
    ) -> Page[TriggerEvent]:
        self._need_key("list_trigger_events")
        offset = parse_offset(cursor)
        trigger = await self._get_trigger(trigger_id)  # the events route needs the agent id
        path = f"/agents/{trigger.get('agent_id')}/triggers/{trigger.get('id')}/events"
        params = {"limit": limit + 1, "offset": offset}
        operation = f"list events of trigger {trigger_id}"
        rows = items(await self.http.request("GET", path, params=params, operation=operation))
        return Page[TriggerEvent](
            items=[trigger_event(r) for r in rows[:limit]],
            next_cursor=offset_cursor(offset, limit, len(rows)),
        )

    async def invoke_trigger(self, trigger_id: str, payload: Any) -> dict[str, Any]:
        self._need_key("invoke_trigger")
        trigger = await self._get_trigger(trigger_id)
        config = trigger.get("trigger_config") or {}
        auth = config.get("auth_config") or {}
        method = str(config.get("method") or "POST").upper()
        path = config.get("path")
        if not path:
            raise ProtocolError(
                f"trigger {trigger_id} has no webhook path to invoke.", backend=self.name
            )
        headers = {WITHOUT_KEY: "1"}
        secrets = secrets_of({"trigger_config": config})
        if auth.get("auth_type") == "BASIC":
            pair = f"{auth.get('username') or ''}:{auth.get('password') or ''}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
        elif auth.get("auth_type") == "BEARER":
            headers["Authorization"] = f"Bearer {auth.get('token') or ''}"
        params: dict[str, Any] | None = None
        body: Any = payload
        if method == "GET":
            params, body = query_payload(payload, backend=self.name), None
        operation = f"invoke trigger {trigger_id}"
        try:
            # Never repeated once it reached the server (not even a GET): no duplicate task.
            # A long answer is cut, not refused: the trigger has fired either way.
            reply = await self.http.exchange(
                method, f"/agents/webhook/{path}/trigger",
                params=params, json=body, headers=headers, operation=operation,
                max_bytes=_MAX_WEBHOOK_ANSWER, truncate=True, repeatable=False,
                context={"secrets": secrets},
            )  # fmt: skip
        except AuthenticationError as exc:
            raise AuthenticationError(
                f"{operation}: the webhook rejected the trigger's own credentials "
                f"(auth_type {auth.get('auth_type')}).",
                backend=self.name,
                hint="Set them again with update_trigger (username/password or token).",
                status=exc.status,
            ) from exc
        answer = reply.decoded(operation, backend=self.name, strict=False)
        return {
            "trigger": make_ref(self.name, str(trigger.get("id"))),
            "method": method,
            "status_code": reply.status,
            "response": answer[:2000] if isinstance(answer, str) else answer,
        }
