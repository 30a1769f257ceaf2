"""The ``workflows`` toolset: list, read, create, change, fork, delete and publish workflows.

Tools dispatch by capability (``workflows``: WorkflowManager, ``publish``:
WorkflowPublisher), never by platform. Today Roboflow implements both; a workflow ref
is ``<backend>:<url>`` there. The resource ``agentdeck://{backend}/workflows/{workflow_id}``
serves one workflow as JSON.

``create_workflow_token`` backends answer a dict with ``token`` and, when known,
``expires_at`` (ISO 8601) and ``expires_in`` (seconds); any other key ends up in ``details``.
"""

from typing import Annotated, Any

from mcp.server.elicitation import ElicitationResult
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.resolve import Resolve
from pydantic import BaseModel, Field

from agentdeck.backends.base import WorkflowManager, WorkflowPublisher
from agentdeck.errors import InvalidInputError
from agentdeck.model import Timestamp
from agentdeck.platform_model import Workflow, WorkflowChanges, WorkflowSpec, WorkflowVersion
from agentdeck.server._resources import WORKFLOW_URI, json_resource, read_errors, resource_as
from agentdeck.server.client import Confirmation, confirmation_request, require_confirmation
from agentdeck.server.toolkit import (
    WORKFLOWS,
    ListResult,
    NextCursor,
    Reached,
    Toolbox,
    backend_as,
    deck,
    list_across,
    reach,
    resource_json,
)
from agentdeck.server.tools import (
    BackendName,
    Cursor,
    Limit,
    OptionalBackend,
    Options,
    new_name,
)

toolbox = Toolbox("workflows", needs="workflows")

WorkflowRef = Annotated[
    str,
    Field(
        min_length=1,
        description=(
            "Ref of the workflow, '<backend>:<url>' ('<backend>:<workspace>/<url>' for one "
            "of another workspace)."
        ),
    ),
]
Specification = Annotated[
    dict[str, Any] | None,
    Field(
        description=(
            "The workflow definition as a JSON object (Roboflow: a Workflows specification "
            "with version, inputs, steps and outputs)."
        )
    ),
]
WorkflowName = Annotated[
    str, Field(min_length=1, max_length=200, description="The workflow's display name.")
]
Description = Annotated[
    str | None,
    Field(description="What the workflow is for, where the platform stores one."),
]


class WorkflowList(ListResult[Workflow]):
    pass


class WorkflowVersionList(BaseModel):
    workflow: str = Field(description="Ref of the workflow these versions belong to.")
    items: list[WorkflowVersion] = Field(description="Versions, newest first.")
    next_cursor: NextCursor = None


class WorkflowDeleted(BaseModel):
    deleted: str = Field(description="Ref of the workflow that was deleted.")
    message: str = Field(description="What happened to it, e.g. moved to Trash.")


class WorkflowToken(BaseModel):
    workflow: str = Field(description="Ref of the workflow the token is for.")
    token: str | None = Field(
        default=None, description="The token, for running the workflow from a client."
    )
    expires_at: Timestamp | None = Field(default=None, description="When it stops working.")
    expires_in: int | None = Field(default=None, description="Seconds it is valid for.")
    details: dict[str, Any] = Field(default_factory=dict)


def _manager(ctx: Context, workflow: str, operation: str) -> Reached[WorkflowManager]:
    """The workflow ``workflow`` names, on its backend as a workflow manager."""
    return reach(ctx, workflow, WorkflowManager, operation, what="workflow")


@toolbox.tool(title="List workflows", read_only=True, idempotent=True)
async def list_workflows(
    ctx: Context, backend: OptionalBackend = None, limit: Limit = 50, cursor: Cursor = None
) -> WorkflowList:
    """List workflows with their refs, names and urls, from one backend or all;
    get_workflow has the specification."""
    return await list_across(
        ctx, WorkflowList, WORKFLOWS, backend=backend, limit=limit, cursor=cursor
    )


