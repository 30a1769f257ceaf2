"""Sub-agents and agent tools, in the ``agents`` toolset.

Platforms that nest agents (AgentFlow's sub-agents) or let a caller run one of an
agent's tools directly implement the small protocols below; a sub-agent is an agent
with its own ref, so get_agent, update_agent, delete_agent and chat take it too.
"""

from typing import Annotated, Any

from mcp.server.elicitation import ElicitationResult
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.resolve import Resolve
from pydantic import BaseModel, Field

from agentdeck.backends.base import AgentToolRunner, SubagentLister
from agentdeck.model import Agent
from agentdeck.server.client import Confirmation, confirmation_request, require_confirmation
from agentdeck.server.toolkit import NextCursor, Toolbox, reach
from agentdeck.server.tools import AgentRef, Cursor, Limit

toolbox = Toolbox("agents")


class SubagentList(BaseModel):
    items: list[Agent]
    next_cursor: NextCursor = None


class AgentTool(BaseModel):
    name: str = Field(description="Pass as `tool` to run_agent_tool.")
    description: str | None = None
    parameters: dict[str, Any] | None = Field(
        default=None, description="JSON Schema of the tool's arguments."
    )
    requires_approval: bool | None = Field(
        default=None, description="Whether the agent waits for a human before running it in chat."
    )
    details: dict[str, Any] = Field(default_factory=dict)


class AgentToolList(BaseModel):
    agent: str = Field(description="Ref of the agent.")
    items: list[AgentTool]
    next_cursor: NextCursor = None


class AgentToolRun(BaseModel):
    agent: str = Field(description="Ref of the agent.")
    tool: str
    status: str | None = None
    result: Any = None
    details: dict[str, Any] = Field(default_factory=dict)


@toolbox.tool(title="List sub-agents", read_only=True, idempotent=True, needs=SubagentLister)
async def list_subagents(
    ctx: Context, agent: AgentRef, limit: Limit = 50, cursor: Cursor = None
) -> SubagentList:
    """List an agent's sub-agents with their refs, which the agent tools and chat (one
    message per run) take; create_agent with options.parent_agent adds one."""
    lister, _, agent_id = reach(ctx, agent, SubagentLister, "list_subagents")
    page = await lister.list_subagents(agent_id, limit=limit, cursor=cursor)
    return SubagentList(items=page.items, next_cursor=page.next_cursor)


@toolbox.tool(title="List an agent's tools", read_only=True, idempotent=True, needs=AgentToolRunner)
async def list_agent_tools(
    ctx: Context, agent: AgentRef, limit: Limit = 50, cursor: Cursor = None
) -> AgentToolList:
    """List the tools an agent can call, with argument schemas and whether they need
    approval; run_agent_tool runs one."""
    target = reach(ctx, agent, AgentToolRunner, "list_agent_tools")
    page = await target.able.list_agent_tools(target.id, limit=limit, cursor=cursor)
    return AgentToolList(
        agent=target.ref,
        items=[AgentTool(**tool) for tool in page.items],
        next_cursor=page.next_cursor,
    )


async def _confirm_run_agent_tool(agent: str, tool: str, ctx: Context) -> Any:
    return confirmation_request(
        ctx, f"This runs the tool '{tool}' of agent {agent} now; its effects cannot be undone."
    )


@toolbox.tool(title="Run an agent's tool", read_only=False, destructive=True, needs=AgentToolRunner)
async def run_agent_tool(
    ctx: Context,
    agent: AgentRef,
    tool: Annotated[
        str,
        Field(
            min_length=1,
            max_length=200,
            pattern=r"^[^/?#\s]+$",
            description="The tool's name, as list_agent_tools shows it.",
        ),
    ],
    arguments: Annotated[
        dict[str, Any] | None,
        Field(description="The tool's arguments, per its parameters schema."),
    ] = None,
    confirmed: Annotated[ElicitationResult[Confirmation], Resolve(_confirm_run_agent_tool)] = None,  # type: ignore[assignment]
) -> AgentToolRun:
    """Run one of a top-level agent's tools directly, outside a chat, and return its result.
    Its side effects happen, so the user is asked first unless confirm_destructive is
    off."""
    target = reach(ctx, agent, AgentToolRunner, "run_agent_tool")
    require_confirmation(confirmed)
    ran = await target.able.run_agent_tool(target.id, tool, arguments=arguments or {})
    return AgentToolRun(agent=target.ref, tool=tool, **ran)
