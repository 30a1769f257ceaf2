"""Leases: which of the server processes sharing a database are alive.

Every agentdeck process — a replica on PostgreSQL, or one of several processes on one
SQLite file — holds a lease in the ``replicas`` table and renews it every third of
``[server] lease_seconds``; each run it starts carries its id as the run's owner. A
process that stopped renewing is taken as stopped and its running runs are failed, so a
killed process leaves no run ``running`` for much longer than a lease.

Three rules keep a live process's runs from being failed by mistake, or flipped:

- leases are measured with the database's clock (``now()`` in the SQL), never with a
  process's own;
- a process judges the others only once it has itself renewed without a gap for a full
  lease. When the database was out of reach for everyone (stopped, restarted, cut off),
  every lease ran out meanwhile; the first process back gives the others a lease's time
  to renew before it takes them for stopped;
- a run's end is written only while its row is still ``running`` (the stores' SQL never
  changes a final row). A process cut off for longer than its lease knows it may have
  lost its runs: if another process failed them meanwhile, its own ending of them is
  refused and it reports them failed too (:mod:`agentdeck.runs._ends`).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Protocol

import anyio

from agentdeck.notices import FOR_CLIENT

logger = logging.getLogger("agentdeck.leases")

#: the error of runs whose process stopped renewing its lease
REPLICA_STOPPED = "the replica running this chat stopped; send the message again."
#: longest the lease is given back for when the process stops
_DROP_TIMEOUT = 5.0


class LeaseStore(Protocol):
    """The lease table of a store (both stores have one)."""

    async def renew_lease(self, replica: str, seconds: float) -> None: ...

    async def drop_lease(self, replica: str) -> None: ...

    async def fail_runs_of_expired_replicas(self, error: str) -> list[str]: ...


class Lease:
    """This process's lease: renewed in the background, given back at exit."""

    def __init__(self, store: LeaseStore, seconds: float) -> None:
        self.replica = uuid.uuid4().hex
        self.seconds = seconds
        self._store = store
        self._renewed = time.monotonic()
        #: start of the current gap-free run of renewals; None right after a failed one
        self._healthy_since: float | None = None
        self._lapse_reported = False

    @classmethod
    @asynccontextmanager
    async def keep(cls, store: LeaseStore, seconds: float) -> AsyncIterator[Lease]:
        """Take the lease and keep it until exit; then give it back."""
        lease = cls(store, seconds)
        await lease._renew()  # a failure is retried in the background: never fatal
        async with anyio.create_task_group() as group:
            group.start_soon(lease._keep)
            try:
                yield lease
            finally:
                group.cancel_scope.cancel()
                with anyio.CancelScope(shield=True), anyio.move_on_after(_DROP_TIMEOUT):
                    try:
                        await store.drop_lease(lease.replica)
                    except Exception as exc:
                        logger.warning("giving the lease back failed: %s", exc)

    @property
    def lapsed(self) -> bool:
        """Whether the last renewal is older than a lease: others may have failed our runs."""
        return time.monotonic() - self._renewed > self.seconds

    async def _keep(self) -> None:
        while True:
            await anyio.sleep(self.seconds / 3)
            if await self._renew() and self._judging():
                await fail_left_running(
                    self._store.fail_runs_of_expired_replicas,
                    REPLICA_STOPPED,
                    whose="processes that stopped",
                )

    def _judging(self) -> bool:
        """Whether this process has renewed without a gap for a full lease."""
        since = self._healthy_since
        return since is not None and time.monotonic() - since >= self.seconds

    async def _renew(self) -> bool:
        """Renew once, bounded by a third of the lease (a hung connection is a failure)."""
        failure: str | None = "it took longer than a third of the lease"
        with anyio.move_on_after(self.seconds / 3):
            try:
                await self._store.renew_lease(self.replica, self.seconds)
                failure = None
            except Exception as exc:
                failure = str(exc) or type(exc).__name__
        now = time.monotonic()
        if failure is None:
            self._renewed = now
            if self._healthy_since is None:
                self._healthy_since = now
            if self._lapse_reported:
                logger.warning("the lease is renewed again", extra=FOR_CLIENT)
                self._lapse_reported = False
            return True
        self._healthy_since = None
        if self.lapsed and not self._lapse_reported:
            self._lapse_reported = True
            logger.warning(
                "the lease could not be renewed for %.0f s (%s): other processes may take "
                "this one's running chats as stopped; their ends are written only if not",
                now - self._renewed,
                failure,
                extra=FOR_CLIENT,
            )
        else:
            logger.info("renewing the lease failed: %s", failure)
        return False


async def fail_left_running(
    fail: Callable[[str], Awaitable[int | list[str]]], error: str, *, whose: str
) -> None:
    """Fail with ``error`` the runs that ``whose`` left ``running`` (they can never
    finish), through ``fail`` (a store method that says how many, or which), and log how
    many. A database that does not answer is logged, not raised: the next attempt (the
    next renewal, the next process) tries again."""
    try:
        failed = await fail(error)
    except Exception as exc:
        logger.warning("failing the runs %s left running failed: %s", whose, exc)
        return
    count = failed if isinstance(failed, int) else len(failed)
    if count:
        logger.warning("failed %d runs %s left running", count, whose)
