"""The ``agents`` toolset: backends and agent CRUD."""

from typing import Annotated, Any

from mcp.server.elicitation import ElicitationResult
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.resolve import Resolve
from pydantic import BaseModel, Field

from agentdeck.backends.base import AgentReader, AgentWriter, ClientModelAnswerer
from agentdeck.errors import InvalidInputError
from agentdeck.model import Agent, AgentChanges, AgentSpec
from agentdeck.registry import BackendInfo
from agentdeck.server.client import Confirmation, confirmation_request, require_confirmation
from agentdeck.server.toolkit import (
    AGENTS,
    ListResult,
    Toolbox,
    backend_as,
    deck,
    list_across,
    reach,
)
from agentdeck.server.tools import (
    AgentRef,
    BackendName,
    Cursor,
    Limit,
    OptionalBackend,
    Options,
    new_name,
)

toolbox = Toolbox("agents")


class BackendList(BaseModel):
    backends: list[BackendInfo]


class AgentList(ListResult[Agent]):
    pass


class Deleted(BaseModel):
    deleted: str = Field(description="Ref of what was deleted.")
    message: str


@toolbox.tool(title="List backends", read_only=True, open_world=False)
async def list_backends(ctx: Context) -> BackendList:
    """List the configured backends: their names (the first part of every ref), platform
    kind, and capabilities (what their agents can do through agentdeck)."""
    registry = deck(ctx).registry
    backends = registry.info()
    for info in backends:
        backend = registry.backends[info.name]
        if isinstance(backend, ClientModelAnswerer):
            info.model = await backend.describe_model()
    return BackendList(backends=backends)


@toolbox.tool(title="List agents", read_only=True, idempotent=True)
async def list_agents(
    ctx: Context, backend: OptionalBackend = None, limit: Limit = 50, cursor: Cursor = None
) -> AgentList:
    """List agents with their refs, from one backend or all. Backends that cannot be
    reached are listed under `failures`."""
    return await list_across(ctx, AgentList, AGENTS, backend=backend, limit=limit, cursor=cursor)


@toolbox.tool(title="Get an agent", read_only=True, idempotent=True)
async def get_agent(ctx: Context, agent: AgentRef) -> Agent:
    """Get one agent in full: instructions (system prompt), model and platform details."""
    reader, _, agent_id = reach(ctx, agent, AgentReader, "get_agent")
    return await reader.get_agent(agent_id)


@toolbox.tool(title="Create an agent", read_only=False, needs="manage_agents")
async def create_agent(
    ctx: Context,
    backend: BackendName,
    name: Annotated[str, Field(min_length=1, max_length=200, description="The agent's name.")],
    instructions: Annotated[
        str | None, Field(description="The system prompt: who the agent is and how it works.")
    ] = None,
    model: Annotated[
        str | None, Field(description="The model the agent runs on, as its platform names it.")
    ] = None,
    description: Annotated[str | None, Field(description="What the agent is for.")] = None,
    options: Options = None,
) -> Agent:
    """Create an agent on a backend and return it with its ref."""
    writer = backend_as(ctx, backend, AgentWriter, "create_agent")
    spec = AgentSpec(
        name=new_name(name, "agent", backend),
        instructions=instructions,
        model=model,
        description=description,
        options=options or {},
    )
    created = await writer.create_agent(spec)
    await deck(ctx).agent_tools.refresh(backend)
    return created


@toolbox.tool(title="Update an agent", read_only=False, idempotent=True, needs="manage_agents")
async def update_agent(
    ctx: Context,
    agent: AgentRef,
    name: Annotated[
        str | None, Field(min_length=1, max_length=200, description="The new name.")
    ] = None,
    instructions: Annotated[str | None, Field(description="The new system prompt.")] = None,
    model: Annotated[str | None, Field(description="The new model.")] = None,
    description: Annotated[str | None, Field(description="The new description.")] = None,
    options: Options = None,
) -> Agent:
    """Change some of an agent's fields (the ones left out stay) and return the agent."""
    writer, backend, agent_id = reach(ctx, agent, AgentWriter, "update_agent")
    changes = AgentChanges(
        name=name,
        instructions=instructions,
        model=model,
        description=description,
        options=options or {},
    )
    if changes.is_empty():
        raise InvalidInputError(
            "nothing to change: pass at least one of name, instructions, model, "
            "description or options.",
            backend=backend,
        )
    updated = await writer.update_agent(agent_id, changes)
    await deck(ctx).agent_tools.refresh(backend)
    return updated


async def _confirm_delete_agent(agent: str, ctx: Context) -> Any:
    return confirmation_request(ctx, f"This permanently deletes the agent {agent}.")


@toolbox.tool(
    title="Delete an agent",
    read_only=False,
    destructive=True,
    idempotent=True,
    needs="manage_agents",
)
async def delete_agent(
    ctx: Context,
    agent: AgentRef,
    confirmed: Annotated[ElicitationResult[Confirmation], Resolve(_confirm_delete_agent)] = None,  # type: ignore[assignment]
) -> Deleted:
    """Delete an agent permanently (its conversations may remain on the platform). The user
    is asked first unless confirm_destructive is off."""
    target = reach(ctx, agent, AgentWriter, "delete_agent")
    require_confirmation(confirmed)
    await target.able.delete_agent(target.id)
    await deck(ctx).agent_tools.refresh(target.backend)
    return Deleted(deleted=target.ref, message=f"Agent {target.ref} was deleted.")


class Refreshed(BaseModel):
    changed: bool = Field(description="Whether the set of agent tools changed.")
    agent_tools: list[str] = Field(description="The per-agent tools now served.")


def _exposes_agents(cls: type, backend_settings: Any) -> bool:
    return bool(backend_settings.expose_agents) and issubclass(cls, AgentReader)


@toolbox.tool(title="Refresh agent tools", read_only=True, idempotent=True, needs=_exposes_agents)
async def refresh_agents(ctx: Context, backend: OptionalBackend = None) -> Refreshed:
    """Re-read the agents of backends with expose_agents and update the per-agent tools
    (named <backend>_<agent>); clients are told when the set changes."""
    state = deck(ctx)
    if backend is not None:
        state.registry.get(backend)
    changed = await state.agent_tools.refresh(backend)
    return Refreshed(changed=changed, agent_tools=state.agent_tools.names())