@toolbox.tool(title="Get a workflow", read_only=True, idempotent=True)
async def get_workflow(ctx: Context, workflow: WorkflowRef) -> Workflow:
    """Get one workflow: its published specification, has_draft (the draft is in details)
    and platform details. Also the resource agentdeck://{backend}/workflows/{id}."""
    manager, _, workflow_id = _manager(ctx, workflow, "get_workflow")
    return await manager.get_workflow(workflow_id)


@toolbox.tool(title="List workflow versions", read_only=True, idempotent=True)
async def list_workflow_versions(
    ctx: Context, workflow: WorkflowRef, limit: Limit = 20, cursor: Cursor = None
) -> WorkflowVersionList:
    """List the saved versions of a workflow's specification, newest first."""
    target = _manager(ctx, workflow, "list_workflow_versions")
    page = await target.able.list_workflow_versions(target.id, limit=limit, cursor=cursor)
    return WorkflowVersionList(workflow=target.ref, items=page.items, next_cursor=page.next_cursor)


@toolbox.tool(title="Create a workflow", read_only=False)
async def create_workflow(
    ctx: Context,
    backend: BackendName,
    name: WorkflowName,
    specification: Specification = None,
    description: Description = None,
    options: Options = None,
) -> Workflow:
    """Create a workflow (empty without a specification) and return it with its ref. To
    have an agent build one, chat with it: its work is a draft until publish_workflow."""
    manager = backend_as(ctx, backend, WorkflowManager, "create_workflow")
    spec = WorkflowSpec(
        name=new_name(name, "workflow", backend),
        description=description,
        specification=specification,
        options=options or {},
    )
    return await manager.create_workflow(spec)


async def _confirm_update(workflow: str, specification: dict[str, Any] | None, ctx: Context) -> Any:
    if specification is None:  # a rename or a new url replaces nothing the workflow runs
        return Confirmation(confirm=True)
    return confirmation_request(
        ctx, f"This replaces the specification {workflow} runs, effective at once."
    )


# Destructive: a new specification replaces what the workflow runs at once, so it asks
# first (confirm_destructive), like publish_workflow.
@toolbox.tool(title="Update a workflow", read_only=False, destructive=True, idempotent=True)
async def update_workflow(
    ctx: Context,
    workflow: WorkflowRef,
    name: Annotated[
        str | None, Field(min_length=1, max_length=200, description="The new display name.")
    ] = None,
    specification: Specification = None,
    description: Description = None,
    options: Options = None,
    confirmed: Annotated[ElicitationResult[Confirmation], Resolve(_confirm_update)] = None,  # type: ignore[assignment]
) -> Workflow:
    """Rename a workflow or replace its specification (what is left out stays) and return
    it. A new specification replaces what the workflow runs at once (the old one stays a
    version), so the user is asked first unless confirm_destructive is off."""
    manager, _, workflow_id = _manager(ctx, workflow, "update_workflow")
    changes = WorkflowChanges(
        name=name, description=description, specification=specification, options=options or {}
    )
    if all(v is None for v in (name, description, specification)) and not changes.options:
        raise InvalidInputError(
            "nothing to change: pass at least one of name, specification, description or options."
        )
    require_confirmation(confirmed)
    return await manager.update_workflow(workflow_id, changes)


