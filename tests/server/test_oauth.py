"""Issue 23.1: agentdeck as an OAuth 2.1 resource server (``[server.auth]``), against a
test authorization server issuing RS256 JWTs (``tests/server/oauth_issuer.py``).

``agentdeck serve --transport http`` runs as a subprocess, finding the issuer's keys
through its OpenID Connect metadata; every refusal the issue lists has a case here.
"""

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import httpx2
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from starlette.requests import Request
from starlette.responses import Response

from agentdeck.config import AuthSettings
from agentdeck.errors import ConfigError
from agentdeck.server import all_tools, build_server
from agentdeck.server.oauth import (
    RETRY_SECONDS,
    IntrospectionVerifier,
    JwtVerifier,
    ScopePolicy,
    verifier_for,
)
from agentdeck.server.transport import build_http_app
from agentdeck.store import NewAgent, open_store
from tests.fakes.base import Served
from tests.fakes.openai import FakeOpenAI
from tests.npm import JS
from tests.server.oauth_issuer import INTROSPECTION_CLIENT, SCOPES, TestIssuer, rsa_key
from tests.support import make_settings, ok
from tests.test_end_to_end import free_port, http_server

pytestmark = pytest.mark.anyio

CONFIG = """
[server.auth]
issuer = "{issuer}"
audience = "{audience}"

[backends.local]
kind = "local"
database = "{database}"
{model}
"""
ACCEPT = {"Accept": "application/json, text/event-stream"}
READ, CHAT, MANAGE = SCOPES


class Deployment:
    """A running agentdeck protected by a running test issuer."""

    def __init__(self, issuer: TestIssuer, base: str) -> None:
        self.issuer = issuer
        self.base = base
        self.audience = f"{base}/mcp"

    def token(self, scopes: list[str] = SCOPES, subject: str = "alice", **claims: Any) -> str:
        return self.issuer.mint(self.issuer.claims(subject, scopes, self.audience, **claims))

    def post(self, message: dict[str, Any], token: str | None = None) -> httpx2.Response:
        headers = dict(ACCEPT)
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return httpx2.post(self.audience, json=message, headers=headers, timeout=10)


@contextmanager
def deployed(
    folder: Path, model: str = 'model = "echo"', *extra: str, **env: str
) -> Iterator[Deployment]:
    """A test issuer and ``agentdeck serve --transport http`` trusting it."""
    with TestIssuer().running() as issuer:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        config = folder / "agentdeck.toml"
        config.write_text(
            CONFIG.format(
                issuer=issuer.url, audience=f"{base}/mcp", database=folder / "local.db", model=model
            )
        )
        with http_server(config, *extra, port=port, env={"AGENTDECK_HTTP_TOKEN": "", **env}):
            yield Deployment(issuer, base)


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    with deployed(tmp_path_factory.mktemp("oauth")) as running:
        yield running


