"""How long a task has kept the event loop to itself, and a yield once that is too long.

A run reads its backend's events in a loop. A stream that yields events without
awaiting (the echo model, a large buffered read) never gives the loop a turn, so the
run's followers and every other call would wait for it. Counting from the last yield
of the run's own is not enough: a stream that waited 20 ms for the model's next token
gave the loop its turns meanwhile, and yielding once more only sends the run to the
back of the queue. The loop is known to have had a turn when a callback scheduled
with ``call_soon`` has run: the loop runs callbacks only while no task is running.
"""

from __future__ import annotations

import asyncio
import time

import anyio.lowlevel


class LoopHold:
    """Yields the loop when the calling task has held it for ``limit`` seconds."""

    def __init__(self, limit: float) -> None:
        self._limit = limit
        self._loop = asyncio.get_running_loop()
        self._since = 0.0
        self._asked = False  # a callback is scheduled and has not run yet

    def _turn(self) -> None:
        self._asked = False

    async def bound(self) -> None:
        """Give the loop a turn if it had none for ``limit`` seconds; else return at once."""
        now = time.monotonic()
        if not self._asked:
            # the loop had a turn since the last call (or this is the first): the task
            # holds it from about now; the callback tells when it had the next one
            self._since = now
            self._asked = True
            self._loop.call_soon(self._turn)
        elif now - self._since >= self._limit:
            await anyio.lowlevel.checkpoint()
