"""How the server is reached: stdio (stopping cleanly on a signal, answering unreadable
lines), and Streamable HTTP (``/mcp`` behind a bearer token or OAuth, ``/healthz``, the
``/connect`` pages for per-user keys), with limits on slow clients and connections and
streams a client can resume after a dropped connection.
"""

from agentdeck.server.transport._connect_page import serve_connect_pages
from agentdeck.server.transport._http import (
    BearerTokenMiddleware,
    build_http_app,
    health_endpoint,
    listen,
    serve_http,
)
from agentdeck.server.transport._limits import fit_open_files
from agentdeck.server.transport._stdio import serve_stdio
from agentdeck.server.transport._stream_events import StreamEvents

__all__ = [
    "BearerTokenMiddleware",
    "StreamEvents",
    "build_http_app",
    "fit_open_files",
    "health_endpoint",
    "listen",
    "serve_connect_pages",
    "serve_http",
    "serve_stdio",
]
