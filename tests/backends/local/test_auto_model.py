"""The `auto` model of local agents (issue 11 item 10) and `agentdeck check` asking the
model endpoint (issue 10 defect 13). Probing only ever reaches 127.0.0.1 ports of fakes
started here, or ports just found free (nothing listens there)."""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any

import pytest
from mcp.types import CreateMessageResult, TextContent

from agentdeck.cli import check_backends
from agentdeck.errors import ConfigError
from tests.fakes.base import Served
from tests.fakes.openai import FakeOpenAI
from tests.support import (
    FAST_HTTP,
    call_error,
    call_ok,
    connect,
    error_text,
    local_agent,
    make_settings,
    ok,
    run_agentdeck,
)

pytestmark = pytest.mark.anyio

SECRET = "sk-auto-0123456789"


def free_port() -> int:
    """A 127.0.0.1 port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def auto_settings(ports: list[int], database: str = ":memory:", **local: Any):  # type: ignore[no-untyped-def]
    return make_settings(
        local={"model": "auto", "auto_probe_ports": ports, **FAST_HTTP, "max_retries": 0, **local},
        database=database,
    )


async def _chat(client: Any, message: str = "hi") -> Any:
    agent = await local_agent(client)
    return await client.call_tool("chat", {"agent": agent, "message": message})


async def _model_of_local(client: Any) -> str:
    listed = await call_ok(client, "list_backends", {})
    return next(b["model"] for b in listed["backends"] if b["name"] == "local")


async def test_auto_answers_with_the_clients_model_when_it_offers_sampling(mode: str) -> None:
    async def sampling(context: Any, params: Any) -> CreateMessageResult:
        return CreateMessageResult(
            role="assistant", content=TextContent(type="text", text="from the client"), model="m"
        )

    async with connect(auto_settings([]), mode, sampling_callback=sampling) as client:
        reply = ok(await _chat(client))
    assert reply["text"] == "from the client"


async def test_auto_uses_the_configured_endpoint_before_probing(served: Served) -> None:
    fake = FakeOpenAI(api_key=SECRET)
    url = served(fake)
    settings = auto_settings(
        [free_port()],
        openai_base_url=f"{url}/v1",
        openai_api_key=SECRET,
        openai_model="tiny-llama",
    )
    async with connect(settings) as client:
        reply = ok(await _chat(client))
        model = await _model_of_local(client)
    assert reply["text"] == "[tiny-llama] heard 'hi' after 0 earlier messages"
    assert f"{url}/v1" in model
    assert not [r for r in fake.requests if r.path.endswith("/models")]


async def test_auto_finds_a_local_server_on_its_port_and_probes_once(
    served: Served, mode: str
) -> None:
    fake = FakeOpenAI(models=["found-model", "other"])
    url = served(fake)
    async with connect(auto_settings([free_port(), port_of(url)]), mode) as client:
        first = ok(await _chat(client, "one"))
        second = ok(await _chat(client, "two"))
        model = await _model_of_local(client)
    assert first["text"] == "[found-model] heard 'one' after 0 earlier messages"
    assert second["text"] == "[found-model] heard 'two' after 0 earlier messages"
    assert f"{url}/v1" in model and "found-model" in model
    assert len([r for r in fake.requests if r.path.endswith("/models")]) == 1


async def test_auto_with_no_model_anywhere_names_every_way_to_get_one(mode: str) -> None:
    async with connect(auto_settings([free_port()]), mode) as client:
        text = error_text(await _chat(client))
        model = await _model_of_local(client)
    for way in ("sampling", "openai_base_url", "Ollama 11434", "echo"):
        assert way in text
    assert "no model endpoint configured or found" in model


def test_an_unknown_model_name_without_an_endpoint_is_a_config_error() -> None:
    with pytest.raises(ConfigError) as raised:
        make_settings(local={"model": "ech"})
    assert '"ech"' in str(raised.value)


def _local_row(rows: list[tuple[str, str, str, str, str]]) -> tuple[bool, str]:
    _, _, _, status, detail = next(r for r in rows if r[0] == "local")
    return status == "ok", detail


async def test_check_fails_without_any_model_endpoint() -> None:
    healthy, detail = _local_row(await check_backends(auto_settings([free_port()], model="openai")))
    assert not healthy and "openai_base_url" in detail


async def test_check_fails_on_an_unreachable_endpoint() -> None:
    settings = auto_settings([], openai_base_url=f"http://127.0.0.1:{free_port()}/v1")
    healthy, detail = _local_row(await check_backends(settings))
    assert not healthy and "127.0.0.1" in detail


async def test_check_fails_on_a_refused_key_without_showing_it(served: Served) -> None:
    url = served(FakeOpenAI(api_key=SECRET))
    settings = auto_settings([], openai_base_url=f"{url}/v1", openai_api_key="sk-wrong-key-1")
    healthy, detail = _local_row(await check_backends(settings))
    assert not healthy and "openai_api_key" in detail
    assert "sk-wrong" not in detail


async def test_check_fails_when_the_endpoint_does_not_serve_the_model(served: Served) -> None:
    url = served(FakeOpenAI(models=["a", "b"]))
    settings = auto_settings([], openai_base_url=f"{url}/v1", openai_model="c")
    healthy, detail = _local_row(await check_backends(settings))
    assert not healthy and "'c'" in detail and "a, b" in detail


async def test_check_says_what_auto_found(served: Served) -> None:
    url = served(FakeOpenAI(models=["found-model"]))
    healthy, detail = _local_row(await check_backends(auto_settings([port_of(url)])))
    assert healthy and f"{url}/v1" in detail and "found-model" in detail


async def test_check_passes_for_an_endpoint_serving_the_model(served: Served) -> None:
    url = served(FakeOpenAI(api_key=SECRET))
    settings = auto_settings(
        [], openai_base_url=f"{url}/v1", openai_api_key=SECRET, openai_model="tiny-llama"
    )
    healthy, detail = _local_row(await check_backends(settings))
    assert healthy and "1 models" in detail


async def test_a_chat_with_no_model_leaves_no_half_conversation(mode: str, database: str) -> None:
    """19.3: the first chat without a model tells an existing agent's user to switch it with
    update_agent, and a turn that failed before the agent produced anything stores nothing:
    no new conversation holding only the user's message, no unanswered message in an old one."""
    settings = auto_settings([free_port()], database=database)
    async with connect(settings, mode) as client:
        agent = await call_ok(client, "create_agent", {"backend": "local", "name": "A"})
        text = await call_error(client, "chat", {"agent": agent["ref"], "message": "hi"})
        assert not (await call_ok(client, "list_conversations", {}))["items"]
        echo = {"agent": agent["ref"], "model": "echo"}
        await call_ok(client, "update_agent", echo)
        first = await call_ok(client, "chat", {"agent": agent["ref"], "message": "one"})
        await call_ok(client, "update_agent", {"agent": agent["ref"], "model": "auto"})
        again = {"agent": agent["ref"], "message": "two", "conversation": first["conversation"]}
        await call_error(client, "chat", again)
        kept = await call_ok(client, "get_conversation", {"conversation": first["conversation"]})
    assert f'update_agent(agent="{agent["ref"]}", model="echo")' in text
    assert "create the agent" not in text
    assert [m["content"] for m in kept["messages"]] == ["one", "You said: one"]


def test_check_passes_with_a_warning_when_auto_finds_no_model(tmp_path: Path) -> None:
    """19.1: `agentdeck check` on the default config, on a machine with no model server,
    warns naming every way to get a model and exits 0: nothing configured is broken."""
    config = tmp_path / "agentdeck.toml"
    config.write_text(f'[backends.local]\nkind = "local"\nauto_probe_ports = [{free_port()}]\n')
    env = {**os.environ, "HOME": str(tmp_path), "AGENTDECK_CONFIG": ""}
    check = run_agentdeck("check", "--config", str(config), timeout=60, env=env)
    assert check.returncode == 0, check.stdout + check.stderr
    line = next(line for line in check.stdout.splitlines() if " local " in line)
    assert line.startswith("WARN local")
    for way in ("sampling", "openai_base_url", "Ollama 11434", 'model = "echo"'):
        assert way in line
