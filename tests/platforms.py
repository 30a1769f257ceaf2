"""Settings for agentdeck pointed at each platform's fake, shared by the split test files."""

from copy import deepcopy
from typing import Any

from agentdeck.config import Settings
from tests.fakes.agentflow import FakeAgentFlow
from tests.fakes.agenticflow import API_KEY, PROJECT_ID, WORKSPACE_ID, FakeAgenticFlow
from tests.fakes.base import FakePlatform
from tests.fakes.roboflow import FULL_KEY, WORKSPACE, FakeRoboflow
from tests.support import FAST_HTTP, make_settings


def _without_none(backend: dict[str, Any]) -> dict[str, Any]:
    """Leave out settings a test set to None, so their defaults apply."""
    return {key: value for key, value in backend.items() if value is not None}


def roboflow_settings(base_url: str, **overrides: Any) -> Settings:
    """Backend ``vision`` on the Roboflow fake, with a key that has every scope."""
    vision = {
        "kind": "roboflow",
        "base_url": base_url,
        "workspace": WORKSPACE,
        "api_key": FULL_KEY,
        **FAST_HTTP,
        **overrides,
    }
    return make_settings({"vision": _without_none(vision)})


def agentflow_settings(url: str, token: str = "test-token", **extra: Any) -> Settings:
    """Backend ``flow`` on the AgentFlow fake."""
    backend = {"kind": "agentflow", "base_url": url, "token": token, **FAST_HTTP, **extra}
    return make_settings({"flow": backend})


def make_settings_for(url: str, token: str, **extra: Any) -> Settings:
    """Backend ``ops`` on the Make fake, in team 1."""
    ops = {"kind": "make", "base_url": url, "token": token, "team_id": 1}
    return make_settings({"ops": {**ops, **FAST_HTTP, **extra}})


def agenticflow_settings(url: str, **extra: Any) -> Settings:
    """Backend ``af`` on the AgenticFlow fake, in its default workspace and project."""
    backend = {
        "kind": "agenticflow",
        "base_url": url,
        "api_key": API_KEY,
        "workspace_id": WORKSPACE_ID,
        "project_id": PROJECT_ID,
        **FAST_HTTP,
        **extra,
    }
    return make_settings({"af": _without_none(backend)})


def workflows_state(fake: FakeRoboflow) -> dict[str, Any]:
    """Every workspace's workflows as JSON, to show that a call changed nothing."""
    return {
        slug: deepcopy([wf.to_json() for wf in ws.workflows.values()])
        for slug, ws in fake.workspaces.items()
    }


def settings_for(fake: FakePlatform, url: str) -> Settings:
    """agentdeck with one backend on ``fake`` served at ``url``: ``flow``, ``af`` or ``vision``."""
    kinds = {
        FakeAgentFlow: agentflow_settings,
        FakeAgenticFlow: agenticflow_settings,
        FakeRoboflow: roboflow_settings,
    }
    return kinds[type(fake)](url)
