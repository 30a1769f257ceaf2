"""A run reading its events gives the event loop a turn when, and only when, it has
kept the loop to itself for too long (runs/_loop_hold.py)."""

import time

import anyio
import anyio.lowlevel
import pytest

from agentdeck.runs._loop_hold import LoopHold

pytestmark = pytest.mark.anyio

LIMIT = 0.01


async def test_a_task_that_never_awaits_lets_others_run_every_limit() -> None:
    """20 ms of events that never await: a task ready all along runs in between."""
    ticks: list[None] = []

    async def ticker() -> None:
        while True:
            ticks.append(None)
            await anyio.lowlevel.checkpoint()

    async with anyio.create_task_group() as group:
        hold = LoopHold(LIMIT)
        group.start_soon(ticker)
        started = time.monotonic()
        while time.monotonic() - started < 0.02:
            await hold.bound()  # one "event" a moment, no await of its own
        spun = len(ticks)
        group.cancel_scope.cancel()
    assert spun >= 1, "the ticker never ran while the events were read"
    assert spun <= 3, f"the loop was given {spun} turns in 20 ms, not one per {LIMIT} s"


async def test_a_task_that_waited_is_not_made_to_yield_again() -> None:
    """A stream that waited for the model (the loop had its turns meanwhile) is read on
    without a yield: the task ready meanwhile has not run when bound() returns."""
    ran: list[str] = []

    async def ready() -> None:
        ran.append("ran")

    hold = LoopHold(LIMIT)
    await anyio.sleep(LIMIT * 2)  # the model thinks; other tasks could run
    async with anyio.create_task_group() as group:
        group.start_soon(ready)
        await hold.bound()
        assert ran == [], "bound() yielded although the loop had its turn a moment ago"
