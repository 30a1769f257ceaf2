"""Serving MCP over stdio so that SIGINT and SIGTERM stop the server cleanly, and each
message goes out without a trip through a worker thread.

The SDK's stdio transport reads stdin in a worker thread that cannot be cancelled: on
Ctrl-C the server waited for the next line forever, and SIGTERM killed it without
closing anything. Here stdin is read on the event loop (wait until readable, then read),
so a signal cancels everything: runs in flight are cancelled (closing their upstream
connections), the lifespan closes the store, and the process exits quietly.

The SDK also writes each message in a worker thread (a write, then a flush): two thread
hops between an answer and the client, each waking the loop again when it is done. Here
the wire is written on the loop (:class:`StdoutWire`): a pipe or socket is made
non-blocking, so a client slow to read holds up only the writer, which waits until the
wire takes more.

A line that is not a JSON-RPC message is answered with a JSON-RPC error (id ``null``), as
the HTTP transport answers such a body: -32700 when it is not JSON at all (a broken
line, a lone surrogate escape, nesting 200 deep), -32600 when it is JSON of another
shape. The SDK's transport dropped it silently and the client waited for its timeout.
"""

from __future__ import annotations

import contextvars
import os
import signal
import stat
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from types import TracebackType
from typing import Any

import anyio
import mcp.types as types
from anyio import CancelScope
from mcp.server.mcpserver import MCPServer
from mcp.server.stdio import stdio_server
from mcp.shared.message import SessionMessage
from pydantic import ValidationError

from agentdeck.server.sdk_seams import lowlevel_server

_READ_SIZE = 65536
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


async def serve_stdio(server: MCPServer[Any]) -> None:
    """Serve ``server`` on stdin/stdout until stdin closes or a stop signal arrives."""
    if sys.platform == "win32":  # no selectable pipes nor signal receivers there
        await server.run_stdio_async()
        return
    with claimed_stdin() as fd, claimed_stdout() as wire:
        async with anyio.create_task_group() as group:
            group.start_soon(_cancel_on_signal, group.cancel_scope)
            async with stdio_server(
                stdin=StdinLines(fd),  # type: ignore[arg-type]
                stdout=StdoutWire(wire, gone=group.cancel_scope.cancel),  # type: ignore[arg-type]
            ) as (read_stream, write_stream):
                lowlevel = lowlevel_server(server)
                options = lowlevel.create_initialization_options()
                answered = AnsweringUnreadable(read_stream, write_stream)
                await lowlevel.run(answered, write_stream, options)
            group.cancel_scope.cancel()


async def _cancel_on_signal(scope: CancelScope) -> None:
    with anyio.open_signal_receiver(*STOP_SIGNALS) as signals:
        async for _ in signals:
            scope.cancel()
            return


@contextmanager
def claimed_stdin() -> Iterator[int]:
    """A private descriptor of the wire, with fd 0 pointed at the null device meanwhile.

    As the SDK does for its own transport: a child process or stray read of stdin gets EOF
    instead of eating protocol messages.
    """
    null = os.open(os.devnull, os.O_RDONLY)
    with _claimed(0, null) as wire:
        os.close(null)
        yield wire


@contextmanager
def claimed_stdout() -> Iterator[int]:
    """A private descriptor of the wire, with fd 1 pointed at stderr meanwhile.

    As the SDK does for its own transport: a stray ``print`` or a child process's output
    goes to stderr instead of tearing a protocol message. A pipe or socket is made
    non-blocking while it is served (:class:`StdoutWire`); its flags are put back after.
    """
    import fcntl  # POSIX only, as serve_stdio is

    with _claimed(1, 2) as wire:
        flags = fcntl.fcntl(wire, fcntl.F_GETFL)
        kind = os.fstat(wire).st_mode
        if stat.S_ISFIFO(kind) or stat.S_ISSOCK(kind):
            fcntl.fcntl(wire, fcntl.F_SETFL, flags | os.O_NONBLOCK)
        try:
            yield wire
        finally:
            fcntl.fcntl(wire, fcntl.F_SETFL, flags)


@contextmanager
def _claimed(fd: int, diversion: int) -> Iterator[int]:
    """A private, non-inheritable duplicate of ``fd``, with ``fd`` pointed at the
    descriptor ``diversion`` meanwhile and put back after."""
    wire = os.dup(fd)
    os.set_inheritable(wire, False)
    os.dup2(diversion, fd)
    try:
        yield wire
    finally:
        os.dup2(wire, fd)
        os.close(wire)


