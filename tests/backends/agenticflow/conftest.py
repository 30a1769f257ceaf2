"""The AgenticFlow fake, served over HTTP, and agentdeck's settings pointed at it."""

from collections.abc import Iterator

import pytest

from agentdeck.config import Settings
from tests.fakes.agenticflow import FakeAgenticFlow
from tests.fakes.base import serve
from tests.platforms import agenticflow_settings


@pytest.fixture
def fake() -> FakeAgenticFlow:
    return FakeAgenticFlow()


@pytest.fixture
def url(fake: FakeAgenticFlow) -> Iterator[str]:
    with serve(fake.app) as base_url:
        yield base_url


@pytest.fixture
def settings(url: str) -> Settings:
    """Backend ``af`` on the fake, in its default workspace and project."""
    return agenticflow_settings(url)
