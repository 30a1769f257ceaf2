"""The PostgreSQL store's connections: a pool, and what every statement goes through.

Each statement takes a pooled connection; what can go wrong becomes one clear
:class:`~agentdeck.errors.DatabaseError` — :class:`~agentdeck.errors.DatabaseLocked`
when a lock another session holds outlasted ``lock_timeout`` (set on each connection
to ``[server] database_wait_seconds``). PostgreSQL cannot store U+0000 in ``text`` or
``jsonb``, so every parameter has it left out (:func:`storable`, :func:`json_storable`).

Public, imported on its own (the replicas close their connections with
:func:`closed_after`): it loads the PostgreSQL driver, which the package never does
until a PostgreSQL store is opened.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import anyio
import psycopg
from psycopg import errors
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from agentdeck.errors import DatabaseError, DatabaseLocked
from agentdeck.store.shared import LOCKED_HINT

_POOL_TIMEOUT = 10.0
#: Health checks answer sooner than a load balancer gives up on them.
_PING_TIMEOUT = 3.0
#: ``\u0000`` escaped in JSON text (after an even number of backslashes: not ``\\u0000``)
_JSON_NUL = re.compile(r"(?<!\\)((?:\\\\)*)\\u0000")


class PostgresPool:
    """Statements on a pool of connections to one database."""

    def __init__(self, pool: AsyncConnectionPool[Any], location: str, wait_seconds: float) -> None:
        self._pool = pool
        self.location = location
        self._wait_seconds = wait_seconds

    @asynccontextmanager
    async def _connection(
        self, wait_seconds: float = _POOL_TIMEOUT
    ) -> AsyncIterator[psycopg.AsyncConnection[dict[str, Any]]]:
        """A pooled connection; connection failures become one clear ``DatabaseError``."""
        try:
            async with self._pool.connection(timeout=wait_seconds) as connection:
                yield connection
        except errors.LockNotAvailable:
            raise DatabaseLocked(
                f"the database {self.location} is locked by another program "
                f"(waited {self._wait_seconds:g} s).",
                hint=LOCKED_HINT,
            ) from None
        except PoolTimeout:
            raise DatabaseError(
                f"the database {self.location} did not answer within {wait_seconds:g} s.",
                hint="Check that PostgreSQL is up and retry.",
            ) from None
        except psycopg.OperationalError as exc:
            raise DatabaseError(
                f"the database {self.location} failed: {reason(exc)}.",
                hint="Check that PostgreSQL is up and retry.",
            ) from None
        except psycopg.DataError as exc:
            raise DatabaseError(
                f"the database {self.location} refused a value: {reason(exc)}."
            ) from None

    async def _rows(self, query: Any, params: Any = ()) -> list[dict[str, Any]]:
        async with self._connection() as connection:
            cursor = await connection.execute(query, storable(params))
            return [row_of(row) for row in await cursor.fetchall()]

    async def _one(self, query: Any, params: Any = ()) -> dict[str, Any] | None:
        rows = await self._rows(query, params)
        return rows[0] if rows else None

    async def _write(self, query: Any, params: Any = ()) -> int:
        async with self._connection() as connection:
            cursor = await connection.execute(query, storable(params))
            return cursor.rowcount

    async def _commit(self, *statements: tuple[Any, Any]) -> int:
        """Run ``statements`` (query, parameters) in one transaction (one alone: as it
        is, no round trips to begin and end it); the first one's row count."""
        if len(statements) == 1:
            return await self._write(*statements[0])
        async with self._connection() as connection, connection.transaction():
            counts = [
                (await connection.execute(query, storable(params))).rowcount
                for query, params in statements
            ]
        return counts[0]

    async def ping(self) -> None:
        async with self._connection(wait_seconds=_PING_TIMEOUT) as connection:
            await connection.execute("SELECT 1")


#: Longest a connection of its own (outside the pool) may take to open, in seconds.
CONNECT_TIMEOUT = 10


@asynccontextmanager
async def closed_after(
    connection: psycopg.AsyncConnection[Any],
) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
    """Use a connection of its own (outside the pool) and close it, whatever happens.

    Not ``async with connection``: psycopg's exit first awaits a rollback, and only then
    closes; here the close comes first, shielded, so a cancellation (the server stopping)
    cannot leave the socket to the garbage collector."""
    try:
        yield connection
    finally:
        with anyio.CancelScope(shield=True):
            await connection.close()


def lock_timeout(
    seconds: float,
) -> Callable[[psycopg.AsyncConnection[Any]], Awaitable[None]]:
    """The pool's set-up of each new connection: wait ``seconds`` at most for a lock."""

    async def configure(connection: psycopg.AsyncConnection[Any]) -> None:
        await connection.execute(
            "SELECT set_config('lock_timeout', %s, false)", (f"{round(seconds * 1000)}ms",)
        )

    return configure


def storable(value: Any) -> Any:
    """``value`` (a parameter, or the tuple or dict of them) without U+0000 in any text:
    PostgreSQL refuses it in ``text`` and ``jsonb`` alike."""
    if isinstance(value, str):
        return value.replace("\0", "") if "\0" in value else value
    if isinstance(value, tuple | list):
        return type(value)(storable(item) for item in value)
    if isinstance(value, dict):
        return {storable(key): storable(item) for key, item in value.items()}
    if isinstance(value, Jsonb):
        return Jsonb(storable(value.obj))
    return value


def json_storable(text: str) -> str:
    """JSON text without the ``\u0000`` escape, which ``jsonb`` refuses."""
    return _JSON_NUL.sub(r"\1", text) if "\\u0000" in text else text


def row_of(row: dict[str, Any]) -> dict[str, Any]:
    """A row in the store's shape: timestamps as ISO 8601 strings in UTC."""
    return {
        key: value.astimezone(UTC).isoformat() if isinstance(value, datetime) else value
        for key, value in row.items()
    }


def reason(exc: psycopg.Error, url: str | None = None) -> str:
    """The driver's message in one line, with the URL's password taken out if it slipped in."""
    reason = " ".join(str(exc).split()) or type(exc).__name__
    password = urlsplit(url).password if url else None
    if password:
        reason = reason.replace(password, "***")
    return reason.rstrip(".")
