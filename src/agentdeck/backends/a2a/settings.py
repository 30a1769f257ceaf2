"""Settings of an A2A backend: the agents it reaches and the headers it sends them.

Kept free of the A2A SDK: this module is read whenever a config is loaded, the SDK only
when an ``a2a`` backend is built.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, SecretStr

from agentdeck.backends.settings import BackendCommon, Strict

#: Header names whose values are credentials, redacted wherever they would appear.
_CREDENTIAL = re.compile(r"auth|cookie|key|token|secret|session|password|signature", re.I)
#: Where an agent publishes its card, relative to its base URL (A2A 1.0).
CARD_PATH = "/.well-known/agent-card.json"


class A2AAgentEntry(Strict):
    """One agent in the table form, for an agent that needs headers of its own."""

    url: str = Field(description="The agent's base URL, or its card's own URL (ending in .json).")
    headers: dict[str, SecretStr] = Field(
        default_factory=dict,
        description="Headers sent to this agent only, over the backend's `headers`.",
    )

    def card_url(self) -> str:
        """Where the card is: the URL itself when it names a JSON file, else the well-known path."""
        url = self.url.rstrip("/")
        return url if url.endswith(".json") else url + CARD_PATH


class A2ASettings(BackendCommon):
    kind: Literal["a2a"]
    agents: list[str | A2AAgentEntry] = Field(
        min_length=1,
        description="Each agent's base URL or card URL, or a table {url, headers}.",
    )
    headers: dict[str, SecretStr] = Field(
        default_factory=dict,
        description="Headers sent to every agent, e.g. Authorization = 'Bearer ${TOKEN}'; "
        "the values of credential headers are redacted.",
    )
    card_ttl: float = Field(
        default=300.0, ge=0, description="Seconds a fetched agent card is reused before refetching."
    )

    def entries(self) -> list[A2AAgentEntry]:
        """Every agent as a table, with the backend's headers under its own."""
        out = []
        for agent in self.agents:
            entry = A2AAgentEntry(url=agent) if isinstance(agent, str) else agent
            out.append(entry.model_copy(update={"headers": {**self.headers, **entry.headers}}))
        return out

    def secrets(self) -> tuple[str, ...]:
        """The values of the headers that carry credentials (and, for ``Bearer <token>``,
        the token alone), for redaction. Other headers are left out: redaction masks any
        text that begins like a secret, so ``https://…`` would mask every link."""
        found: list[str] = []
        for entry in self.entries():
            for name, value in entry.headers.items():
                if _CREDENTIAL.search(name):
                    text = value.get_secret_value()
                    found += [text, text.partition(" ")[2]]
        return tuple(s for s in found if s)


#: A backend name and minimal settings, for the generated docs (nothing is contacted).
EXAMPLE: tuple[str, dict[str, Any]] = (
    "partners",
    {"kind": "a2a", "agents": ["http://127.0.0.1:9"]},
)
