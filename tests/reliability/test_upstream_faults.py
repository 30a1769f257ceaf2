"""Upstream fault modes of a streamed model, through a real MCP client: each ends clearly.

The local backend's `openai` model against the fake OpenAI-compatible server: slow, cut,
hung, refused (401/429/500), malformed, wrong-shape and oversized answers. Every test
configures a key and sweeps everything that came back, and the log, for it.
"""

from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.types import CallToolResult

from tests.fakes.base import Served, serve
from tests.fakes.openai import FakeOpenAI
from tests.reliability.conftest import SecretSweep
from tests.support import FAST_HTTP, connect, error_text, local_agent, make_settings, ok

pytestmark = pytest.mark.anyio

SECRET = "sk-reliab-0123456789abcdefghijk"
COMPLETIONS = "/chat/completions"


def settings(url: str, **extra: Any):
    local = {
        "model": "openai",
        "openai_base_url": f"{url}/v1",
        "openai_api_key": SECRET,
        "openai_model": "tiny",
        **FAST_HTTP,
        **extra,
    }
    return make_settings(local=local)


async def chat(client: Client, sweep: SecretSweep, message: str = "hi") -> CallToolResult:
    agent = await local_agent(client)
    with anyio.fail_after(20):
        result = await client.call_tool(
            "chat", {"agent": agent, "message": message}, progress_callback=sweep.progress()
        )
    sweep.saw(result)
    return result


async def run_chat(
    fake: FakeOpenAI, sweep: SecretSweep, message: str = "hi", mode: str = "auto", **extra: Any
) -> CallToolResult:
    sweep.watch(SECRET)
    with serve(fake.app) as url:
        async with connect(settings(url, **extra), mode) as client:
            return await chat(client, sweep, message)


async def test_a_slow_stream_completes(secret_sweep: SecretSweep) -> None:
    result = ok(await run_chat(FakeOpenAI(api_key=SECRET, chunk_delay=0.02), secret_sweep))
    assert result["status"] == "completed"
    assert result["text"] == "[tiny] heard 'hi' after 0 earlier messages"


async def test_a_cut_stream_fails_and_keeps_what_came(secret_sweep: SecretSweep) -> None:
    fake = FakeOpenAI(api_key=SECRET, next_stream="cut_off")
    result = ok(await run_chat(fake, secret_sweep))
    assert result["status"] == "failed" and "cut off" in result["error"]
    assert result["text"] == "[tiny] heard 'hi'"


async def test_defect_14_a_hung_stream_fails_naming_stream_timeout(
    secret_sweep: SecretSweep,
) -> None:
    fake = FakeOpenAI(api_key=SECRET, next_stream="hang")
    result = ok(await run_chat(fake, secret_sweep, stream_timeout=0.5))
    assert result["status"] == "failed" and result["text"] == "[tiny] heard"
    assert "timed out" in result["error"] and "`stream_timeout`" in result["error"]
    assert "`timeout`" not in result["error"]


@pytest.mark.parametrize(
    ("status", "expected"),
    [(401, "openai_api_key"), (429, "Wait and retry"), (500, "The platform failed")],
)
async def test_refusals_are_clear_errors_and_a_chat_is_never_sent_twice(
    status: int, expected: str, secret_sweep: SecretSweep
) -> None:
    fake = FakeOpenAI(api_key=SECRET)
    fake.fail_next(status, {"error": {"message": "refused"}}, path_contains=COMPLETIONS)
    text = error_text(await run_chat(fake, secret_sweep))
    assert f"HTTP {status}: refused" in text and expected in text
    assert len(fake.requests_to(COMPLETIONS)) == 1


async def test_a_malformed_chunk_is_skipped_with_a_warning(secret_sweep: SecretSweep) -> None:
    result = ok(await run_chat(FakeOpenAI(api_key=SECRET, next_stream="malformed"), secret_sweep))
    assert result["status"] == "completed" and len(result["warnings"]) == 1
    assert result["text"] == "[tiny] heard 'hi' after 0 earlier messages"


async def test_defect_5_chunks_of_the_wrong_shape_are_skipped_with_warnings(
    secret_sweep: SecretSweep, mode: str
) -> None:
    fake = FakeOpenAI(api_key=SECRET, next_stream="wrong_shape")
    result = ok(await run_chat(fake, secret_sweep, mode=mode))
    assert result["status"] == "completed", result.get("error")
    assert result["text"] == "[tiny] heard 'hi' after 0 earlier messages"
    assert len(result["warnings"]) == 6
    assert all("malformed model chunk" in w for w in result["warnings"])


async def test_defect_6_an_oversized_stream_stops_at_the_cap_and_keeps_what_came(
    secret_sweep: SecretSweep,
) -> None:
    fake = FakeOpenAI(api_key=SECRET, next_stream="oversized", oversized_words=5000)
    result = ok(await run_chat(fake, secret_sweep, max_response_bytes=20_000))
    assert result["status"] == "failed"
    assert "answer was larger than 20000 bytes" in result["error"]
    assert result["text"].startswith("[tiny] word word")
    assert len(result["text"]) < 20_000


async def test_defect_4_a_malformed_chunk_quoting_the_key_comes_back_redacted(
    secret_sweep: SecretSweep, mode: str
) -> None:
    fake = FakeOpenAI(api_key=SECRET, next_stream="leaky")
    result = ok(await run_chat(fake, secret_sweep, mode=mode))
    assert result["status"] == "completed" and len(result["warnings"]) == 1
    assert "Authorization: Bearer ***" in result["warnings"][0]


async def test_defect_4_the_key_is_redacted_from_errors_progress_and_the_log(
    served: Served, secret_sweep: SecretSweep, caplog: pytest.LogCaptureFixture
) -> None:
    fake = FakeOpenAI(api_key=SECRET)
    said: list[str] = []

    async def progress(progress: float, total: float | None, message: str | None) -> None:
        said.append(message or "")

    secret_sweep.watch(SECRET)
    url = served(fake)
    async with connect(settings(url)) as client:
        agent = await local_agent(client)
        args = {"agent": agent, "message": f"my key is {SECRET}"}
        # the model echoes the key back: in the answer and in its progress messages
        echoed = await client.call_tool("chat", args, progress_callback=progress)
        fake.fail_next(400, {"error": {"message": f"bad key {SECRET}"}}, path_contains="chat")
        failed = await client.call_tool("chat", args)
    secret_sweep.saw(echoed, failed, *said)
    assert "heard 'my key is ***'" in ok(echoed)["text"]
    assert any("***" in message for message in said)
    assert "HTTP 400: bad key ***" in error_text(failed)
    assert any("Tool 'chat' failed" in r.getMessage() for r in caplog.records)


async def test_defect_3_a_key_straddling_the_cut_leaves_no_prefix(
    secret_sweep: SecretSweep,
) -> None:
    fake = FakeOpenAI(api_key=SECRET)
    # the platform's message is cut at 300 characters, 20 into the key
    message = "x" * 280 + SECRET
    fake.fail_next(401, {"error": {"message": message}}, path_contains=COMPLETIONS)
    text = error_text(await run_chat(fake, secret_sweep))
    assert "HTTP 401: " + "x" * 280 + "***" in text
