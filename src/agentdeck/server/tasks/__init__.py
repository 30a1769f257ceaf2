"""MCP tasks over agentdeck's runs: a task is a durable, caller-bound name for one chat
run (:class:`TaskBook`; read ``_book`` first), and a chat call inside a task answers
after a short grace instead of waiting (:func:`task_call`).

The two task protocols that serve them (the 2025-11-25 form and the 2026-07-28
extension) are ``tasks.protocols``: they sit above the chat path, whose pauses and
answers they hand on, while the book sits below the server's state, which holds one.
"""

from agentdeck.server.tasks._book import POLL_INTERVAL_MS, SERVER_STOPPED, TaskBook, TaskState
from agentdeck.server.tasks._mode import GRACE_SECONDS, in_task_call, task_call, wait_budget

__all__ = [
    "GRACE_SECONDS",
    "POLL_INTERVAL_MS",
    "SERVER_STOPPED",
    "TaskBook",
    "TaskState",
    "in_task_call",
    "task_call",
    "wait_budget",
]
