"""The ``triggers`` toolset: webhook triggers that send a message to an agent when called."""

from typing import Annotated, Any

from mcp.server.elicitation import ElicitationResult
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.resolve import Resolve
from pydantic import BaseModel, Field

from agentdeck.backends.base import TriggerManager
from agentdeck.platform_model import Trigger, TriggerEvent
from agentdeck.server.client import Confirmation, confirmation_request, require_confirmation
from agentdeck.server.toolkit import (
    Listing,
    ListResult,
    NextCursor,
    Toolbox,
    list_across,
    reach,
)
from agentdeck.server.tools import AgentRef, Cursor, Limit, OptionalBackend
from agentdeck.server.tools.agents import Deleted

toolbox = Toolbox("triggers", needs="triggers")

TriggerRef = Annotated[
    str,
    Field(description="Ref of the trigger, '<backend>:<id>', from list_triggers."),
]
TriggerOptions = Annotated[
    dict[str, Any],
    # Described per configuration from the backends' declared options (``server._surface``).
    Field(description="The trigger's settings."),
]
Payload = Annotated[
    Any,
    Field(
        description=(
            "What to send to the webhook: any JSON value (sent as the body; a GET trigger "
            "takes an object of plain values, sent as query parameters). Omit for none."
        )
    ),
]


_TRIGGERS: Listing[TriggerManager, Trigger] = Listing(
    TriggerManager,
    "list_triggers",
    lambda manager, agent_id, limit, cursor: manager.list_triggers(
        agent_id=agent_id, limit=limit, cursor=cursor
    ),
)


class TriggerList(ListResult[Trigger]):
    pass


class TriggerEventList(BaseModel):
    trigger: str = Field(description="Ref of the trigger.")
    items: list[TriggerEvent]
    next_cursor: NextCursor = None


class TriggerInvocation(BaseModel):
    trigger: str = Field(description="Ref of the trigger that was called.")
    method: str | None = None
    status_code: int | None = Field(default=None, description="What the webhook answered.")
    response: Any = Field(default=None, description="The webhook's answer body.")


@toolbox.tool(title="List triggers", read_only=True, idempotent=True)
async def list_triggers(
    ctx: Context,
    backend: OptionalBackend = None,
    agent: Annotated[str | None, Field(description="Only this agent's triggers (its ref).")] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> TriggerList:
    """List triggers (webhooks that message an agent) with their refs, method, auth type and
    path, from one agent, one backend or all."""
    return await list_across(
        ctx, TriggerList, _TRIGGERS, backend=backend, agent=agent, limit=limit, cursor=cursor
    )


@toolbox.tool(title="Create a trigger", read_only=False)
async def create_trigger(ctx: Context, agent: AgentRef, options: TriggerOptions) -> Trigger:
    """Create a webhook trigger on an agent: calling the webhook sends the agent the
    trigger's message. Returns the trigger's ref and the path to call."""
    manager, _, agent_id = reach(ctx, agent, TriggerManager, "create_trigger")
    return await manager.create_trigger(agent_id, options)


@toolbox.tool(title="Update a trigger", read_only=False, idempotent=True)
async def update_trigger(ctx: Context, trigger: TriggerRef, options: TriggerOptions) -> Trigger:
    """Change some of a trigger's settings (the ones left out stay; a new auth_type needs
    its credentials). Its path stays the same."""
    manager, _, trigger_id = reach(ctx, trigger, TriggerManager, "update_trigger", what="trigger")
    return await manager.update_trigger(trigger_id, options)


async def _confirm_delete_trigger(trigger: str, ctx: Context) -> Any:
    return confirmation_request(
        ctx, f"This permanently deletes the trigger {trigger}; its webhook stops working."
    )


@toolbox.tool(title="Delete a trigger", read_only=False, destructive=True, idempotent=True)
async def delete_trigger(
    ctx: Context,
    trigger: TriggerRef,
    confirmed: Annotated[ElicitationResult[Confirmation], Resolve(_confirm_delete_trigger)] = None,  # type: ignore[assignment]
) -> Deleted:
    """Delete a trigger permanently: its webhook stops working. The user is asked first
    unless confirm_destructive is off."""
    target = reach(ctx, trigger, TriggerManager, "delete_trigger", what="trigger")
    require_confirmation(confirmed)
    await target.able.delete_trigger(target.id)
    return Deleted(deleted=target.ref, message=f"Trigger {target.ref} was deleted.")


@toolbox.tool(title="List trigger events", read_only=True, idempotent=True)
async def list_trigger_events(
    ctx: Context, trigger: TriggerRef, limit: Limit = 20, cursor: Cursor = None
) -> TriggerEventList:
    """List the calls a trigger received, newest first: when, status, payload and the
    conversation the agent answered in."""
    target = reach(ctx, trigger, TriggerManager, "list_trigger_events", what="trigger")
    page = await target.able.list_trigger_events(target.id, limit=limit, cursor=cursor)
    return TriggerEventList(trigger=target.ref, items=page.items, next_cursor=page.next_cursor)


@toolbox.tool(title="Invoke a trigger", read_only=False)
async def invoke_trigger(
    ctx: Context, trigger: TriggerRef, payload: Payload = None
) -> TriggerInvocation:
    """Call a trigger's webhook as an outside system would (its method and credentials):
    the agent is sent the trigger's message. Returns the webhook's answer. Never retried."""
    target = reach(ctx, trigger, TriggerManager, "invoke_trigger", what="trigger")
    answer = await target.able.invoke_trigger(target.id, payload)
    return TriggerInvocation(
        trigger=answer.get("trigger") or target.ref,
        method=answer.get("method"),
        status_code=answer.get("status_code"),
        response=answer.get("response"),
    )
