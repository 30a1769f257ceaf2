"""The AgentFlow fake, served over HTTP, and agentdeck's settings pointed at it."""

from collections.abc import Iterator

import pytest

from agentdeck.config import Settings
from tests.fakes.agentflow import FakeAgentFlow
from tests.fakes.base import serve
from tests.platforms import agentflow_settings


@pytest.fixture
def fake() -> FakeAgentFlow:
    return FakeAgentFlow()


@pytest.fixture
def url(fake: FakeAgentFlow) -> Iterator[str]:
    with serve(fake.app) as base_url:
        yield base_url


@pytest.fixture
def settings(url: str) -> Settings:
    """Backend ``flow`` on the fake, with the token of every scope."""
    return agentflow_settings(url)
