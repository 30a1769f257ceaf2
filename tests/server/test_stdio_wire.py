"""How `agentdeck serve` writes the stdio wire: on the event loop, never blocking it.

The SDK's transport wrote each message in a worker thread (two thread hops per message);
agentdeck writes a non-blocking pipe on the loop, and a client slow to read holds up
only the writer.
"""

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import anyio
import pytest

from agentdeck.server.transport._stdio import StdoutWire

pytestmark = pytest.mark.anyio

#: several times a pipe's buffer (64 KiB on Linux): the wire must wait for the reader
MESSAGE = ("x" * 1023 + "\n") * 1024


async def test_a_message_larger_than_the_pipe_waits_for_the_reader_without_blocking_the_loop() -> (
    None
):
    read_end, write_end = os.pipe()
    os.set_blocking(write_end, False)
    received = bytearray()

    def read_slowly() -> None:
        with open(read_end, "rb", buffering=0) as pipe:
            while chunk := pipe.read(65536):
                received.extend(chunk)
                time.sleep(0.005)

    reader = threading.Thread(target=read_slowly)
    reader.start()
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await anyio.sleep(0.001)

    try:
        async with anyio.create_task_group() as group:
            group.start_soon(tick)
            wire = StdoutWire(write_end, gone=group.cancel_scope.cancel)
            await wire.write(MESSAGE)
            await wire.flush()
            group.cancel_scope.cancel()
    finally:
        os.close(write_end)
        reader.join(5)
    assert bytes(received) == MESSAGE.encode()
    assert ticks > 5  # the loop went on while the pipe was full


def test_serving_claims_the_wire_and_points_stray_output_at_stderr() -> None:
    """Within ``claimed_stdout``: the wire is a private non-blocking descriptor, and what
    is printed to fd 1 goes to stderr; after it, fd 1 is the wire again, blocking."""
    script = (
        "import fcntl, os, sys\n"
        "from agentdeck.server.transport._stdio import claimed_stdout\n"
        "with claimed_stdout() as wire:\n"
        "    print('stray', flush=True)\n"
        "    blocking = not fcntl.fcntl(wire, fcntl.F_GETFL) & os.O_NONBLOCK\n"
        "    os.write(wire, b'on the wire, blocking=%d\\n' % blocking)\n"
        "print('after', flush=True)\n"
        "print(bool(fcntl.fcntl(1, fcntl.F_GETFL) & os.O_NONBLOCK), flush=True)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, timeout=30, check=True
    )
    assert done.stdout.decode().splitlines() == ["on the wire, blocking=0", "after", "False"]
    assert done.stderr.decode().splitlines() == ["stray"]


def test_a_file_as_the_wire_is_left_blocking(tmp_path: Path) -> None:
    """A regular file cannot be polled and never blocks: its flags are not touched."""
    script = (
        "import fcntl, os\n"
        "from agentdeck.server.transport._stdio import claimed_stdout\n"
        "with claimed_stdout() as wire:\n"
        "    flags = fcntl.fcntl(wire, fcntl.F_GETFL)\n"
        "    os.write(wire, b'nonblocking=%d\\n' % bool(flags & os.O_NONBLOCK))\n"
    )
    path = tmp_path / "wire.txt"
    with path.open("wb") as wire:
        subprocess.run([sys.executable, "-c", script], stdout=wire, timeout=30, check=True)
    assert path.read_text() == "nonblocking=0\n"


def test_serving_claims_stdin_and_points_fd_0_at_the_null_device() -> None:
    """Within ``claimed_stdin``: the wire's input is read from the private descriptor;
    a stray read of fd 0 gets end of file instead of a protocol message."""
    script = (
        "import os\n"
        "from agentdeck.server.transport._stdio import claimed_stdin\n"
        "with claimed_stdin() as wire:\n"
        "    print(os.read(0, 100), os.read(wire, 100))\n"
        "print(os.read(0, 100))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        input=b"message\n",
        capture_output=True,
        timeout=30,
        check=True,
    )
    assert done.stdout.decode().splitlines() == ["b'' b'message\\n'", "b''"]
