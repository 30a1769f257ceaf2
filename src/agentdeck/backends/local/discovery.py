"""Finding a model server for local agents on the ``auto`` model.

With no ``openai_base_url`` configured, ``auto`` looks for an OpenAI-compatible server
already running on this machine, on the port each common one uses by default. Each is
asked ``GET /v1/models`` on 127.0.0.1 with a short timeout, all at once; the first in
the list that answers wins, with the first model it lists. The answer (found or not) is
remembered for a while, so a chat does not probe every time, yet a server started
later is found without a restart.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import anyio
import httpx2

#: The usual ports of local OpenAI-compatible servers, in the order they are preferred.
KNOWN_SERVERS = {11434: "Ollama", 8080: "llama.cpp", 1234: "LM Studio", 8000: "vLLM"}
DEFAULT_PORTS = tuple(KNOWN_SERVERS)
PROBE_TIMEOUT = 0.5
REMEMBER_SECONDS = 60.0


@dataclass(frozen=True)
class FoundServer:
    """A local model server that answered: what it is, where, and the model it offers."""

    name: str
    base_url: str
    model: str | None

    def describe(self) -> str:
        model = f" model '{self.model}'" if self.model else ""
        return f"{self.name} at {self.base_url}{model}"


async def probe(ports: Sequence[int]) -> FoundServer | None:
    """The first of ``ports`` on 127.0.0.1 serving an OpenAI-compatible ``/v1/models``."""
    found: dict[int, FoundServer] = {}
    async with httpx2.AsyncClient(timeout=PROBE_TIMEOUT, trust_env=False) as client:

        async def ask(port: int) -> None:
            base_url = f"http://127.0.0.1:{port}/v1"
            try:
                response = await client.get(f"{base_url}/models")
                listed = response.json().get("data") if response.status_code == 200 else None
            except (httpx2.HTTPError, ValueError, AttributeError):
                return
            if not isinstance(listed, list):
                return
            ids = [m["id"] for m in listed if isinstance(m, dict) and isinstance(m.get("id"), str)]
            name = KNOWN_SERVERS.get(port, "an OpenAI-compatible server")
            found[port] = FoundServer(name, base_url, ids[0] if ids else None)

        async with anyio.create_task_group() as group:
            for port in ports:
                group.start_soon(ask, port)
    return next((found[port] for port in ports if port in found), None)


class ServerFinder:
    """Probes once and remembers the answer for ``remember_seconds``."""

    def __init__(self, ports: Sequence[int], remember_seconds: float = REMEMBER_SECONDS) -> None:
        self._ports = tuple(ports)
        self._remember = remember_seconds
        self._lock = anyio.Lock()
        self._found: FoundServer | None = None
        self._probed_at: float | None = None

    @property
    def ports(self) -> tuple[int, ...]:
        return self._ports

    async def find(self) -> FoundServer | None:
        async with self._lock:
            now = anyio.current_time()
            if self._probed_at is None or now - self._probed_at >= self._remember:
                self._found = await probe(self._ports) if self._ports else None
                self._probed_at = anyio.current_time()
            return self._found
