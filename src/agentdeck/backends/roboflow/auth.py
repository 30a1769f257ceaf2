"""Roboflow's authentication scheme: the API key in the query of a read and in the JSON
body of a write."""

from __future__ import annotations

import json
from collections.abc import Generator

import httpx2


class ApiKeyAuth(httpx2.Auth):
    """An API key sent as a query parameter on reads and in the JSON body on writes (Roboflow)."""

    requires_request_body = True

    def __init__(self, key: str, name: str = "api_key") -> None:
        self._key = key
        self._name = name

    def auth_flow(
        self, request: httpx2.Request
    ) -> Generator[httpx2.Request, httpx2.Response, None]:
        content_type = request.headers.get("content-type", "")
        if request.method in {"POST", "PUT", "PATCH"} and content_type.startswith(
            "application/json"
        ):
            body = json.loads(request.content or b"{}")
            if isinstance(body, dict):
                body[self._name] = self._key
                headers = {
                    k: v for k, v in request.headers.items() if k.lower() != "content-length"
                }
                yield httpx2.Request(
                    request.method,
                    request.url,
                    headers=headers,
                    json=body,
                    extensions=request.extensions,
                )
                return
        request.url = request.url.copy_merge_params({self._name: self._key})
        yield request
