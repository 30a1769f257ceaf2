"""AgentFlow's knowledge bases: listing them, and searching one, several, or those bound to
an agent (``/api/v1/knowledge-bases``, ``/{id}/search``, ``/search``, and
``/api/v1/agents/{id}/knowledge-bases/{kb}/search``), hits best first."""

from __future__ import annotations

from typing import Any

from agentdeck.backends.agentflow.api import API, AgentFlowApi, segment
from agentdeck.backends.agentflow.events import text_of
from agentdeck.backends.agentflow.shapes import hit, knowledge_base
from agentdeck.backends.kit import Backend, Page
from agentdeck.platform_model import KnowledgeBase, KnowledgeHit


class AgentFlowKnowledge(Backend):
    """A base class of :class:`~agentdeck.backends.agentflow.backend.AgentFlowBackend`:
    the ``knowledge`` capability, on the backend's one :class:`AgentFlowApi`."""

    api: AgentFlowApi

    async def list_knowledge_bases(self, *, limit: int, cursor: str | None) -> Page[KnowledgeBase]:
        items, next_cursor = await self.api.page(
            f"{API}/knowledge-bases", "knowledge_bases", limit=limit, cursor=cursor, params={}
        )
        return Page[KnowledgeBase](
            items=[knowledge_base(self.name, raw) for raw in items], next_cursor=next_cursor
        )

    async def search_knowledge(
        self,
        query: str,
        *,
        knowledge_base_ids: list[str],
        agent_id: str | None,
        limit: int,
    ) -> list[KnowledgeHit]:
        body = {"query": query, "top_k": limit}
        kb = f"{API}/knowledge-bases"
        if agent_id is not None:
            parent = self.api.top_level(
                agent_id, "AgentFlow binds knowledge bases to top-level agents only.", "Search"
            )
            ids = knowledge_base_ids or [
                text_of(raw, "id", "knowledge_base_id") or "?"
                for raw in await self.api.read_list(
                    "GET", f"{API}/agents/{segment(parent)}/knowledge-bases", "knowledge_bases", {}
                )
            ]
            raws: list[tuple[dict[str, Any], str | None]] = []
            for kb_id in ids:
                path = f"{API}/agents/{segment(parent)}/knowledge-bases/{segment(kb_id)}/search"
                raws += [
                    (r, kb_id) for r in await self.api.read_list("POST", path, "results", {}, body)
                ]
        elif len(knowledge_base_ids) == 1:
            kb_id = knowledge_base_ids[0]
            found = await self.api.read_list(
                "POST", f"{kb}/{segment(kb_id)}/search", "results", {}, body
            )
            raws = [(r, kb_id) for r in found]
        else:
            ids = knowledge_base_ids or [
                text_of(raw, "id") or "?"
                for raw in await self.api.read_list("GET", kb, "knowledge_bases", {})
            ]
            if not ids:
                return []
            found = await self.api.read_list(
                "POST", f"{kb}/search", "results", {}, body | {"knowledge_base_ids": ids}
            )
            raws = [(r, None) for r in found]
        hits = [hit(self.name, raw, kb_id) for raw, kb_id in raws]
        hits.sort(key=lambda h: -(h.score or 0.0))
        return hits[:limit]
