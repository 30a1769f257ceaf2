"""What every backend folder's tests share: the fake of the folder's platform (its
conftest's ``fake``) served over HTTP, and agentdeck's settings pointed at it."""

from collections.abc import Iterator

import pytest

from agentdeck.config import Settings
from tests.fakes.base import FakePlatform, serve
from tests.platforms import settings_for


@pytest.fixture
def url(fake: FakePlatform) -> Iterator[str]:
    with serve(fake.app) as base_url:
        yield base_url


@pytest.fixture
def settings(fake: FakePlatform, url: str) -> Settings:
    return settings_for(fake, url)
