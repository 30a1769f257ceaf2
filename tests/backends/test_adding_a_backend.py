"""docs/adding-a-backend.md holds: a platform written as it says — its package and one
entry in ``backends/kinds.py``, nothing else — is configured, listed and chatted with.

The throwaway platform is a package written into a temporary folder (``settings.py``
and ``backend.py`` as the doc describes them), registered in ``KINDS`` for the test, and
served by a small fake over real HTTP on 127.0.0.1 that refuses a wrong key.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from agentdeck.backends.kinds import KINDS, Kind
from tests.fakes.base import serve
from tests.support import call_ok, connect, error_once, make_settings

pytestmark = pytest.mark.anyio

TOKEN = "throwaway-secret-token"

SETTINGS = """
    from typing import Any, Literal

    from pydantic import Field, SecretStr

    from agentdeck.backends.settings import BackendCommon


    class ParrotSettings(BackendCommon):
        kind: Literal["parrot"]
        base_url: str = Field(description="Where the parrot API is.")
        token: SecretStr = Field(description="The API token.")


    EXAMPLE: tuple[str, dict[str, Any]] = (
        "parrot",
        {"kind": "parrot", "base_url": "http://127.0.0.1:9", "token": "-"},
    )
"""

BACKEND = """
    from collections.abc import AsyncGenerator
    from typing import ClassVar

    from agentdeck.backends.kit import (
        Agent, Backend, BearerAuth, ChatEvent, ChatRequest, Connection, Done, NotFoundError,
        Page, TextDelta, UpstreamError,
    )


    class ParrotBackend(Backend):
        kind: ClassVar[str] = "parrot"

        @classmethod
        def connection(cls, name, settings):
            token = settings.token.get_secret_value()
            return Connection(
                base_url=settings.base_url,
                auth=BearerAuth(token),
                secrets=(token,),
                credential_hint=f"Check `token` of backend '{name}' in the config.",
            )

        def explain(self, error: UpstreamError, *, agent_id: str = "") -> UpstreamError:
            if isinstance(error, NotFoundError) and agent_id:
                return error.refined(hint=f"There is no parrot '{agent_id}' in the flock.")
            return error.refined()

        async def check(self) -> str:
            return f"{len((await self.list_agents(limit=100, cursor=None)).items)} agents"

        async def list_agents(self, *, limit: int, cursor: str | None) -> Page[Agent]:
            listed = await self.http.request("GET", "/agents")
            agents = [Agent(backend=self.name, **item) for item in listed["agents"]]
            return Page[Agent](items=agents[:limit])

        async def get_agent(self, agent_id: str) -> Agent:
            found = await self.http.request(
                "GET", f"/agents/{agent_id}", context={"agent_id": agent_id}
            )
            return Agent(backend=self.name, **found)

        async def chat(self, request: ChatRequest) -> AsyncGenerator[ChatEvent, None]:
            reply = await self.http.request(
                "POST", f"/agents/{request.agent_id}/chat", json={"message": request.message}
            )
            yield TextDelta(text=reply["answer"])
            yield Done()
"""


def parrot_api() -> Starlette:
    """The platform: one agent that repeats what it hears; every call needs the token."""

    def authorized(request: Request) -> bool:
        return request.headers.get("authorization") == f"Bearer {TOKEN}"

    async def agents(request: Request) -> JSONResponse:
        if not authorized(request):
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        return JSONResponse({"agents": [{"id": "polly", "name": "Polly"}]})

    async def agent(request: Request) -> JSONResponse:
        if not authorized(request):
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        if request.path_params["agent_id"] != "polly":
            return JSONResponse({"error": "no such agent"}, status_code=404)
        return JSONResponse({"id": "polly", "name": "Polly"})

    async def chat(request: Request) -> JSONResponse:
        if not authorized(request):
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        said = (await request.json())["message"]
        return JSONResponse({"answer": f"Polly says: {said}"})

    return Starlette(
        routes=[
            Route("/agents", agents),
            Route("/agents/{agent_id}", agent),
            Route("/agents/{agent_id}/chat", chat, methods=["POST"]),
        ]
    )


@pytest.fixture
def parrot_kind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The parrot platform's package, written as the doc says, and its one KINDS entry."""
    package = tmp_path / "parrot_platform"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "settings.py").write_text(textwrap.dedent(SETTINGS))
    (package / "backend.py").write_text(textwrap.dedent(BACKEND))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(KINDS, "parrot", Kind("parrot_platform", "ParrotSettings", "ParrotBackend"))


@pytest.mark.usefixtures("parrot_kind")
async def test_a_platform_written_as_the_doc_says_is_listed_and_chatted_with(mode: str) -> None:
    with serve(parrot_api()) as url:
        settings = make_settings({"birds": {"kind": "parrot", "base_url": url, "token": TOKEN}})
        async with connect(settings, mode) as client:
            backends = (await call_ok(client, "list_backends", {}))["backends"]
            birds = next(b for b in backends if b["name"] == "birds")
            assert birds["kind"] == "parrot"
            assert {"agents", "chat"} <= set(birds["capabilities"])
            agents = await call_ok(client, "list_agents", {"backend": "birds"})
            assert [a["ref"] for a in agents["items"]] == ["birds:polly"]
            answer = await call_ok(client, "chat", {"agent": "birds:polly", "message": "hi"})
            assert (answer["status"], answer["text"]) == ("completed", "Polly says: hi")


@pytest.mark.usefixtures("parrot_kind")
async def test_the_new_platform_s_errors_read_like_every_other_s() -> None:
    with serve(parrot_api()) as url:
        settings = make_settings({"birds": {"kind": "parrot", "base_url": url, "token": "wrong"}})
        refused = await error_once(settings, "list_agents", {"backend": "birds"})
    assert "birds" in refused and "Check `token` of backend 'birds'" in refused
    assert "wrong" not in refused


@pytest.mark.usefixtures("parrot_kind")
async def test_the_new_platform_s_explain_words_its_errors_with_the_call_s_context() -> None:
    with serve(parrot_api()) as url:
        settings = make_settings({"birds": {"kind": "parrot", "base_url": url, "token": TOKEN}})
        missing = await error_once(settings, "get_agent", {"agent": "birds:crow"})
    assert "There is no parrot 'crow' in the flock." in missing
