"""The AgentFlow fake's conversation routes: create, list, search, read, delete."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tests.fakes.agentflow.shared import invalid_field


class ConversationRoutes:
    """Conversations and their messages of a FakeAgentFlow."""

    def _conversation_view(self, conv: dict[str, Any]) -> dict[str, Any]:
        return conv | {"message_count": len(self.messages.get(conv["id"], []))}

    async def _create_conversation(self, request: Request) -> Response:
        """Create a conversation."""
        body = await self._body(request)
        if not isinstance(body.get("agent_id"), str):
            raise invalid_field("agent_id", value=body)
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
