"""Sending a user to connect their key when a per-user backend has none of theirs.

The key must not pass through the model or the MCP messages, so the user is sent to
agentdeck's own page (``/connect/<backend>``, served by ``server.transport``)
with a one-time state bound to them: URL-mode elicitation. A 2025-11-25 client that
takes URL elicitations is asked mid-call; the call waits (a bounded while) for the key
to arrive, then goes on. Any other client (and every 2026-07-28 one, which cannot be
sent requests) gets the ``-32042`` error "URL elicitation required" carrying the same
link, and calls again once the user has connected.
"""

from __future__ import annotations

import uuid

import anyio
from mcp.server.mcpserver import Context
from mcp.shared.exceptions import NoBackChannelError, UrlElicitationRequiredError
from mcp.types import ElicitRequestURLParams

from agentdeck.credentials import Keyring
from agentdeck.errors import CredentialsRequiredError
from agentdeck.server.client._abilities import can_elicit_urls, is_modern

#: How long a call waits for the user to connect their key after accepting to.
CONNECT_WAIT_SECONDS = 300.0
_POLL_SECONDS = 0.5


async def connect_first(
    ctx: Context, error: CredentialsRequiredError, keyring: Keyring | None
) -> None:
    """Have the user of ``error`` connect their key to its backend, kept in ``keyring``;
    return once they did (the call may then be made again), else raise what the client
    should get."""
    request = ctx.request_context.request
    owner, backend = error.owner, error.backend
    if owner is None or keyring is None or request is None or backend is None:
        raise error
    state = await keyring.new_state(owner, backend)
    elicitation_id = str(uuid.uuid4())
    link = ElicitRequestURLParams(
        message=f"Connect your own key to agentdeck's backend '{backend}' on this page; "
        "it is kept encrypted and never passes through the chat.",
        url=f"{str(request.base_url).rstrip('/')}/connect/{backend}?state={state}",
        elicitation_id=elicitation_id,
    )
    if is_modern(ctx) or not can_elicit_urls(ctx):
        raise _link_required(link)
    try:
        answer = await ctx.elicit_url(link.message, link.url, elicitation_id)
    except NoBackChannelError:  # a request with no way back to the client
        raise _link_required(link) from None
    if answer.action != "accept":
        raise CredentialsRequiredError(backend, owner).refined(
            message="no key is connected to this backend (the link was declined)."
        )
    with anyio.move_on_after(CONNECT_WAIT_SECONDS):
        # read from the store: the page may be served by another replica
        while await keyring.key(owner, backend) is None:  # noqa: ASYNC110
            await anyio.sleep(_POLL_SECONDS)
        await ctx.request_context.session.send_elicit_complete(
            elicitation_id, related_request_id=ctx.request_id
        )
        return
    raise CredentialsRequiredError(backend, owner).refined(
        message="no key was connected in time; call again once it is."
    )


def _link_required(link: ElicitRequestURLParams) -> UrlElicitationRequiredError:
    """The -32042 error: the client opens the link, then makes the call again."""
    return UrlElicitationRequiredError([link], f"{link.message} Then make the call again.")
