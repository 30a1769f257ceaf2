"""The SQLite store's connection, and what every statement goes through.

No call waits on the event loop. A statement runs in place, on the loop: a few to a
few tens of microseconds on a local file, where a hop to a worker thread costs more
(0.1–0.2 ms on a busy machine, and a chat makes several calls). What could wait:

- another program (a second agentdeck on the same file, a DB browser, a backup)
  holding the file's write lock. The busy timeout is 0, so such a statement fails at
  once, and :meth:`SqliteConnection._run` tries it again after an async sleep (other
  calls go on meanwhile; in WAL mode a writer does not block reads) until
  ``[server] database_wait_seconds`` have passed; then that call alone fails with
  :class:`~agentdeck.errors.DatabaseLocked`.
- a WAL checkpoint, which copies the log into the file and syncs it to disk. SQLite
  does it in whichever commit fills the log; here that is off, and every
  :data:`_CHECKPOINT_EVERY` commits one starts in a worker thread, on a connection of
  its own; no call waits for it.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import closing
from typing import Any, TypeVar

import anyio

from agentdeck.errors import DatabaseError, DatabaseLocked
from agentdeck.store.shared import LOCKED_HINT

logger = logging.getLogger("agentdeck.store")
T = TypeVar("T")
_LOCKED_CODES = (5, 6)  # SQLITE_BUSY, SQLITE_LOCKED: another connection holds the lock
#: how long a locked statement's retries sleep: doubling from the first, up to the last
_FIRST_RETRY, _LONGEST_RETRY = 0.002, 0.1
#: how long opening (and migrating) the file waits for another program's lock
_OPEN_WAIT_MS = 5000
#: commits between two checkpoints (SQLite's own default is a log of 1,000 pages)
_CHECKPOINT_EVERY = 250


class SqliteConnection:
    """Statements on one SQLite connection, none of them waiting on the loop."""

    def __init__(self, path: str, location: str, wait_seconds: float) -> None:
        self.location = location
        self._path = path
        self._wait_seconds = wait_seconds
        self._commits = 0
        self._checkpoints = ThreadPoolExecutor(1, thread_name_prefix="agentdeck-checkpoint")
        self._checkpointing: Future[None] | None = None
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.row_factory = sqlite3.Row
        # first: another process may hold it (opening happens before serving)
        self._db.execute(f"PRAGMA busy_timeout={_OPEN_WAIT_MS}")
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")

    def _serve(self) -> None:
        """From here on, never wait on the loop (see the module's docstring)."""
        self._db.execute("PRAGMA busy_timeout=0")
        self._db.execute("PRAGMA wal_autocheckpoint=0")

    def close(self) -> None:
        self._checkpoints.shutdown(wait=True)  # a checkpoint under way finishes first
        self._db.close()

    async def _run(
        self, work: Callable[[sqlite3.Connection], T], *, wait_seconds: float | None = None
    ) -> T:
        """``work(connection)``, tried again while another program holds the database
        locked, for at most the wait budget; then :class:`DatabaseLocked` for this call.

        Each try fails at once when locked (busy timeout 0), and the retries sleep
        asynchronously, so the loop serves everything else meanwhile.
        """
        wait = self._wait_seconds if wait_seconds is None else wait_seconds
        deadline: float | None = None
        delay = _FIRST_RETRY
        while True:
            try:
                return work(self._db)
            except sqlite3.Error as exc:
                if getattr(exc, "sqlite_errorcode", 0) & 0xFF not in _LOCKED_CODES:
                    raise DatabaseError(
                        f"the local database {self.location} failed: {exc}.",
                        hint="Check the file and the disk it is on.",
                    ) from None
            clock = anyio.current_time()
            deadline = clock + wait if deadline is None else deadline
            if clock >= deadline:
                raise DatabaseLocked(
                    f"the local database {self.location} is locked by another program "
                    f"(waited {wait:g} s).",
                    hint=LOCKED_HINT,
                )
            await anyio.sleep(min(delay, deadline - clock))
            delay = min(delay * 2, _LONGEST_RETRY)

    async def _rows(self, query: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        return await self._run(lambda db: db.execute(query, params).fetchall())

    async def _one(self, query: str, params: tuple[Any, ...] = ()) -> sqlite3.Row | None:
        rows = await self._rows(query, params)
        return rows[0] if rows else None

    async def _write(
        self, *statements: tuple[str, tuple[Any, ...]], wait_seconds: float | None = None
    ) -> int:
        """Run ``statements`` in one committed transaction; the first one's row count."""

        def write(db: sqlite3.Connection) -> int:
            if len(statements) == 1:  # one statement is its own transaction
                return db.execute(*statements[0]).rowcount
            db.execute("BEGIN IMMEDIATE")  # locked: fails here, before anything is written
            try:
                counts = [db.execute(*statement).rowcount for statement in statements]
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
            return counts[0]

        count = await self._run(write, wait_seconds=wait_seconds)
        self._commit_done()
        return count

    def _commit_done(self) -> None:
        """Count a commit; every :data:`_CHECKPOINT_EVERY`, start a checkpoint in the
        worker thread unless one is still under way."""
        self._commits += 1
        if self._commits < _CHECKPOINT_EVERY or self._path == ":memory:":
            return
        if self._checkpointing is None or self._checkpointing.done():
            self._commits = 0
            self._checkpointing = self._checkpoints.submit(self._checkpoint)

    def _checkpoint(self) -> None:
        """Copy the log into the file as far as no reader needs it (PASSIVE: it waits for
        nobody; a checkpoint another program runs meanwhile makes this one a no-op)."""
        try:
            with closing(sqlite3.connect(self._path, timeout=0, isolation_level=None)) as db:
                db.execute("PRAGMA wal_checkpoint(PASSIVE)")
        except sqlite3.Error as exc:
            logger.warning("checkpointing %s failed: %s", self.location, exc)
