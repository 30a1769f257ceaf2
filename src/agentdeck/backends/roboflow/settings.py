"""Settings of a Roboflow backend: the workspace and its API key."""

from __future__ import annotations

from typing import Literal

from pydantic import SecretStr

from agentdeck.backends.settings import BackendCommon


class RoboflowSettings(BackendCommon):
    kind: Literal["roboflow"]
    base_url: str = "https://api.roboflow.com"
    workspace: str
    api_key: SecretStr | None = None
