"""The shared HTTP layer: every backend's pooled client, with auth, timeouts, retries,
size caps, redaction and the one translation of statuses and transport errors into
agentdeck errors; and the decoders of the streamed answers platforms send (SSE, the
data-stream protocol).

- :class:`HttpClient` (``_client``): one backend's requests and streams; the only
  place that retries (see its module).
- :class:`Connection`, :class:`RetryPolicy`, :func:`build_async_client`, :class:`Reply`,
  :class:`RequestOptions`, ``Explain`` (``_config``): what a backend's client is made of.
- :func:`http_client_for` (``_backend_client``): one backend's pooled client and
  :class:`HttpClient`, from the settings every backend kind shares.
- :class:`BearerAuth` (``_auth``): the generic scheme; a platform's own lives in its
  package.
- ``error_for_status`` / ``error_for_transport`` (``_errors``): statuses and transport
  failures as agentdeck errors.
- ``iter_sse``, ``iter_data_stream`` and friends (``_streams``): decoding streamed
  answers into events.
"""

from agentdeck.http._auth import BearerAuth
from agentdeck.http._backend_client import http_client_for
from agentdeck.http._client import HttpClient
from agentdeck.http._config import (
    IDEMPOTENT_METHODS,
    RETRY_STATUSES,
    Connection,
    Explain,
    Reply,
    RequestOptions,
    RetryPolicy,
    build_async_client,
    parse_retry_after,
    tls_context,
)
from agentdeck.http._errors import error_for_status, error_for_transport
from agentdeck.http._streams import (
    DATA_STREAM_PARTS,
    data_stream_events,
    iter_data_stream,
    iter_sse,
    mapped,
    sse_json,
    text_or_none,
    without_nul,
)

__all__ = [
    "DATA_STREAM_PARTS",
    "IDEMPOTENT_METHODS",
    "RETRY_STATUSES",
    "BearerAuth",
    "Connection",
    "Explain",
    "HttpClient",
    "Reply",
    "RequestOptions",
    "RetryPolicy",
    "build_async_client",
    "data_stream_events",
    "error_for_status",
    "error_for_transport",
    "http_client_for",
    "iter_data_stream",
    "iter_sse",
    "mapped",
    "parse_retry_after",
    "sse_json",
    "text_or_none",
    "tls_context",
    "without_nul",
]
