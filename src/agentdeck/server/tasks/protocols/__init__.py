"""The two MCP task protocols over the task book (``server.tasks``): the 2025-11-25
experimental form (``params.task``, ``_legacy``) and the 2026-07-28 extension
``io.modelcontextprotocol/tasks`` (``_modern``), served by one extension whose handlers
are chosen per request by its protocol version (``_extension``), and the tasks'
notifications on ``subscriptions/listen`` (``_listen``).

They turn a chat call into a task and a run's pauses into the task's input requests, so
they sit above the chat path (``server.chat``), which hands them both.
"""

from agentdeck.server.tasks.protocols._extension import TasksExtension
from agentdeck.server.tasks.protocols._legacy import CAPABILITY, LegacyTasks
from agentdeck.server.tasks.protocols._listen import with_tasks

__all__ = ["CAPABILITY", "LegacyTasks", "TasksExtension", "with_tasks"]
