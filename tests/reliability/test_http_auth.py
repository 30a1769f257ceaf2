"""Defect 16: the HTTP bearer check follows RFC 7235 and refuses weak public setups."""

import os
from pathlib import Path

import httpx2
import pytest
from starlette.types import Receive, Scope, Send

from agentdeck.errors import ConfigError
from agentdeck.server import build_server
from agentdeck.server.transport import BearerTokenMiddleware, build_http_app
from tests.support import make_settings, run_agentdeck

pytestmark = pytest.mark.anyio

PUBLIC_HTTP = ["--transport", "http", "--host", "0.0.0.0", "--port", "1"]
TOKEN = "a-long-enough-token-0123"


async def _reached(scope: Scope, receive: Receive, send: Send) -> None:
    """The app behind the middleware: answers 200 to show a request got through."""
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"reached"})


async def _status(headers: list[tuple[str, str]]) -> int:
    app = BearerTokenMiddleware(_reached, TOKEN)
    async with httpx2.AsyncClient(
        transport=httpx2.ASGITransport(app=app), base_url="http://127.0.0.1"
    ) as client:
        return (await client.post("/mcp", headers=headers)).status_code


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER", "bEaReR"])
async def test_defect_16_the_bearer_scheme_matches_in_any_case(scheme: str) -> None:
    assert await _status([("Authorization", f"{scheme} {TOKEN}")]) == 200


@pytest.mark.parametrize(
    "value",
    ["", "Bearer", f"Basic {TOKEN}", f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}", TOKEN],
)
async def test_defect_16_a_wrong_or_malformed_credential_is_401(value: str) -> None:
    assert await _status([("Authorization", value)]) == 401


async def test_defect_16_two_authorization_headers_are_a_400_not_last_one_wins() -> None:
    assert (
        await _status([("Authorization", "Bearer wrong"), ("Authorization", f"Bearer {TOKEN}")])
        == 400
    )
    assert (
        await _status([("Authorization", f"Bearer {TOKEN}"), ("Authorization", "Bearer x")]) == 400
    )


def test_defect_16_a_public_bind_refuses_a_short_token() -> None:
    server = build_server(make_settings())
    with pytest.raises(ConfigError, match="shorter than 16 characters"):
        build_http_app(server, host="0.0.0.0", token="fifteen-chars-x")
    assert build_http_app(server, host="0.0.0.0", token="sixteen-chars-xx") is not None
    assert build_http_app(build_server(make_settings()), host="127.0.0.1", token="short")


def test_defect_16_the_cli_says_why_it_refuses_a_short_public_token(tmp_path: Path) -> None:
    config = tmp_path / "agentdeck.toml"
    config.write_text('[backends.local]\nkind = "local"\ndatabase = ":memory:"\nmodel = "echo"\n')
    result = run_agentdeck(
        "serve",
        "--config",
        str(config),
        *PUBLIC_HTTP,
        "--token",
        "tok-xyz",
        env={k: v for k, v in os.environ.items() if k != "AGENTDECK_HTTP_TOKEN"},
    )
    assert result.returncode == 2
    assert "shorter than 16 characters" in result.stderr
    assert "tok-xyz" not in result.stderr
    assert "Traceback" not in result.stderr