def call(tool: str, arguments: dict[str, Any] | None = None) -> dict[str, Any]:
    params = {"name": tool, "arguments": arguments or {}}
    return {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": params}


def challenge(response: httpx2.Response) -> dict[str, str]:
    """The parameters of a ``WWW-Authenticate: Bearer k="v", …`` header."""
    scheme, _, rest = response.headers["www-authenticate"].partition(" ")
    assert scheme == "Bearer"
    pairs = (part.strip().split("=", 1) for part in rest.split(", "))
    return {key: value.strip('"') for key, value in pairs}


def hs256(claims: dict[str, Any], secret: bytes, kid: str = "k1") -> str:
    """An HMAC-signed JWT, written by hand: PyJWT refuses to sign with a PEM public key."""

    def part(data: dict[str, Any]) -> bytes:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=")

    signed = part({"alg": "HS256", "typ": "JWT", "kid": kid}) + b"." + part(claims)
    mac = base64.urlsafe_b64encode(hmac.new(secret, signed, hashlib.sha256).digest()).rstrip(b"=")
    return (signed + b"." + mac).decode()


def test_23_1_metadata_names_the_resource_its_issuer_and_scopes(deployment: Deployment) -> None:
    for path in (
        "/.well-known/oauth-protected-resource",
        "/.well-known/oauth-protected-resource/mcp",
    ):
        metadata = httpx2.get(deployment.base + path, timeout=10).json()
        assert metadata["resource"] == deployment.audience
        assert metadata["authorization_servers"] == [deployment.issuer.url]
        assert metadata["scopes_supported"] == SCOPES


def test_23_1_no_token_is_a_401_pointing_at_the_metadata(deployment: Deployment) -> None:
    answer = deployment.post(call("list_backends"))
    assert answer.status_code == 401
    assert challenge(answer) == {
        "resource_metadata": f"{deployment.base}/.well-known/oauth-protected-resource/mcp"
    }
    assert deployment.post(call("list_backends"), token=None).status_code == 401
    assert httpx2.get(f"{deployment.base}/healthz", timeout=10).status_code == 200


def _bad_tokens(deployment: Deployment) -> dict[str, str]:
    issuer = deployment.issuer
    good = issuer.claims("alice", SCOPES, deployment.audience)
    now = int(time.time())
    public_pem = (
        issuer.keys["k1"]
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    return {
        "other issuer": issuer.mint({**good, "iss": "http://127.0.0.1:1/elsewhere"}),
        "other audience": issuer.mint({**good, "aud": "http://127.0.0.1:1/mcp"}),
        "expired": issuer.mint({**good, "exp": now - 120, "nbf": now - 600}),
        "not yet valid": issuer.mint({**good, "nbf": now + 600}),
        "no subject": issuer.mint({k: v for k, v in good.items() if k != "sub"}),
        "wrong signature": issuer.mint(good, kid="k1", key=rsa_key()),
        "alg none": jwt.encode(good, None, algorithm="none", headers={"kid": "k1"}),
        "HS256 with the public key": hs256(good, public_pem),
        "unknown key id": issuer.mint(good, kid="ghost", key=rsa_key()),
        "not a JWT": "opaque-garbage",
    }


BAD_TOKEN_CASES = [
    "other issuer",
    "other audience",
    "expired",
    "not yet valid",
    "no subject",
    "wrong signature",
    "alg none",
    "HS256 with the public key",
    "unknown key id",
    "not a JWT",
]


@pytest.mark.parametrize("case", BAD_TOKEN_CASES)
def test_23_1_a_bad_token_is_a_401_invalid_token(deployment: Deployment, case: str) -> None:
    answer = deployment.post(call("list_backends"), token=_bad_tokens(deployment)[case])
    assert answer.status_code == 401
    assert challenge(answer) == {
        "resource_metadata": f"{deployment.base}/.well-known/oauth-protected-resource/mcp",
        "error": "invalid_token",
    }


def test_23_1_a_call_beyond_the_tokens_scopes_is_a_403_naming_the_scope(
    deployment: Deployment,
) -> None:
    reader = deployment.token([READ])
    for tool, needed in [("chat", CHAT), ("cancel_run", CHAT), ("create_agent", MANAGE)]:
        answer = deployment.post(call(tool, {"agent": "local:x", "message": "hi"}), token=reader)
        assert answer.status_code == 403, tool
        assert challenge(answer)["error"] == "insufficient_scope"
        assert challenge(answer)["scope"] == f"{READ} {needed}"
        assert needed in answer.json()["error_description"]
    task = {"jsonrpc": "2.0", "id": 2, "method": "tasks/get", "params": {"taskId": "t1"}}
    assert challenge(deployment.post(task, token=reader))["scope"] == f"{READ} {CHAT}"
    chatter = deployment.token([CHAT])  # every request needs read
    assert challenge(deployment.post(call("list_backends"), token=chatter))["scope"] == READ
    stream = httpx2.get(
        deployment.audience, headers={**ACCEPT, "Authorization": f"Bearer {chatter}"}, timeout=10
    )
    assert stream.status_code == 403 and challenge(stream)["scope"] == READ


async def listed_and_called(
    deployment: Deployment, token: str, mode: str, tool: str, arguments: dict[str, Any]
) -> tuple[set[str], Any]:
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx2.AsyncClient(headers=headers, timeout=30) as http:
        transport = streamable_http_client(deployment.audience, http_client=http)
        with anyio.fail_after(30):
            async with Client(transport, mode=mode) as client:
                names = {t.name for t in (await client.list_tools()).tools}
                return names, await client.call_tool(tool, arguments)


async def test_23_1_the_tool_list_shows_only_what_the_token_allows(
    deployment: Deployment, mode: str
) -> None:
    read_only, _ = await listed_and_called(
        deployment, deployment.token([READ]), mode, "list_backends", {}
    )
    chatting, _ = await listed_and_called(
        deployment, deployment.token([READ, CHAT]), mode, "list_backends", {}
    )
    everything, made = await listed_and_called(
        deployment, deployment.token(), mode, "create_agent", {"backend": "local", "name": "Ann"}
    )
    assert {"list_agents", "get_run", "list_backends"} <= read_only
    assert not {"chat", "cancel_run", "create_agent"} & read_only
    assert {"chat", "cancel_run"} <= chatting
    assert "create_agent" not in chatting
    assert {"chat", "create_agent", "delete_agent"} <= everything
    assert ok(made)["name"] == "Ann"


def test_23_1_each_tool_needs_the_scope_its_declaration_calls_for() -> None:
    policy = ScopePolicy.of(_auth("https://id.example.com"), all_tools())
    needs = {name: policy.tool_scopes(name)[-1] for name in policy.tools}
    assert {needs[n] for n in ("list_agents", "get_run", "get_conversation")} == {READ}
    chatting = ("chat", "cancel_run", "answer_question", "respond_to_approval")
    assert {needs[n] for n in chatting} == {CHAT}
    managing = ("create_agent", "delete_agent", "publish_workflow", "run_agent_tool")
    assert {needs[n] for n in managing} == {MANAGE}
    assert policy.tool_scopes("ask_support_bot") == [READ, CHAT]  # a per-agent tool


async def test_23_1_a_reader_cannot_chat_and_a_chatter_can(deployment: Deployment) -> None:
    _, made = await listed_and_called(
        deployment, deployment.token(), "auto", "create_agent", {"backend": "local", "name": "Bo"}
    )
    chat = {"agent": ok(made)["ref"], "message": "hello"}
    _, answer = await listed_and_called(
        deployment, deployment.token([READ, CHAT]), "auto", "chat", chat
    )
    assert ok(answer)["text"] == "You said: hello"


def _auth(issuer: str, **more: Any) -> AuthSettings:
    return AuthSettings(issuer=issuer, audience="http://127.0.0.1:9/mcp", **more)


async def test_23_1_an_unknown_key_id_fetches_the_keys_again_at_most_once_per_floor() -> None:
    with TestIssuer().running() as issuer:
        verifier = JwtVerifier(_auth(issuer.url, jwks_url=f"{issuer.url}/jwks"), refetch_floor=2)
        claims = issuer.claims("alice", SCOPES, "http://127.0.0.1:9/mcp")
        assert await verifier.verify_token(issuer.mint(claims)) is not None
        assert issuer.jwks_fetches == 1
        issuer.keys["k2"] = rsa_key()  # the issuer rotates its keys
        made_up = issuer.mint(claims, kid="ghost", key=rsa_key())
        await anyio.sleep(2)
        rotated = await verifier.verify_token(issuer.mint(claims, kid="k2"))
        assert rotated is not None and rotated.subject == "alice"
        assert issuer.jwks_fetches == 2
        for _ in range(5):  # made-up key ids within the floor fetch nothing
            assert await verifier.verify_token(made_up) is None
        assert issuer.jwks_fetches == 2
        # cached keys: no request per verification
        assert await verifier.verify_token(issuer.mint(claims, kid="k2")) is not None
        assert issuer.jwks_fetches == 2


async def test_23_1_an_issuer_unreachable_at_first_is_tried_again_within_seconds() -> None:
    with TestIssuer(jwks_down=True).running() as issuer:
        verifier = JwtVerifier(_auth(issuer.url, jwks_url=f"{issuer.url}/jwks"))
        token = issuer.mint(issuer.claims("eve", SCOPES, "http://127.0.0.1:9/mcp"))
        assert await verifier.verify_token(token) is None
        issuer.jwks_down = False
        assert await verifier.verify_token(token) is None  # not at once
        assert issuer.jwks_fetches == 1
        await anyio.sleep(RETRY_SECONDS)
        assert await verifier.verify_token(token) is not None
        assert issuer.jwks_fetches == 2


async def test_23_1_opaque_tokens_are_checked_by_introspection() -> None:
    with TestIssuer().running() as issuer:
        settings = _auth(
            issuer.url,
            introspection_url=f"{issuer.url}/introspect",
            client_id=INTROSPECTION_CLIENT[0],
            client_secret=INTROSPECTION_CLIENT[1],
        )
        verifier = verifier_for(settings)
        assert isinstance(verifier, IntrospectionVerifier)
        audience = "http://127.0.0.1:9/mcp"
        for token, claims in {
            "good": issuer.claims("bob", [READ], audience),
            "elsewhere": issuer.claims("bob", [READ], "http://127.0.0.1:1/mcp"),
            "foreign": {**issuer.claims("bob", [READ], audience), "iss": "http://other"},
        }.items():
            issuer.issued[token] = claims
        good = await verifier.verify_token("good")
        assert good is not None and (good.subject, good.scopes) == ("bob", [READ])
        for refused in ("elsewhere", "foreign", "never-issued"):
            assert await verifier.verify_token(refused) is None, refused
        await verifier.aclose()


def test_23_1_auth_and_a_static_token_exclude_each_other_and_either_allows_a_public_bind() -> None:
    settings = make_settings()
    settings.server.auth = _auth("https://id.example.com")
    server = build_server(settings)
    with pytest.raises(ConfigError, match="not both"):
        build_http_app(
            server, host="0.0.0.0", token="a-long-enough-token-0123", limits=settings.server
        )
    assert build_http_app(server, host="0.0.0.0", token=None, limits=settings.server)
    with pytest.raises(ConfigError, match=r"\[server.auth\]"):
        build_http_app(build_server(make_settings()), host="0.0.0.0", token=None)


def test_23_1_introspection_needs_agentdecks_client_credentials() -> None:
    with pytest.raises(ValueError, match="client_id and client_secret"):
        _auth("https://id.example.com", introspection_url="https://id.example.com/introspect")
    with pytest.raises(ValueError, match="not both"):
        _auth(
            "https://id.example.com",
            jwks_url="https://id.example.com/jwks",
            introspection_url="https://id.example.com/introspect",
            client_id="a",
            client_secret="b",
        )


async def signed_in_by_typescript(node: str, *args: str) -> dict[str, Any]:
    """What ``tests/js/oauth.mjs`` saw, or the test fails with its reason."""
    with anyio.fail_after(120):
        done = await anyio.run_process([node, "oauth.mjs", *args], cwd=JS, check=False)
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    return dict(json.loads(done.stdout.decode().strip().splitlines()[-1]))


async def test_23_4_the_typescript_client_signs_in_through_the_whole_flow_and_chats(
    deployment: Deployment, node: str
) -> None:
    deployment.issuer.user = "carol"
    seen = await signed_in_by_typescript(node, deployment.audience)
    assert seen["registered"] and seen["token"]
    assert seen["pkce"] == "S256"
    assert seen["resource"] == deployment.audience
    assert seen["scope"] == " ".join(SCOPES)
    assert {"chat", "create_agent"} <= set(seen["tools"])
    assert seen["reply"] == "You said: over oauth"


async def test_23_1_token_audience_is_the_aud_checked_when_the_provider_sets_its_own() -> None:
    """Microsoft Entra ID v2 puts the application ID in `aud`, not the resource URL."""
    with TestIssuer().running() as issuer:
        settings = _auth(issuer.url, jwks_url=f"{issuer.url}/jwks", token_audience="app-id-1")
        verifier = JwtVerifier(settings)
        as_entra = issuer.mint(issuer.claims("dan", SCOPES, "app-id-1"))
        as_resource = issuer.mint(issuer.claims("dan", SCOPES, settings.audience))
        assert await verifier.verify_token(as_entra) is not None
        assert await verifier.verify_token(as_resource) is None


@dataclass
class HeardOpenAI(FakeOpenAI):
    """The fake model, keeping the headers of every request."""

    headers: list[dict[str, str]] = field(default_factory=list)

    async def completions(self, request: Request) -> Response:
        self.headers.append(dict(request.headers))
        return await super().completions(request)


async def test_23_1_the_clients_token_never_reaches_a_platform(
    served: Served, tmp_path: Path
) -> None:
    model = HeardOpenAI(api_key="model-key-0123456789")
    url = served(model)
    settings = f'model = "openai"\nopenai_base_url = "{url}/v1"\nopenai_model = "m"\n'
    settings += 'openai_api_key = "${MODEL_KEY}"'
    with deployed(tmp_path, settings, MODEL_KEY=model.api_key or "") as deployment:
        token = deployment.token()
        _, made = await listed_and_called(
            deployment, token, "auto", "create_agent", {"backend": "local", "name": "Cy"}
        )
        _, answer = await listed_and_called(
            deployment, token, "auto", "chat", {"agent": ok(made)["ref"], "message": "hi"}
        )
    assert "heard 'hi'" in ok(answer)["text"]
    assert model.headers
    for headers in model.headers:
        assert headers["authorization"] == f"Bearer {model.api_key}"
        assert not any(token in value for value in headers.values())


async def test_23_1_scopes_hold_over_stateless_http(tmp_path: Path) -> None:
    with deployed(tmp_path, 'model = "echo"', "--stateless") as deployment:
        reader, _ = await listed_and_called(
            deployment, deployment.token([READ]), "auto", "list_backends", {}
        )
        _, made = await listed_and_called(
            deployment,
            deployment.token(),
            "auto",
            "create_agent",
            {"backend": "local", "name": "S"},
        )
        chat = call("chat", {"agent": ok(made)["ref"], "message": "hi"})
        refused = deployment.post(chat, token=deployment.token([READ]))
    assert "chat" not in reader and "list_agents" in reader
    assert refused.status_code == 403 and challenge(refused)["scope"] == f"{READ} {CHAT}"


async def test_23_4_a_reader_is_told_the_scope_to_chat_and_the_typescript_client_steps_up(
    deployment: Deployment, node: str
) -> None:
    """A user granted only agentdeck:read sees no chat tool; calling it anyway is a 403
    naming agentdeck:chat, which the official client asks the user for, then chats."""
    _, made = await listed_and_called(
        deployment,
        deployment.token(subject="reader"),
        "auto",
        "create_agent",
        {"backend": "local", "name": "Stepper"},
    )
    deployment.issuer.user = "reader"
    deployment.issuer.next_grants = [[READ], list(SCOPES)]
    seen = await signed_in_by_typescript(node, deployment.audience, ok(made)["ref"])
    assert "chat" not in seen["tools"] and "list_agents" in seen["tools"]
    assert seen["asked"] == [" ".join(SCOPES), f"{READ} {CHAT}"]
    assert seen["reply"] == "You said: stepped up"


async def test_23_2_with_users_no_local_agent_becomes_a_tool_of_the_shared_list(
    tmp_path: Path,
) -> None:
    """23.2: an agent made before sign-in was turned on belongs to nobody who can use it,
    and the tool list is one for every user: with [server.auth], local agents are not
    exposed as tools (a platform's still are)."""
    async with open_store(str(tmp_path / "local.db")) as store:
        await store.create_agent(
            NewAgent(
                name="Made Before", description=None, instructions=None, model=None, options={}
            )
        )
    with deployed(tmp_path, 'model = "echo"\nexpose_agents = true') as deployment:
        names, _ = await listed_and_called(
            deployment, deployment.token(), "auto", "list_backends", {}
        )
    assert "chat" in names
    assert not [name for name in names if name.startswith("local_")]
