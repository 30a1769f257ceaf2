"""The OpenAI-compatible model these tests run against (tests/backends/conftest.py serves it)."""

import pytest

from tests.fakes.openai import FakeOpenAI


@pytest.fixture
def fake() -> FakeOpenAI:
    return FakeOpenAI()
