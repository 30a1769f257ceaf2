"""``/connect/<backend>``: the page where a user connects their own key to a per-user backend.

A user arrives from a link agentdeck handed out (``server.client.connect_first``),
whose one-time state says who they are; the page works without their bearer token (a
browser has none) and without JavaScript: a plain form, posted back with the state.
The state is also what makes the post safe from forgery: only the user it was made for
has it, and it works once. The key is checked with the backend's one cheap call
(``check()``) before it is stored, sealed; a refused key is not stored.

The page reflects nothing it was sent: every text on it is fixed or comes from the
configuration (the backend's name), and its answers carry a CSP that allows no script,
no style, no frame and form posts only to itself, and no referrer (the URL holds the
state).
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

from mcp.server.mcpserver import MCPServer
from starlette.requests import Request
from starlette.responses import HTMLResponse

from agentdeck.credentials import Keyring
from agentdeck.errors import AgentdeckError, AuthenticationError, PermissionDeniedError
from agentdeck.server.toolkit import Deck

_MAX_FORM_BYTES = 16_384
_MAX_KEY_CHARS = 4096
_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
_INVALID_LINK = (
    "This link does not work: it expired, was used already, or was made for someone else. "
    "Make the call again in your MCP client for a new one."
)


def serve_connect_pages(server: MCPServer[Any], deck: Callable[[], Deck | None]) -> None:
    """Serve the page on ``server``'s HTTP app; ``deck``: the running server's state."""

    async def connect(request: Request) -> HTMLResponse:
        state = deck()
        backend = request.path_params["backend"]
        keyring = state.registry.keyring if state else None
        settings = state.registry.settings.enabled_backends().get(backend) if state else None
        if state is None or keyring is None or settings is None:
            return _page("Not found", "There is no such page.", status=404)
        if settings.credentials != "per_user":
            return _page("Not found", "There is no such page.", status=404)
        if request.method == "GET":
            owner = await keyring.state(request.query_params.get("state", ""), backend, take=False)
            if owner is None:
                return _page("Link not valid", _INVALID_LINK, status=400)
            return _form(backend, request.query_params["state"])
        return await _connect(state, keyring, backend, request)

    server.custom_route("/connect/{backend}", methods=["GET", "POST"])(connect)


async def _connect(state: Deck, keyring: Keyring, backend: str, request: Request) -> HTMLResponse:
    """The form's post: take the state, check the key with the platform, store it."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > _MAX_FORM_BYTES:
            return _page("Too large", "The form sent is too large.", status=413)
    form = parse_qs(body.decode("utf-8", "replace"), max_num_fields=4)
    owner = await keyring.state(_field(form, "state"), backend, take=True)
    if owner is None:
        return _page("Link not valid", _INVALID_LINK, status=400)
    key = _field(form, "key").strip()
    problem = None
    if not key or len(key) > _MAX_KEY_CHARS:
        problem = "Enter the key."
    else:
        try:
            async with Keyring.trying(key):
                await state.registry.get(backend).check()
        except (AuthenticationError, PermissionDeniedError):
            problem = "The platform refused this key: it was not stored. Check it and try again."
        except AgentdeckError:
            problem = "The key could not be checked now (the platform did not answer as "
            problem += "expected): it was not stored. Try again in a moment."
    if problem is not None:
        again = await keyring.new_state(owner, backend)
        return _form(backend, again, problem=problem, status=400)
    await keyring.save(owner, backend, key)
    return _page(
        "Connected",
        f"Your key is connected to '{backend}'. Go back to your MCP client: the call goes "
        "on, or make it again.",
    )


def _field(form: dict[str, list[str]], name: str) -> str:
    values = form.get(name) or [""]
    return values[0]


def _form(
    backend: str, state: str, *, problem: str | None = None, status: int = 200
) -> HTMLResponse:
    name = html.escape(backend)
    said = f"<p><strong>{html.escape(problem)}</strong></p>" if problem else ""
    body = (
        f"<p>Enter your own key for the backend '{name}'. agentdeck checks it with the "
        "platform, keeps it encrypted and uses it only for your calls.</p>"
        f"{said}"
        '<form method="post">'
        f'<input type="hidden" name="state" value="{html.escape(state)}">'
        '<p><label>Key <input type="password" name="key" autocomplete="off" required>'
        "</label></p>"
        '<p><button type="submit">Connect</button></p></form>'
    )
    return _page(f"Connect {backend}", body, status=status, escaped=True)


def _page(title: str, body: str, *, status: int = 200, escaped: bool = False) -> HTMLResponse:
    content = body if escaped else f"<p>{html.escape(body)}</p>"
    document = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>agentdeck: {html.escape(title)}</title></head>"
        f"<body><h1>{html.escape(title)}</h1>{content}</body></html>"
    )
    return HTMLResponse(document, status_code=status, headers=_HEADERS)
