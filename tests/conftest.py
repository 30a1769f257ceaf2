import pytest


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(params=["auto", "legacy"])
def mode(request: pytest.FixtureRequest) -> str:
    """Both protocol eras: 'auto' lands on 2026-07-28, 'legacy' speaks 2025-11-25."""
    return request.param
