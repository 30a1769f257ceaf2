"""The AgenticFlow fake these tests run against (tests/backends/conftest.py serves it)."""

import pytest

from tests.fakes.agenticflow import FakeAgenticFlow


@pytest.fixture
def fake() -> FakeAgenticFlow:
    return FakeAgenticFlow()
