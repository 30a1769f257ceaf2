"""The AgentFlow fake's knowledge-base routes and their word-count search."""

from __future__ import annotations

import re
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tests.fakes.agentflow.shared import ApiError, invalid_field


class KnowledgeRoutes:
    """Knowledge bases and their search of a FakeAgentFlow."""

    def _search(self, kb_ids: list[str], query: str, top_k: int) -> list[dict[str, Any]]:
        words = re.findall(r"\w+", query.lower())
        results = []
        for kb_id in kb_ids:
            for doc in self.knowledge_bases[kb_id]["documents"]:
                hits = sum(1 for w in words if w in doc["content"].lower())
                if hits:
                    results.append(
                        {
                            "chunk_id": f"{doc['id']}_c0",
                            "document_id": doc["id"],
                            "knowledge_base_id": kb_id,
                            "content": doc["content"],
                            "score": round(hits / len(words), 3),
                            "metadata": doc.get("metadata", {}),
                        }
                    )
        return sorted(results, key=lambda r: -r["score"])[:top_k]

    def _kb_view(self, kb: dict[str, Any]) -> dict[str, Any]:
        view = {k: v for k, v in kb.items() if k != "documents"}
        return view | {"document_count": len(kb["documents"])}

    async def _search_answer(self, request: Request, kb_ids: list[str], **extra: Any) -> Response:
        body = await self._body(request)
        query, top_k = body.get("query"), body.get("top_k", 5)
        if not isinstance(query, str) or not query.strip():
            raise invalid_field("query", value=body)
        if not isinstance(top_k, int) or top_k < 1:
            raise invalid_field("top_k", "Input should be greater than 0", "greater_than", top_k)
        kb_ids = kb_ids or body.get("knowledge_base_ids") or []
        if not isinstance(kb_ids, list) or not kb_ids:
            raise invalid_field("knowledge_base_ids", value=body)
        for kb_id in kb_ids:
            self._lookup(self.knowledge_bases, kb_id, "Knowledge base")
        results = self._search(kb_ids, query, top_k)
        return JSONResponse({"query": query, **extra, "results": results, "total": len(results)})

    async def _list_kbs(self, request: Request) -> Response:
        """List all knowledge bases."""
        kbs = [self._kb_view(kb) for kb in self.knowledge_bases.values()]
        return JSONResponse({"knowledge_bases": kbs, "total": len(kbs)})

    async def _get_kb(self, request: Request) -> Response:
        """Get KB details."""
        kb = self._lookup(self.knowledge_bases, request.path_params["kb_id"], "Knowledge base")
        return JSONResponse(self._kb_view(kb))

    async def _search_kb(self, request: Request) -> Response:
        """Search a knowledge base."""
        kb_id = request.path_params["kb_id"]
        return await self._search_answer(request, [kb_id], knowledge_base_id=kb_id)

    async def _search_kbs(self, request: Request) -> Response:
        """Search across multiple knowledge bases."""
        body = await self._body(request)
        ids = body.get("knowledge_base_ids")
        return await self._search_answer(request, [], knowledge_base_ids=ids)

    async def _agent_kbs(self, request: Request) -> Response:
        """List KBs bound to agent."""
        kb_ids = self.agent_knowledge_bases.get(self._agent(request)["id"], [])
        kbs = [self._kb_view(self.knowledge_bases[k]) for k in kb_ids if k in self.knowledge_bases]
        return JSONResponse({"knowledge_bases": kbs, "total": len(kbs)})

    async def _agent_kb_search(self, request: Request) -> Response:
        """Search KB through agent."""
        agent, kb_id = self._agent(request), request.path_params["kb_id"]
        if kb_id not in self.agent_knowledge_bases.get(agent["id"], []):
            raise ApiError(404, f"Knowledge base {kb_id} is not bound to agent {agent['id']}")
        return await self._search_answer(
            request, [kb_id], agent_id=agent["id"], knowledge_base_id=kb_id
        )
