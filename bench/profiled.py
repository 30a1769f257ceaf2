"""Run an MCP server under cProfile, switched on and off by signals, with exact counts.

    python bench/profiled.py STATS -m agentdeck serve --config C
    python bench/profiled.py STATS bench/bare_server.py --model-url URL

SIGUSR1 starts a fresh profile of the server's event-loop thread; SIGUSR2 stops
it and writes STATS (pstats format) and STATS.counts.json, so bench/run.py
profiles exactly the calls it makes and none of the start-up. The counts are
exact where cProfile's are not (it counts each resumption of a coroutine as a
call): SQL statements by first word (every thread), thread hops by the function
sent to a worker thread, and stdio messages written by JSON-RPC method.
"""

from __future__ import annotations

import cProfile
import json
import os
import runpy
import signal
import sqlite3
import sys
import threading
import time
from collections import Counter
from typing import Any

import anyio.to_thread

_counts: dict[str, Counter[str]] = {
    "sql": Counter(),
    "thread hops": Counter(),
    "written": Counter(),
}
_lock = threading.Lock()
_profile: cProfile.Profile | None = None
_METHOD = '"method":"'


def _trace(statement: str) -> None:
    with _lock:
        _counts["sql"][statement.split(None, 1)[0].upper() if statement.strip() else "?"] += 1


async def _run_sync(
    func: Any, *args: Any, _original=anyio.to_thread.run_sync, **kwargs: Any
) -> Any:
    name = getattr(getattr(func, "func", func), "__name__", "?")
    with _lock:
        _counts["thread hops"][name] += 1
        if name == "write" and args and isinstance(args[0], str):
            line = args[0]
            at = line.find(_METHOD)
            method = (
                line[at + len(_METHOD) : line.find('"', at + len(_METHOD))]
                if at >= 0
                else "(response)"
            )
            _counts["written"][method] += 1
    return await _original(func, *args, **kwargs)


def _connect(*args: Any, _original=sqlite3.connect, **kwargs: Any) -> sqlite3.Connection:
    connection = _original(*args, **kwargs)
    connection.set_trace_callback(_trace)
    return connection


def _start(*_: object) -> None:
    global _profile
    with _lock:
        for counter in _counts.values():
            counter.clear()
    _profile = cProfile.Profile(
        time.thread_time
    )  # CPU time: preemption on a busy machine is not work
    _profile.enable()


def _stop(path: str) -> None:
    if _profile is None:
        return
    _profile.disable()
    _profile.dump_stats(f"{path}.part")
    with _lock, open(f"{path}.counts.json.part", "w") as out:
        json.dump({kind: dict(counter) for kind, counter in _counts.items()}, out)
    os.replace(f"{path}.counts.json.part", f"{path}.counts.json")
    os.replace(f"{path}.part", path)


def main() -> None:
    stats_path, target = sys.argv[1], sys.argv[2:]
    sqlite3.connect = _connect  # type: ignore[assignment]
    anyio.to_thread.run_sync = _run_sync  # type: ignore[assignment]
    signal.signal(signal.SIGUSR1, _start)
    signal.signal(signal.SIGUSR2, lambda *_: _stop(stats_path))
    if target[0] == "-m":
        sys.argv = [target[1], *target[2:]]
        runpy.run_module(target[1], run_name="__main__", alter_sys=True)
    else:
        sys.argv = target
        sys.path.insert(0, os.path.dirname(os.path.abspath(target[0])))
        runpy.run_path(target[0], run_name="__main__")


if __name__ == "__main__":
    main()
