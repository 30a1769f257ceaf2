"""Talking to the client beyond a tool's answer: asking its user (a form, a confirmation,
a page to connect a key on), asking its model (sampling), telling it what changed
(notifications) and what it should know (log messages).

Each works in both protocol eras, and says so where they differ: a 2025-11-25 session
takes requests mid-call, a 2026-07-28 client gets them in the tool's answer and calls
again (``is_modern``). Asking the user is one way for every tool: :func:`ask` for forms,
:func:`confirmation_request` for confirmations, both gated on :func:`can_elicit`.
"""

from agentdeck.server.client._abilities import can_elicit, can_sample, is_modern
from agentdeck.server.client._asking import (
    Answer,
    Confirmation,
    Question,
    answer_to,
    ask,
    confirmation_request,
    require_confirmation,
    round_state,
)
from agentdeck.server.client._connecting import connect_first
from agentdeck.server.client._log import ClientLog
from agentdeck.server.client._notify import Notifier, OwnedBus, announce_resource_updated
from agentdeck.server.client._sampling import sample

__all__ = [
    "Answer",
    "ClientLog",
    "Confirmation",
    "Notifier",
    "OwnedBus",
    "Question",
    "announce_resource_updated",
    "answer_to",
    "ask",
    "can_elicit",
    "can_sample",
    "confirmation_request",
    "connect_first",
    "is_modern",
    "require_confirmation",
    "round_state",
    "sample",
]
