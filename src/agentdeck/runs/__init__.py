"""The run engine: every chat is a run, driven in the server's task group, that can
outlive the tool call which started it.

``_run`` is one run and its events; ``_snapshot`` what a run produced so far, as plain
data the server presents and the replicas share; ``_manager`` starts, finds, cancels
and forgets runs; ``_ends`` writes a run's end to the run history, retrying while the
database is out of reach; ``_leases`` tells which of the processes
sharing a database are alive. The run history read back as conversations, for platforms
without a conversation API, is the backends' (``agentdeck.backends.run_history``): they
read it, the engine only writes it. ``agentdeck.runs.replicas`` shares runs
between replicas on one PostgreSQL database; it is imported on its own, only when the
database is PostgreSQL (it loads the PostgreSQL driver).
"""

from agentdeck.runs._leases import Lease, LeaseStore
from agentdeck.runs._manager import RunManager, RunSharing
from agentdeck.runs._run import Run
from agentdeck.runs._snapshot import RunSnapshot, RunStatus, ToolActivity

__all__ = [
    "Lease",
    "LeaseStore",
    "Run",
    "RunManager",
    "RunSharing",
    "RunSnapshot",
    "RunStatus",
    "ToolActivity",
]