class StdoutWire:
    """The wire's write end as the SDK's stdio transport writes it (``write``, then
    ``flush``), written on the event loop.

    A non-blocking pipe or socket takes what it has room for; the rest is written once it
    is writable again. Any other descriptor (a regular file, a terminal) is written as
    it is: a file never blocks, and a terminal only while the person reading pauses it.
    A wire the client closed ends the server as stdin closing does: ``gone()`` is called
    and the SDK's writer is told the wire is closed, which it takes quietly.
    """

    def __init__(self, fd: int, *, gone: Callable[[], None]) -> None:
        self._fd = fd
        self._gone = gone

    async def write(self, text: str) -> None:
        data = memoryview(text.encode())
        while data:
            try:
                written = os.write(self._fd, data)
            except BlockingIOError:
                await anyio.wait_writable(self._fd)
                continue
            except (BrokenPipeError, ConnectionResetError):
                self._gone()
                raise anyio.ClosedResourceError from None
            data = data[written:]

    async def flush(self) -> None:
        """Nothing is buffered here: :meth:`write` returns once the wire took it all."""


class StdinLines:
    """The lines of a descriptor, read on the event loop so that reading can be cancelled."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._buffer = bytearray()
        self._eof = False
        # Regular files never block and cannot be polled (epoll refuses them).
        self._pollable = not stat.S_ISREG(os.fstat(fd).st_mode)

    def __aiter__(self) -> StdinLines:
        return self

    async def __anext__(self) -> str:
        """The next line that is not blank: a blank line holds no message to answer."""
        line = await self._line()
        while not line.strip():
            line = await self._line()
        return line

    async def _line(self) -> str:
        searched = 0
        while (end := self._buffer.find(b"\n", searched)) < 0:
            searched = len(self._buffer)
            if self._eof:
                if not self._buffer:
                    raise StopAsyncIteration
                end = len(self._buffer) - 1
                break
            await self._readable()
            chunk = os.read(self._fd, _READ_SIZE)
            self._eof = not chunk
            self._buffer += chunk
        line = bytes(self._buffer[: end + 1])
        del self._buffer[: end + 1]
        return line.decode("utf-8", errors="replace")

    async def _readable(self) -> None:
        if not self._pollable:
            await anyio.lowlevel.checkpoint()
            return
        try:
            await anyio.wait_readable(self._fd)
        except PermissionError:  # a descriptor the poller refuses (/dev/null): reads never block
            self._pollable = False
            await anyio.lowlevel.checkpoint()


class AnsweringUnreadable:
    """The messages of ``inner``; each line it could not read is answered on ``replies``.

    The SDK's stdio transport hands the server an exception for such a line, which the
    server only logs: the client never hears of its request again.
    """

    def __init__(self, inner: Any, replies: Any) -> None:
        """``inner``: the transport's read stream of messages and exceptions; ``replies``:
        its write stream of messages (the SDK's stream protocols are private)."""
        self._inner = inner
        self._replies = replies

    @property
    def last_context(self) -> contextvars.Context | None:
        """The sender context of the last message, which the server's loop propagates."""
        return getattr(self._inner, "last_context", None)

    async def receive(self) -> SessionMessage | Exception:
        while True:
            item: SessionMessage | Exception = await self._inner.receive()
            if not isinstance(item, Exception):
                return item
            # once the server closes its output there is no one left to tell
            with suppress(anyio.ClosedResourceError, anyio.BrokenResourceError):
                await self._replies.send(SessionMessage(unreadable_answer(item)))

    async def aclose(self) -> None:
        await self._inner.aclose()

    def __aiter__(self) -> AnsweringUnreadable:
        return self

    async def __anext__(self) -> SessionMessage | Exception:
        try:
            return await self.receive()
        except anyio.EndOfStream:
            raise StopAsyncIteration from None

    async def __aenter__(self) -> AnsweringUnreadable:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_val: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> None:
        await self.aclose()


def unreadable_answer(problem: Exception) -> types.JSONRPCError:
    """The JSON-RPC error for a line the transport could not read: a parse error (-32700)
    when it is not JSON, else an invalid request (-32600); the line is not repeated."""
    errors = problem.errors(include_input=False) if isinstance(problem, ValidationError) else []
    unparsable = [error["msg"] for error in errors if error["type"] == "json_invalid"]
    if unparsable or not errors:
        detail = unparsable[0] if unparsable else "the line could not be read"
        error = types.ErrorData(code=types.PARSE_ERROR, message=f"Parse error: {detail}")
    else:
        error = types.ErrorData(
            code=types.INVALID_REQUEST,
            message="Invalid request: not a JSON-RPC request, notification or response",
        )
    return types.JSONRPCError(jsonrpc="2.0", id=None, error=error)
