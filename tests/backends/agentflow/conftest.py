"""The AgentFlow fake these tests run against (tests/backends/conftest.py serves it)."""

import pytest

from tests.fakes.agentflow import FakeAgentFlow


@pytest.fixture
def fake() -> FakeAgentFlow:
    return FakeAgentFlow()
