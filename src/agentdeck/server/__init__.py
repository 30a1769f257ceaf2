"""The MCP surface: tools, resources and prompts over the registry; nothing platform-specific.

Built by :func:`build_server` (``_app``: the lifespan that opens the backends and the
runs, and the wiring) as one :class:`DeckServer` (``_server``), serving the tools this
configuration can serve (``_surface``). Its rooms:

- ``tools``: the toolsets, one module each, and the parameter types they share;
  ``toolkit``: what every tool is made of, the server's state, and the one exit for
  what a tool sends back;
- ``chat``: the chat path, from a ``chat`` call (or a per-agent tool) to its answer;
- ``client``: asking the client's user or model, notifications and log messages;
- ``conversations``: reading conversations, a page at a time, as Markdown;
- ``tasks``: chat runs as MCP tasks (``tasks.protocols`` serves both eras' forms);
- ``oauth``: users, their scopes, and the resource server that checks their tokens;
- ``transport``: stdio and Streamable HTTP;
- ``views``: the MCP Apps views.

Beside them, the resources (``_resources``), prompts (``_prompts``), completions
(``_completions``), readable argument errors (``_arguments``), the one place agentdeck
reaches under the SDK (``sdk_seams``) and the generated tool reference (``docs``).
"""

from agentdeck.server._app import build_server
from agentdeck.server._resources import AGENT_URI, WORKFLOW_URI
from agentdeck.server._server import DeckServer
from agentdeck.server._surface import all_tools, enabled_tools
from agentdeck.server.conversations import CONVERSATION_URI, conversation_uri

__all__ = [
    "AGENT_URI",
    "CONVERSATION_URI",
    "WORKFLOW_URI",
    "DeckServer",
    "all_tools",
    "build_server",
    "conversation_uri",
    "enabled_tools",
]
