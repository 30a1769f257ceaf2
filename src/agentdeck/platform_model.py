"""Domain models of the platform features beyond agents and chat: workflows, approvals,
triggers and knowledge bases.

Apart from :mod:`agentdeck.model` because only the platforms that have these features,
and their toolsets, use them: a configuration without any of them never builds these
classes (pydantic builds each class when it is defined, which is most of start-up).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from agentdeck.model import Addressed, Timestamp


class Workflow(Addressed):
    name: str | None = None
    url: str | None = None
    description: str | None = None
    specification: dict[str, Any] | None = None
    has_draft: bool | None = None
    created_at: Timestamp | None = None
    updated_at: Timestamp | None = None
    details: dict[str, Any] = Field(default_factory=dict)


class WorkflowVersion(BaseModel):
    id: str
    created_at: Timestamp | None = None
    specification: dict[str, Any] | None = None
    details: dict[str, Any] = Field(default_factory=dict)


class WorkflowSpec(BaseModel):
    name: str
    url: str | None = None
    description: str | None = None
    specification: dict[str, Any] | None = None
    options: dict[str, Any] = Field(default_factory=dict)


class WorkflowChanges(BaseModel):
    name: str | None = None
    description: str | None = None
    specification: dict[str, Any] | None = None
    options: dict[str, Any] = Field(default_factory=dict)


class Approval(Addressed):
    status: str = Field(description="pending, approved, denied, expired or cancelled.")
    agent: str | None = None
    conversation_id: str | None = None
    tool: str | None = None
    arguments: dict[str, Any] | None = None
    message: str | None = None
    created_at: Timestamp | None = None
    expires_at: Timestamp | None = None
    details: dict[str, Any] = Field(default_factory=dict)


class Trigger(Addressed):
    name: str | None = None
    agent: str | None = None
    kind: str = "webhook"
    path: str | None = Field(default=None, description="The generated path to invoke it at.")
    method: str | None = None
    auth_type: str | None = Field(default=None, description="NONE, BASIC or BEARER.")
    enabled: bool | None = None
    details: dict[str, Any] = Field(default_factory=dict)


class TriggerEvent(BaseModel):
    id: str
    created_at: Timestamp | None = None
    status: str | None = None
    payload: Any = None
    details: dict[str, Any] = Field(default_factory=dict)


class KnowledgeBase(Addressed):
    name: str
    description: str | None = None
    details: dict[str, Any] = Field(default_factory=dict)


class KnowledgeHit(BaseModel):
    knowledge_base: str | None = Field(default=None, description="Ref of the knowledge base.")
    content: str
    score: float | None = None
    source: str | None = None
    details: dict[str, Any] = Field(default_factory=dict)