@toolbox.tool(title="Fork a workflow", read_only=False)
async def fork_workflow(
    ctx: Context,
    backend: BackendName,
    workflow: Annotated[
        str,
        Field(
            min_length=1,
            description=(
                "The workflow to copy: '<workspace>/<url>' for one of any workspace (it must be "
                "public or your own), or '<backend>:<url>' for one of this backend."
            ),
        ),
    ],
    name: Annotated[
        str | None,
        Field(
            min_length=1, max_length=200, description="Name of the copy; defaults to the source's."
        ),
    ] = None,
    options: Options = None,
) -> Workflow:
    """Copy a workflow into the backend's workspace and return the copy with its ref."""
    registry = deck(ctx).registry
    target = registry.get(backend)
    manager = registry.require(target, WorkflowManager, "fork_workflow")
    source_workspace, source_workflow = "", workflow.strip()
    if ":" in source_workflow:
        source_backend, source_workflow = registry.resolve(source_workflow, what="workflow")
        if source_backend is not target:
            raise InvalidInputError(
                f"the source '{workflow}' is on another backend; name it as "
                "'<workspace>/<url>' instead.",
                backend=backend,
            )
    if "/" in source_workflow:
        source_workspace, _, source_workflow = source_workflow.partition("/")
    if not source_workflow:
        raise InvalidInputError(
            f"the source '{workflow}' names no workflow; pass '<workspace>/<url>'.",
            backend=backend,
        )
    fork_options = dict(options or {})
    if name is not None:
        fork_options["name"] = name
    return await manager.fork_workflow(source_workspace, source_workflow, fork_options)


async def _confirm_delete(workflow: str, ctx: Context) -> Any:
    return confirmation_request(ctx, f"This deletes the workflow {workflow}.")


@toolbox.tool(title="Delete a workflow", read_only=False, destructive=True, idempotent=True)
async def delete_workflow(
    ctx: Context,
    workflow: WorkflowRef,
    confirmed: Annotated[ElicitationResult[Confirmation], Resolve(_confirm_delete)] = None,  # type: ignore[assignment]
) -> WorkflowDeleted:
    """Delete a workflow (Roboflow moves it to the workspace's Trash, where its app can
    restore it). The user is asked first unless confirm_destructive is off."""
    target = _manager(ctx, workflow, "delete_workflow")
    require_confirmation(confirmed)
    message = await target.able.delete_workflow(target.id)
    return WorkflowDeleted(deleted=target.ref, message=message)


async def _confirm_publish(workflow: str, ctx: Context) -> Any:
    return confirmation_request(
        ctx, f"This publishes the draft of {workflow}: it replaces what the workflow runs."
    )


# Destructive: it replaces what the workflow runs in production (the old version stays in
# the history, but callers get the new one at once).
@toolbox.tool(title="Publish a workflow draft", read_only=False, destructive=True, needs="publish")
async def publish_workflow(
    ctx: Context,
    workflow: WorkflowRef,
    confirmed: Annotated[ElicitationResult[Confirmation], Resolve(_confirm_publish)] = None,  # type: ignore[assignment]
) -> Workflow:
    """Deploy a workflow's latest draft (an agent's changes from a chat), replacing what it
    runs; an error when there is none. The user is asked first unless confirm_destructive
    is off."""
    publisher, _, workflow_id = reach(
        ctx, workflow, WorkflowPublisher, "publish_workflow", what="workflow"
    )
    require_confirmation(confirmed)
    return await publisher.publish_workflow(workflow_id)


@toolbox.tool(title="Create a workflow token", read_only=False)
async def create_workflow_token(ctx: Context, workflow: WorkflowRef) -> WorkflowToken:
    """Create a short-lived token to run a workflow from a browser without the API key; a
    secret until it expires."""
    target = _manager(ctx, workflow, "create_workflow_token")
    answer = dict(await target.able.create_workflow_token(target.id))
    expires_in = answer.pop("expires_in", None)
    return WorkflowToken(
        workflow=target.ref,
        token=answer.pop("token", None),
        expires_at=answer.pop("expires_at", None),
        expires_in=expires_in if isinstance(expires_in, int) else None,
        details={**answer.pop("details", {}), **answer},
    )


def register(server: MCPServer) -> None:
    description = "A workflow's definition and details as JSON."

    @json_resource(server, WORKFLOW_URI, "workflow", "Workflow", description)
    async def workflow_resource(backend: str, workflow_id: str, ctx: Context) -> str:
        with read_errors():
            manager = resource_as(ctx, backend, WorkflowManager, "read workflow")
            found = await manager.get_workflow(workflow_id)
        return resource_json(found)
