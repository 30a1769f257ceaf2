"""The ``knowledge`` toolset: list knowledge bases and search them, on any backend that can."""

from typing import Annotated

from mcp.server.mcpserver import Context
from pydantic import BaseModel, Field

from agentdeck.backends.base import KnowledgeSearcher
from agentdeck.errors import InvalidInputError
from agentdeck.platform_model import KnowledgeBase, KnowledgeHit
from agentdeck.server.toolkit import Listing, ListResult, Toolbox, deck, list_across, targets
from agentdeck.server.tools import Cursor, Limit, OptionalBackend

toolbox = Toolbox("knowledge", needs="knowledge")


_KNOWLEDGE_BASES: Listing[KnowledgeSearcher, KnowledgeBase] = Listing(
    KnowledgeSearcher,
    "list_knowledge_bases",
    lambda searcher, _, limit, cursor: searcher.list_knowledge_bases(limit=limit, cursor=cursor),
)


class KnowledgeBaseList(ListResult[KnowledgeBase]):
    pass


class KnowledgeSearchResult(BaseModel):
    query: str
    hits: list[KnowledgeHit] = Field(description="Best first, at most `limit`.")


@toolbox.tool(title="List knowledge bases", read_only=True, idempotent=True)
async def list_knowledge_bases(
    ctx: Context, backend: OptionalBackend = None, limit: Limit = 50, cursor: Cursor = None
) -> KnowledgeBaseList:
    """List knowledge bases with their refs (for search_knowledge), from one backend or
    all."""
    return await list_across(
        ctx, KnowledgeBaseList, _KNOWLEDGE_BASES, backend=backend, limit=limit, cursor=cursor
    )


@toolbox.tool(title="Search knowledge", read_only=True, idempotent=True)
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
    if not query.strip():
        raise InvalidInputError("the query is empty; say what to look for.")
    registry = deck(ctx).registry
    groups, agent_id = targets(
        registry,
        KnowledgeSearcher,
        refs=knowledge_bases or [],
        what="knowledge base",
        agent=agent,
        backend=backend,
    )
    hits: list[KnowledgeHit] = []
    for target, ids in groups.values():
        searcher = registry.require(target, KnowledgeSearcher, "search_knowledge")
        hits += await searcher.search_knowledge(
            query, knowledge_base_ids=ids, agent_id=agent_id, limit=limit
        )
    hits.sort(key=lambda h: -(h.score or 0.0))
    return KnowledgeSearchResult(query=query, hits=hits[:limit])
