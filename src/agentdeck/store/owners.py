"""Who owns what in the store: the ``principal`` column of agents, conversations and runs.

With OAuth every row a user makes carries their principal (``<sub>@<iss>``), and every
read, list and count of those tables adds one indexed predicate on it, so another
user's row reads exactly like one that does not exist. Without OAuth the owner is None:
rows carry NULL and no predicate is added, so the single-user queries stay as they were.
Messages need no column of their own: they are only read through a conversation the
caller was found to own.

The column is ``principal`` because ``runs.owner`` already names the replica driving a
run (``agentdeck.runs.replicas``).
"""

from __future__ import annotations

#: The owner of the things nobody owns (made without OAuth): what one tool list shared by
#: every user may show, such as the per-agent tools.
NOBODY = ""

SQLITE_SCHEMA = """
ALTER TABLE agents ADD COLUMN principal TEXT;
ALTER TABLE conversations ADD COLUMN principal TEXT;
ALTER TABLE runs ADD COLUMN principal TEXT;
CREATE INDEX agents_by_principal ON agents (principal, created_at);
CREATE INDEX conversations_by_principal ON conversations (principal, updated_at);
CREATE INDEX runs_by_principal ON runs (principal, backend, conversation_id, started_at)
"""

POSTGRES_SCHEMA = (
    "ALTER TABLE agents ADD COLUMN principal TEXT",
    "ALTER TABLE conversations ADD COLUMN principal TEXT",
    "ALTER TABLE runs ADD COLUMN principal TEXT",
    "CREATE INDEX agents_by_principal ON agents (principal, created_at)",
    "CREATE INDEX conversations_by_principal ON conversations (principal, updated_at)",
    "CREATE INDEX runs_by_principal ON runs (principal, backend, conversation_id, started_at)",
)


def mine(
    owner: str | None, column: str = "principal", mark: str = "?"
) -> tuple[str, tuple[str, ...]]:
    """The ``AND <column> = <mark>`` a query adds for ``owner``, and its parameter; nothing
    without an owner (``mark`` is the driver's placeholder: ``?`` or ``%s``)."""
    if owner is None:
        return "", ()
    if owner == NOBODY:
        return f" AND {column} IS NULL", ()
    return f" AND {column} = {mark}", (owner,)
