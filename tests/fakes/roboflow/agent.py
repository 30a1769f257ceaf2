"""The Roboflow fake's workspace agent: chat turns that build workflows, publish, conversations."""

from __future__ import annotations

import json
import re
from copy import deepcopy
from typing import Any

import anyio
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from tests.fakes.base import cut_off_after
from tests.fakes.roboflow.state import (
    BLOCKS,
    CREATE,
    READ,
    UPDATE,
    ApiError,
    ApiKey,
    Conversation,
    Workflow,
    Workspace,
    empty_spec,
    now_iso,
)


class AgentRoutes:
    """The workspace agent API of a FakeRoboflow."""

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
            (b for word, b in BLOCKS.items() if word in message.lower()),
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
