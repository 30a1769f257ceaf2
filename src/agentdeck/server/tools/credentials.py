"""Forgetting the key a user connected to a per-user backend (served only when one is)."""

from mcp.server.mcpserver import Context
from pydantic import BaseModel

from agentdeck.backends.settings import is_per_user
from agentdeck.errors import CredentialsRequiredError, InvalidInputError
from agentdeck.server.oauth import current_principal
from agentdeck.server.toolkit import Toolbox, deck
from agentdeck.server.tools import BackendName

toolbox = Toolbox("agents", needs=is_per_user)


class Forgotten(BaseModel):
    forgotten: bool
    message: str


@toolbox.tool(
    title="Forget my key",
    read_only=False,
    destructive=False,  # the user can connect a key again at any time
    idempotent=True,
    open_world=False,
)
async def forget_key(ctx: Context, backend: BackendName) -> Forgotten:
    """Forget the key you connected to a per-user backend; its next call asks again."""
    registry = deck(ctx).registry
    settings = registry.get(backend).settings
    if registry.keyring is None or settings.credentials != "per_user":
        raise InvalidInputError(
            f"backend '{backend}' uses the key in the config, not one of yours.",
            hint='Only backends with credentials = "per_user" hold keys users connect.',
        )
    owner = current_principal()
    if owner is None:
        raise CredentialsRequiredError(backend, None)
    forgotten = await registry.keyring.forget(owner, backend)
    said = "Your key was forgotten." if forgotten else "You had no key connected."
    return Forgotten(forgotten=forgotten, message=f"{said} The next call asks for one.")
