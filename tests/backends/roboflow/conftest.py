"""The Roboflow fake, served over HTTP, and agentdeck's settings pointed at it."""

from collections.abc import Iterator

import pytest

from agentdeck.config import Settings
from tests.fakes.base import serve
from tests.fakes.roboflow import FakeRoboflow
from tests.platforms import roboflow_settings


@pytest.fixture
def fake() -> FakeRoboflow:
    return FakeRoboflow()


@pytest.fixture
def url(fake: FakeRoboflow) -> Iterator[str]:
    with serve(fake.app) as base_url:
        yield base_url


@pytest.fixture
def settings(url: str) -> Settings:
    """Backend ``vision`` on the fake, with a key that has every scope."""
    return roboflow_settings(url)
