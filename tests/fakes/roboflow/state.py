"""What a Roboflow fake holds: its API keys and scopes, workspaces, workflows and their
versions, agent conversations, and the error answer."""

from __future__ import annotations

import json
import re
from copy import deepcopy
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

READ, CREATE, UPDATE = "workflow:read", "workflow:create", "workflow:update"
ALL_SCOPES: frozenset[str] = frozenset({READ, CREATE, UPDATE})

WORKSPACE = "my-workspace"
PUBLIC_WORKSPACE = "public-workspace"
FULL_KEY = "rf_test_key"
READ_KEY = "rf_read_key"
FOLDER_KEY = "rf_folder_key"
PUBLIC_WS_KEY = "rf_public_key"
FOLDER = "team-a"

ChatScenario = Literal["normal", "slow", "cut_off", "malformed"]
BLOCKS = {
    "detect": "roboflow_core/roboflow_object_detection_model@v2",
    "segment": "roboflow_core/roboflow_instance_segmentation_model@v2",
    "classif": "roboflow_core/roboflow_classification_model@v2",
    "count": "roboflow_core/property_definition@v1",
    "webhook": "roboflow_core/webhook_sink@v1",
}


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "workflow"


def error_body(message: str, **extra: Any) -> dict[str, Any]:
    """Roboflow's error shape: ``{"error": "..."}`` plus documented extras (``error_type``)."""
    return {"error": message, **extra}


def empty_spec() -> dict[str, Any]:
    return {
        "version": "1.0",
        "inputs": [{"type": "WorkflowImage", "name": "image"}],
        "steps": [],
        "outputs": [],
    }


def parse_spec(config: str) -> dict[str, Any] | None:
    try:
        parsed = json.loads(config)
    except ValueError:
        return None
    spec = parsed.get("specification") if isinstance(parsed, dict) else None
    return spec if isinstance(spec, dict) else None


class ApiError(Exception):
    """Raised by route code; rendered as the platform's JSON error body."""

    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.body = error_body(message, **extra)


@dataclass
class ApiKey:
    """A workspace API key. ``folders=None`` means no folder restriction."""

    key: str
    workspace: str
    scopes: frozenset[str] = ALL_SCOPES
    folders: frozenset[str] | None = None

    def sees(self, workflow: Workflow) -> bool:
        return self.folders is None or workflow.folder in self.folders


@dataclass
class KeyUse:
    """Where a request carried its api_key, so tests can assert on the adapter's auth style."""

    method: str
    path: str
    location: str | None
    key: str | None


@dataclass
class WorkflowVersion:
    """One snapshot of a workflow's published config (create, update, fork or publish)."""

    id: str
    version: int
    config: str
    source: str
    created_at: str = field(default_factory=now_iso)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "version": self.version,
            "config": self.config,
            "specification": parse_spec(self.config),
            "source": self.source,
            "createdAt": self.created_at,
        }


@dataclass
class Workflow:
    """A workflow: published ``config`` (JSON string), agent ``draft`` spec, version snapshots."""

    id: str
    name: str
    url: str
    workspace: str
    config: str = "{}"
    template: str = "{}"
    public: bool = False
    folder: str | None = None
    draft: dict[str, Any] | None = None
    versions: list[WorkflowVersion] = field(default_factory=list)
    forked_from: str | None = None
    in_trash: bool = False
    deleted_at: str | None = None
    created_at: str = field(default_factory=now_iso)
    updated_at: str = field(default_factory=now_iso)

    @property
    def specification(self) -> dict[str, Any] | None:
        return parse_spec(self.config)

    def summary(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "url": self.url, "createdAt": self.created_at}

    def to_json(self, config: str | None = None) -> dict[str, Any]:
        config = self.config if config is None else config
        return {
            **self.summary(),
            "workspace": self.workspace,
            "config": config,
            "specification": parse_spec(config),
            "template": self.template,
            "public": self.public,
            "folder": self.folder,
            "draft": self.draft,
            "version": len(self.versions),
            "forkedFrom": self.forked_from,
            "updatedAt": self.updated_at,
        }

    def agent_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "url": self.url, "specification": self.draft}


@dataclass
class Conversation:
    """An agent conversation; ``workflows`` lists the url slugs its turns touched."""

    id: str
    workspace: str
    source: str
    title: str
    messages: list[dict[str, Any]] = field(default_factory=list)
    workflows: list[str] = field(default_factory=list)
    created_at: str = field(default_factory=now_iso)
    updated_at: str = field(default_factory=now_iso)

    def summary(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "source": self.source,
            "workflows": list(self.workflows),
            "message_count": len(self.messages),
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }

    def to_json(self) -> dict[str, Any]:
        return {**self.summary(), "messages": deepcopy(self.messages)}


@dataclass
class Workspace:
    """A workspace's state: credits and the agent switch gate chat; workflows keyed by id."""

    slug: str
    credits: float = 100.0
    agent_enabled: bool = True
    workflows: dict[str, Workflow] = field(default_factory=dict)  # by id
    conversations: dict[str, Conversation] = field(default_factory=dict)

    def find(self, ref: str) -> Workflow | None:
        """A live (not trashed) workflow by url slug or id."""
        for wf in self.workflows.values():
            if not wf.in_trash and ref in (wf.url, wf.id):
                return wf
        return None
