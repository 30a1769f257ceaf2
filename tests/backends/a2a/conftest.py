"""The scripted A2A agents (tests/backends/a2a/agents.py), served once for a module."""

import threading
from collections import Counter
from collections.abc import Iterator

import pytest

from tests.backends.a2a.agents import Seen, a2a_app
from tests.fakes.base import Swappable, serve


@pytest.fixture(scope="module")
def agents() -> Iterator[tuple[str, Seen]]:
    """The agents' base URL (their cards name it), and what they saw."""
    later = Swappable()
    seen = Seen(turns=Counter(), cancelled=threading.Event())
    with serve(later) as base:
        later.app = a2a_app(base, seen)
        yield base, seen
