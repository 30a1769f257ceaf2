"""Plumbing the AgentFlow backend modules share: connection, paths, paging, ids, options."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from agentdeck.backends.agentflow.settings import AgentFlowSettings
from agentdeck.backends.agentflow.shapes import SUBAGENT_SEPARATOR, items_of, window
from agentdeck.backends.base import Backend
from agentdeck.errors import InvalidInputError
from agentdeck.http import BearerAuth, Connection
from agentdeck.model import Ref
from agentdeck.pagination import parse_offset

#: Every route but the probes lives under this prefix of the deployment's root.
API = "/api/v1"


def segment(value: str) -> str:
    """An id as one URL path segment, so no id can reach another route."""
    return quote(value, safe="")


class AgentFlowBase(Backend):
    """Connection and request helpers; the capabilities live in the subclasses."""

    kind = "agentflow"
    settings: AgentFlowSettings

    @classmethod
    def connection(cls, name: str, settings: AgentFlowSettings) -> Connection:
        token = settings.token.get_secret_value()
        base_url = settings.base_url.rstrip("/").removesuffix(API)
        return Connection(
            base_url=base_url,
            auth=BearerAuth(token),
            secrets=(token,),
            credential_hint=(
                f"Check `token` of [backends.{name}] in the config: it must be a bearer token "
                "issued by this AgentFlow deployment."
            ),
        )

    # ---- plumbing ------------------------------------------------------------------------

    async def _list(
        self, method: str, path: str, key: str, params: dict[str, Any], json: Any = None
    ) -> list[dict[str, Any]]:
        body = await self.http.request(method, path, params=params, json=json)
        return items_of(body, key, backend=self.name, operation=f"{method} {path}")

    async def _page(
        self, path: str, key: str, *, limit: int, cursor: str | None, params: dict[str, Any]
    ) -> tuple[list[dict[str, Any]], str | None]:
        offset = parse_offset(cursor)
        params = {**params, "limit": limit + 1, "offset": offset}
        body = await self.http.request("GET", path, params=params)
        items = items_of(body, key, backend=self.name, operation=f"GET {path}")
        return window(body, items, offset=offset, limit=limit)

    def _split(self, agent_id: str) -> tuple[str, str | None]:
        """An agent id as (parent id, sub-agent id or None)."""
        parent, sep, sub = agent_id.partition(SUBAGENT_SEPARATOR)
        if sep and (not parent or not sub or SUBAGENT_SEPARATOR in sub):
            raise InvalidInputError(
                f"'{agent_id}' is not an AgentFlow agent id; sub-agents are addressed as "
                f"'{self.name}:<parent id>{SUBAGENT_SEPARATOR}<sub-agent id>'.",
                backend=self.name,
            )
        return parent, sub or None

    def _own_id(self, value: Any, option: str) -> str:
        """An id given as a bare id or as a ref on this backend."""
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
