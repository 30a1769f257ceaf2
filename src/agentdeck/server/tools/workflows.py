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
from mcp.server.mcpserver.exceptions import ResourceError
from mcp.server.mcpserver.resolve import Resolve
from pydantic import BaseModel, Field

from agentdeck.backends.base import WorkflowManager, WorkflowPublisher
from agentdeck.errors import AgentdeckError, InvalidInputError
from agentdeck.model import Workflow, WorkflowChanges, WorkflowSpec, WorkflowVersion, make_ref
from agentdeck.server.confirm import Confirmation, confirmation_request, require_confirmation
from agentdeck.server.listing import ListResult, list_across
from agentdeck.server.params import BackendName, Cursor, Limit, OptionalBackend, Options
from agentdeck.server.toolkit import Toolbox, deck, reported

toolbox = Toolbox()

WORKFLOW_URI = "agentdeck://{backend}/workflows/{workflow_id}"

WorkflowRef = Annotated[
    str,
    Field(
        min_length=1,
        description=(
            "Ref of the workflow, '<backend>:<url>', as list_workflows and chat results show it. "
            "Roboflow: '<backend>:<workspace>/<url>' reads a workflow of another workspace "
            "(public ones need no key)."
        ),
    ),
]
Specification = Annotated[
    dict[str, Any] | None,
    Field(
        description=(
            "The workflow definition as a JSON object (Roboflow: a Workflows specification "
            "with version, inputs, steps and outputs; agentdeck stores it wrapped as the "
            'platform expects, {"specification": ...}).'
        )
    ),
]
WorkflowName = Annotated[
    str, Field(min_length=1, max_length=200, description="The workflow's display name.")
]
Description = Annotated[
    str | None,
    Field(
        description="What the workflow is for (not every platform stores one; Roboflow does not)."
    ),
]


class WorkflowList(ListResult):
    items: list[Workflow]  # type: ignore[assignment]


class WorkflowVersionList(BaseModel):
    workflow: str = Field(description="Ref of the workflow these versions belong to.")
    items: list[WorkflowVersion] = Field(description="Versions, newest first.")
    next_cursor: str | None = Field(
        default=None, description="Pass as `cursor` for the next page; null on the last page."
    )


class WorkflowDeleted(BaseModel):
    deleted: str = Field(description="Ref of the workflow that was deleted.")
    message: str = Field(description="What happened to it, e.g. moved to Trash.")


class WorkflowToken(BaseModel):
    workflow: str = Field(description="Ref of the workflow the token is for.")
    token: str | None = Field(description="The token, for running the workflow from a client.")
    expires_at: str | None = Field(default=None, description="When it stops working (ISO 8601).")
    expires_in: int | None = Field(default=None, description="Seconds it is valid for.")
    details: dict[str, Any] = Field(default_factory=dict)


def _manager(ctx: Context, workflow: str, operation: str) -> tuple[WorkflowManager, str, str]:
    """The backend's workflow manager, and the ref and platform id of ``workflow``."""
    registry = deck(ctx).registry
    backend, workflow_id = registry.resolve(workflow, what="workflow")
    manager = registry.require(backend, "workflows", operation)
    return manager, make_ref(backend.name, workflow_id), workflow_id


