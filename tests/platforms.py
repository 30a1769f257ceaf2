"""Settings for agentdeck pointed at each platform's fake, shared by the split test files."""

from copy import deepcopy
from typing import Any

from agentdeck.config import Settings
from tests.fakes.agentflow import FakeAgentFlow
from tests.fakes.agenticflow import API_KEY, PROJECT_ID, WORKSPACE_ID, FakeAgenticFlow
from tests.fakes.base import FakePlatform
from tests.fakes.openai import FakeOpenAI
from tests.fakes.roboflow import FULL_KEY, WORKSPACE, FakeRoboflow
from tests.support import FAST_HTTP, make_settings, model_settings


def _one_backend(name: str, kind: str, url: str, fields: dict[str, Any]) -> Settings:
    """agentdeck with the one backend ``name``; fields a test set to None are left out, so
    their defaults apply."""
    backend = {"kind": kind, "base_url": url, **FAST_HTTP, **fields}
    return make_settings(
        {name: {key: value for key, value in backend.items() if value is not None}}
    )


def roboflow_settings(base_url: str, **overrides: Any) -> Settings:
    """Backend ``vision`` on the Roboflow fake, with a key that has every scope."""
    fields = {"workspace": WORKSPACE, "api_key": FULL_KEY, **overrides}
    return _one_backend("vision", "roboflow", base_url, fields)


def agentflow_settings(url: str, token: str = "test-token", **extra: Any) -> Settings:
    """Backend ``flow`` on the AgentFlow fake."""
    return _one_backend("flow", "agentflow", url, {"token": token, **extra})


def make_settings_for(url: str, token: str, **extra: Any) -> Settings:
    """Backend ``ops`` on the Make fake, in team 1."""
    return _one_backend("ops", "make", url, {"token": token, "team_id": 1, **extra})


def agenticflow_settings(url: str, **extra: Any) -> Settings:
    """Backend ``af`` on the AgenticFlow fake, in its default workspace and project."""
    ids = {"api_key": API_KEY, "workspace_id": WORKSPACE_ID, "project_id": PROJECT_ID}
    return _one_backend("af", "agenticflow", url, {**ids, **extra})


OPENAI_KEY = "sk-test-0123456789"


def openai_settings(url: str, database: str = ":memory:", **local: Any) -> Settings:
    """Backend ``local`` on the OpenAI-compatible fake's ``tiny-llama``, with a key."""
    return model_settings(url, "tiny-llama", database, openai_api_key=OPENAI_KEY, **local)


def workflows_state(fake: FakeRoboflow) -> dict[str, Any]:
    """Every workspace's workflows as JSON, to show that a call changed nothing."""
    return {
        slug: deepcopy([wf.to_json() for wf in ws.workflows.values()])
        for slug, ws in fake.workspaces.items()
    }


def settings_for(fake: FakePlatform, url: str) -> Settings:
    """agentdeck with one backend on ``fake`` served at ``url``: ``flow``, ``af``, ``vision``
    or ``local``."""
    kinds = {
        FakeAgentFlow: agentflow_settings,
        FakeAgenticFlow: agenticflow_settings,
        FakeRoboflow: roboflow_settings,
        FakeOpenAI: openai_settings,
    }
    return kinds[type(fake)](url)
