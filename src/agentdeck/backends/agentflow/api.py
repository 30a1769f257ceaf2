"""AgentFlow's HTTP plumbing: where the API lives, the one way requests are made, paging, ids.

Every part of the backend (agents, chat, pauses, approvals) talks to AgentFlow through
one :class:`AgentFlowApi`, so every list is paged and read alike; its HTTP client words
every failed call by the backend's ``explain``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from agentdeck.backends.agentflow.shapes import SUBAGENT_SEPARATOR, items_of, window
from agentdeck.backends.kit import (
    HttpClient,
    InvalidInputError,
    Ref,
    UnsupportedError,
    parse_offset,
)

#: Every route but the probes lives under this prefix of the deployment's root.
API = "/api/v1"


def segment(value: str) -> str:
    """An id as one URL path segment, so no id can reach another route."""
    return quote(value, safe="")


class AgentFlowApi:
    """Requests to one AgentFlow deployment, as the backend named ``name`` makes them."""

    def __init__(self, name: str, http: HttpClient) -> None:
        self.name = name
        self.http = http

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        answering: str = "",
    ) -> Any:
        """The decoded answer; ``answering`` names the approval or question being answered,
        so a 409/410 can say it was answered already or has expired."""
        return await self.http.request(
            method, path, params=params, json=json, context={"answering": answering}
        )

    async def read_list(
        self, method: str, path: str, key: str, params: dict[str, Any], json: Any = None
    ) -> list[dict[str, Any]]:
        """Every object of a list answer (the objects under ``key``, or a bare list)."""
        body = await self.request(method, path, params=params, json=json)
        return items_of(body, key, backend=self.name, operation=f"{method} {path}")

    async def page(
        self, path: str, key: str, *, limit: int, cursor: str | None, params: dict[str, Any]
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of a list and the cursor of the next (None on the last page).

        Asks for one more than ``limit`` so a list without a total still shows whether
        another page follows.
        """
        offset = parse_offset(cursor)
        params = {**params, "limit": limit + 1, "offset": offset}
        body = await self.request("GET", path, params=params)
        items = items_of(body, key, backend=self.name, operation=f"GET {path}")
        return window(body, items, offset=offset, limit=limit)

    def split(self, agent_id: str) -> tuple[str, str | None]:
        """An agent id as (parent id, sub-agent id or None)."""
        parent, sep, sub = agent_id.partition(SUBAGENT_SEPARATOR)
        if sep and (not parent or not sub or SUBAGENT_SEPARATOR in sub):
            raise InvalidInputError(
                f"'{agent_id}' is not an AgentFlow agent id; sub-agents are addressed as "
                f"'{self.name}:<parent id>{SUBAGENT_SEPARATOR}<sub-agent id>'.",
                backend=self.name,
            )
        return parent, sub or None

    def top_level(self, agent_id: str, refusal: str, how: str) -> str:
        """The id of ``agent_id`` when it names a top-level agent; a sub-agent is refused
        with ``refusal``, pointing at its parent (``how``: what to do through it)."""
        parent, sub = self.split(agent_id)
        if sub is not None:
            raise UnsupportedError(
                refusal,
                backend=self.name,
                hint=f"{how} through the parent agent '{self.name}:{parent}'.",
            )
        return parent

    def own_id(self, value: Any, option: str) -> str:
        """An id given in ``options.<option>`` as a bare id or as a ref on this backend."""
        if not isinstance(value, str) or not value.strip():
            raise InvalidInputError(
                f"options.{option} must be an agent ref ('{self.name}:<id>') or id.",
                backend=self.name,
            )
        ref = Ref.parse(value, what=f"options.{option}")
        if ref.id is None:
            return ref.backend
        if ref.backend != self.name:
            raise InvalidInputError(
                f"options.{option} '{value}' is on backend '{ref.backend}', not '{self.name}'.",
                backend=self.name,
            )
        return ref.id