@toolbox.tool(toolset="workflows", title="List workflows", read_only=True, idempotent=True)
async def list_workflows(
    ctx: Context,
    backend: OptionalBackend = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> WorkflowList:
    """List workflows with their refs, names and urls, from one backend or from all that
    have workflows (Roboflow). Use get_workflow for a workflow's specification."""
    with reported():
        result = await list_across(
            deck(ctx).registry,
            capability="workflows",
            backend=backend,
            limit=limit,
            cursor=cursor,
            fetch=lambda b, n, c: b.list_workflows(limit=n, cursor=c),
            operation="list_workflows",
        )
        return WorkflowList(**result.model_dump(exclude={"items"}), items=result.items)


@toolbox.tool(toolset="workflows", title="Get a workflow", read_only=True, idempotent=True)
async def get_workflow(ctx: Context, workflow: WorkflowRef) -> Workflow:
    """Get one workflow: its published specification, whether it has an unpublished draft
    (has_draft; the draft itself is in details), and platform details. Also readable as the
    resource agentdeck://{backend}/workflows/{id}."""
    with reported():
        manager, _, workflow_id = _manager(ctx, workflow, "get_workflow")
        return await manager.get_workflow(workflow_id)


@toolbox.tool(toolset="workflows", title="List workflow versions", read_only=True, idempotent=True)
async def list_workflow_versions(
    ctx: Context, workflow: WorkflowRef, limit: Limit = 20, cursor: Cursor = None
) -> WorkflowVersionList:
    """List the saved versions of a workflow's specification, newest first."""
    with reported():
        manager, ref, workflow_id = _manager(ctx, workflow, "list_workflow_versions")
        page = await manager.list_workflow_versions(workflow_id, limit=limit, cursor=cursor)
        return WorkflowVersionList(workflow=ref, items=page.items, next_cursor=page.next_cursor)


@toolbox.tool(toolset="workflows", title="Create a workflow", read_only=False)
async def create_workflow(
    ctx: Context,
    backend: BackendName,
    name: WorkflowName,
    specification: Specification = None,
    description: Description = None,
    options: Options = None,
) -> Workflow:
    """Create a workflow and return it with its ref. Without a specification it starts empty.

    To have an agent build one instead, chat with it (Roboflow: chat with the workspace
    agent; its work is a draft until publish_workflow).
    Accepted `options` keys per platform:
    - roboflow: url (the url slug, e.g. "car-counter"; made from the name when left out),
      template (template metadata object; defaults to {})."""
    with reported():
        registry = deck(ctx).registry
        manager: WorkflowManager = registry.require(
            registry.get(backend), "workflows", "create_workflow"
        )
        if not name.strip():
            raise InvalidInputError("the workflow's name is empty.", backend=backend)
        spec = WorkflowSpec(
            name=name.strip(),
            description=description,
            specification=specification,
            options=options or {},
        )
        return await manager.create_workflow(spec)


# Not destructive: the replaced specification stays available as a version.
@toolbox.tool(toolset="workflows", title="Update a workflow", read_only=False, idempotent=True)
async def update_workflow(
    ctx: Context,
    workflow: WorkflowRef,
    name: Annotated[
        str | None, Field(min_length=1, max_length=200, description="The new display name.")
    ] = None,
    specification: Specification = None,
    description: Description = None,
    options: Options = None,
) -> Workflow:
    """Change a workflow's name or replace its specification; what is left out stays.
    A new specification replaces the deployed one at once (Roboflow keeps the old one as a
    version). Returns the workflow after the change.
    Accepted `options` keys per platform:
    - roboflow: url (a new url slug; the workflow's ref changes with it)."""
    with reported():
        manager, _, workflow_id = _manager(ctx, workflow, "update_workflow")
        changes = WorkflowChanges(
            name=name, description=description, specification=specification, options=options or {}
        )
        if all(v is None for v in (name, description, specification)) and not changes.options:
            raise InvalidInputError(
                "nothing to change: pass at least one of name, specification, description "
                "or options."
            )
        return await manager.update_workflow(workflow_id, changes)


@toolbox.tool(toolset="workflows", title="Fork a workflow", read_only=False)
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
    """Copy a workflow into the backend's workspace and return the copy with its ref.
    Accepted `options` keys per platform:
    - roboflow: url (the copy's url slug; made from the name when left out)."""
    with reported():
        registry = deck(ctx).registry
        target = registry.get(backend)
        manager: WorkflowManager = registry.require(target, "workflows", "fork_workflow")
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


@toolbox.tool(
    toolset="workflows",
    title="Delete a workflow",
    read_only=False,
    destructive=True,
    idempotent=True,
)
async def delete_workflow(
    ctx: Context,
    workflow: WorkflowRef,
    confirmed: Annotated[ElicitationResult[Confirmation], Resolve(_confirm_delete)] = None,  # type: ignore[assignment]
) -> WorkflowDeleted:
    """Delete a workflow. On Roboflow this is a soft delete: the workflow moves to the
    workspace's Trash, from where it can be restored in the Roboflow app. With
    confirm_destructive on (the default), the user is asked first."""
    with reported():
        manager, ref, workflow_id = _manager(ctx, workflow, "delete_workflow")
        require_confirmation(confirmed)
        message = await manager.delete_workflow(workflow_id)
        return WorkflowDeleted(deleted=ref, message=message)


async def _confirm_publish(workflow: str, ctx: Context) -> Any:
    return confirmation_request(
        ctx, f"This publishes the draft of {workflow}: it replaces what the workflow runs."
    )


# Not annotated destructive: publishing adds a version and the one it replaces stays in the
# history. It still asks first (confirm_destructive), as it changes what production runs.
@toolbox.tool(toolset="workflows", title="Publish a workflow draft", read_only=False)
async def publish_workflow(
    ctx: Context,
    workflow: WorkflowRef,
    confirmed: Annotated[ElicitationResult[Confirmation], Resolve(_confirm_publish)] = None,  # type: ignore[assignment]
) -> Workflow:
    """Deploy the latest unpublished draft of a workflow (the changes an agent made in a
    chat), replacing what the workflow runs. Fails clearly when there is no draft. With
    confirm_destructive on (the default), the user is asked first."""
    with reported():
        registry = deck(ctx).registry
        backend, workflow_id = registry.resolve(workflow, what="workflow")
        publisher: WorkflowPublisher = registry.require(backend, "publish", "publish_workflow")
        require_confirmation(confirmed)
        return await publisher.publish_workflow(workflow_id)


@toolbox.tool(toolset="workflows", title="Create a workflow token", read_only=False)
async def create_workflow_token(ctx: Context, workflow: WorkflowRef) -> WorkflowToken:
    """Create a short-lived token for running a workflow from a public client (a browser)
    without exposing the API key. Treat the token as a secret until it expires."""
    with reported():
        manager, ref, workflow_id = _manager(ctx, workflow, "create_workflow_token")
        answer = dict(await manager.create_workflow_token(workflow_id))
        expires_in = answer.pop("expires_in", None)
        return WorkflowToken(
            workflow=ref,
            token=answer.pop("token", None),
            expires_at=answer.pop("expires_at", None),
            expires_in=expires_in if isinstance(expires_in, int) else None,
            details={**answer.pop("details", {}), **answer},
        )


def register(server: MCPServer) -> None:
    @server.resource(
        WORKFLOW_URI,
        name="workflow",
        title="Workflow",
        description="A workflow's definition and details as JSON.",
        mime_type="application/json",
    )
    async def workflow_resource(backend: str, workflow_id: str, ctx: Context) -> str:
        registry = deck(ctx).registry
        try:
            manager: WorkflowManager = registry.require(
                registry.get(backend), "workflows", "read workflow"
            )
            found = await manager.get_workflow(workflow_id)
        except AgentdeckError as exc:
            raise ResourceError(str(exc)) from exc
        return found.model_dump_json(indent=2)
