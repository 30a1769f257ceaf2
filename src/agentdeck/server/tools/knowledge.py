"""The ``knowledge`` toolset: list knowledge bases and search them, on any backend that can."""

from typing import Annotated

from mcp.server.mcpserver import Context
from pydantic import BaseModel, Field

from agentdeck.backends.base import Backend, KnowledgeSearcher
from agentdeck.errors import InvalidInputError
from agentdeck.model import KnowledgeBase, KnowledgeHit
from agentdeck.server.listing import ListResult, list_across
from agentdeck.server.params import Cursor, Limit, OptionalBackend
from agentdeck.server.toolkit import Toolbox, deck, reported

toolbox = Toolbox()


class KnowledgeBaseList(ListResult):
    items: list[KnowledgeBase]  # type: ignore[assignment]


class KnowledgeSearchResult(BaseModel):
    query: str
    hits: list[KnowledgeHit] = Field(description="Best first, at most `limit`.")


@toolbox.tool(
    toolset="knowledge",
    title="List knowledge bases",
    read_only=True,
    idempotent=True,
    needs="knowledge",
)
async def list_knowledge_bases(
    ctx: Context,
    backend: OptionalBackend = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> KnowledgeBaseList:
    """List knowledge bases with their refs (for search_knowledge), from one backend or
    all."""
    with reported():
        result = await list_across(
            deck(ctx).registry,
            capability="knowledge",
            backend=backend,
            limit=limit,
            cursor=cursor,
            fetch=lambda b, n, c: b.list_knowledge_bases(limit=n, cursor=c),
            operation="list_knowledge_bases",
        )
        return KnowledgeBaseList(**result.model_dump(exclude={"items"}), items=result.items)


@toolbox.tool(
    toolset="knowledge",
    title="Search knowledge",
    read_only=True,
    idempotent=True,
    needs="knowledge",
)
async def search_knowledge(
    ctx: Context,
    query: Annotated[str, Field(min_length=1, max_length=2000, description="What to look for.")],
    knowledge_bases: Annotated[
        list[str] | None,
        Field(
            max_length=50,
            description="Refs of the knowledge bases to search, as list_knowledge_bases shows "
            "them (one or several).",
        ),
    ] = None,
    agent: Annotated[
        str | None,
        Field(
            description="Search through this agent's bound knowledge bases (its ref); with "
            "knowledge_bases, only those of them."
        ),
    ] = None,
    backend: Annotated[
        str | None,
        Field(description="Search all knowledge bases of this backend (its name)."),
    ] = None,
    limit: Annotated[int, Field(ge=1, le=50, description="How many hits at most (1-50).")] = 10,
) -> KnowledgeSearchResult:
    """Search knowledge bases for passages that answer `query`: those in `knowledge_bases`,
    those bound to `agent`, all of `backend`'s, or, with none of these, every backend's.
    Hits come best first with their source."""
    with reported():
        if not query.strip():
            raise InvalidInputError("the query is empty; say what to look for.")
        registry = deck(ctx).registry
        agent_id = None
        groups: dict[str, tuple[Backend, list[str]]] = {}
        if agent is not None:
            agent_backend, agent_id = registry.resolve(agent)
            groups[agent_backend.name] = (agent_backend, [])
        for ref in dict.fromkeys(knowledge_bases or []):
            kb_backend, kb_id = registry.resolve(ref, what="knowledge base")
            if agent_id is not None and kb_backend.name not in groups:
                raise InvalidInputError(
                    f"the knowledge base '{ref}' is not on the agent's backend; search an "
                    "agent's knowledge bases on its own backend."
                )
            groups.setdefault(kb_backend.name, (kb_backend, []))[1].append(kb_id)
        if backend is not None:
            if groups and set(groups) != {backend}:
                raise InvalidInputError(
                    f"the agent or knowledge bases given are not on backend '{backend}'; "
                    "pass refs or a backend, not both."
                )
            groups.setdefault(backend, (registry.get(backend), []))
        if not groups:
            groups = {
                name: (searcher, [])
                for name, searcher in registry.backends.items()
                if isinstance(searcher, KnowledgeSearcher)
            }
        hits: list[KnowledgeHit] = []
        for target, ids in groups.values():
            searcher: KnowledgeSearcher = registry.require(target, "knowledge", "search_knowledge")
            hits += await searcher.search_knowledge(
                query, knowledge_base_ids=ids, agent_id=agent_id, limit=limit
            )
        hits.sort(key=lambda h: -(h.score or 0.0))
        return KnowledgeSearchResult(query=query, hits=hits[:limit])
