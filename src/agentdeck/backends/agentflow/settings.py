"""Settings of an AgentFlow backend: its URL and token."""

from __future__ import annotations

from typing import Literal

from pydantic import SecretStr

from agentdeck.backends.settings import BackendCommon


class AgentFlowSettings(BackendCommon):
    kind: Literal["agentflow"]
    base_url: str
    token: SecretStr
