"""The Roboflow fake these tests run against (tests/backends/conftest.py serves it)."""

import pytest

from tests.fakes.roboflow import FakeRoboflow


@pytest.fixture
def fake() -> FakeRoboflow:
    return FakeRoboflow()
