"""The pooled client of one backend, built from the settings every backend kind shares."""

from __future__ import annotations

from typing import Any

import httpx2

from agentdeck.http._client import HttpClient
from agentdeck.http._config import Connection, RetryPolicy, build_async_client


def http_client_for(
    name: str, settings: Any, connection: Connection
) -> tuple[httpx2.AsyncClient, HttpClient]:
    """The pooled client of backend ``name`` (its common settings: timeouts, retries,
    size cap) for ``connection``: the registry builds every backend's with it, and the
    local backend one for each model server ``auto`` finds."""
    client = build_async_client(
        connection.base_url,
        auth=connection.auth,
        timeout=settings.timeout,
        max_connections=settings.max_connections,
    )
    http = HttpClient(
        client,
        backend=name,
        secrets=connection.secrets,
        retry=RetryPolicy(max_retries=settings.max_retries, max_wait=settings.retry_max_wait),
        stream_timeout=settings.stream_timeout,
        max_response_bytes=settings.max_response_bytes,
        credential_hint=connection.credential_hint,
    )
    return client, http
