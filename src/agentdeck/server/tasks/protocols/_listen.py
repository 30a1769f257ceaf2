"""``notifications/tasks`` on ``subscriptions/listen`` (the 2026-07-28 tasks extension).

A client that declared the extension may name tasks in the listen filter
(``notifications.taskIds``). The acknowledgement lists the ones it will hear about —
its own tasks that exist, up to ``MOST_TASKS``; any other id is left out, as if it
never existed — and the stream then carries a ``notifications/tasks`` (the
``DetailedTask`` ``tasks/get`` would answer) for each of them at once and whenever its
status changes, up to its end. The watching runs inside the listen request, so a client
that goes away (which cancels the request) leaves nothing behind.

The SDK's listen handler still serves the stream (list changes, resource updates):
this wraps it, so a filter without ``taskIds`` is served exactly as the SDK does.
A listened task is read every ``WATCH_SECONDS``, the way ``tasks/get`` reads it: that
sees every change, a run on another replica and an answered pause included, where a
run's own events would miss both.
"""

from __future__ import annotations

from typing import Any, Literal, cast

import anyio
import mcp.types as types
from mcp.server.context import ServerRequestContext
from mcp.server.mcpserver import require_client_extension
from mcp.shared.exceptions import MCPError
from mcp.shared.subscriptions import SUBSCRIPTION_ID_META_KEY

from agentdeck.server.sdk_seams import ListenHandler, amend_acknowledgement
from agentdeck.server.tasks import TaskBook
from agentdeck.server.tasks.protocols._modern import IDENTIFIER, detailed_task
from agentdeck.server.tasks.protocols._shared import caller, deck_of

#: How often a listened task is read for a change of status, in seconds.
WATCH_SECONDS = 0.25
#: The most tasks one stream listens to; further ids are not honored.
MOST_TASKS = 32


class TaskStatusNotification(types.Notification[dict[str, Any], Literal["notifications/tasks"]]):
    method: Literal["notifications/tasks"] = "notifications/tasks"


def with_tasks(sdk_listen: ListenHandler) -> ListenHandler:
    """``subscriptions/listen``: the SDK's handler, plus the listened tasks' status."""

    async def listen(
        ctx: ServerRequestContext[Any, Any], params: types.SubscriptionsListenRequestParams
    ) -> types.SubscriptionsListenResult:
        asked = (params.notifications.model_extra or {}).get("taskIds")
        if asked is None:
            return await sdk_listen(ctx, params)
        require_client_extension(ctx, IDENTIFIER)
        if not isinstance(asked, list):
            raise MCPError(code=types.INVALID_PARAMS, message="taskIds must be a list of task ids")
        book, owner = deck_of(ctx).tasks, caller(ctx)
        wanted = [task_id for task_id in dict.fromkeys(asked) if isinstance(task_id, str)]
        honored = [t for t in wanted[:MOST_TASKS] if await book.get(owner, t) is not None]
        acknowledged = anyio.Event()
        amended = amend_acknowledgement(ctx, {"taskIds": honored}, acknowledged)
        async with anyio.create_task_group() as watching:
            watching.start_soon(_watch, ctx, book, owner, list(honored), acknowledged)
            result = await sdk_listen(amended, params)
            watching.cancel_scope.cancel()
        return result

    return listen


async def _watch(
    ctx: ServerRequestContext[Any, Any],
    book: TaskBook,
    owner: str,
    task_ids: list[str],
    acknowledged: anyio.Event,
) -> None:
    """Send each task's state after the acknowledgement and at each change of status
    (or of the pauses it waits on), until every task ended or expired."""
    meta = {SUBSCRIPTION_ID_META_KEY: ctx.request_id}
    told: dict[str, tuple[Any, ...]] = {}
    await acknowledged.wait()
    while task_ids:
        for task_id in list(task_ids):
            state = await book.get(owner, task_id)
            if state is None or state.terminal:
                task_ids.remove(task_id)  # past its TTL, or nothing more to tell
            if state is None:
                continue
            task = detailed_task(state)
            seen = (state.status, *task.get("inputRequests", ()))
            if told.get(task_id) != seen:
                told[task_id] = seen
                notification = TaskStatusNotification(params={**task, "_meta": meta})
                # the SDK types its notifications as a closed union; this one is sent as is
                await ctx.session.send_notification(
                    cast(types.ServerNotification, notification), related_request_id=ctx.request_id
                )
        if task_ids:
            await anyio.sleep(WATCH_SECONDS)
