"""The socket `agentdeck serve --transport http` listens on.

Its connections must have Nagle's algorithm off: with it on, an SSE event written after
the response headers (the priming event, progress, the answer) waited for the client's
delayed acknowledgement of the headers, ~40 ms a message for clients that delay it.
"""

import asyncio
import socket

import pytest

from agentdeck.server.transport import listen

pytestmark = pytest.mark.anyio


async def test_connections_accepted_on_it_send_small_writes_at_once() -> None:
    sock = listen("127.0.0.1", 0)
    accepted: asyncio.Queue[socket.socket] = asyncio.Queue()

    class Accepted(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            accepted.put_nowait(transport.get_extra_info("socket"))

    loop = asyncio.get_running_loop()
    server = await loop.create_server(Accepted, sock=sock)  # as uvicorn serves it
    async with server:
        _, writer = await asyncio.open_connection(*sock.getsockname())
        connection = await asyncio.wait_for(accepted.get(), 5)
        assert connection.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
        writer.close()
        await writer.wait_closed()
