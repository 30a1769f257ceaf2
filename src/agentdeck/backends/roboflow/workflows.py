"""Roboflow plumbing and Workflows management (``roboflow-workflows-api.txt``), plus publish.

The base class of :class:`agentdeck.backends.roboflow.backend.RoboflowBackend`: how requests are
made (paths under ``/{workspace}/``, ``api_key`` via ``ApiKeyAuth``, a JSON body on every
POST so the key travels in it), what Roboflow's errors mean, and the workflow
capabilities (``WorkflowManager``, ``WorkflowPublisher``).

Workflow refs are ``<backend>:<url slug>``, since every path takes the slug; the internal
id is ``details["internal_id"]``. For reading, ``<backend>:<workspace>/<url>`` addresses a
workflow of another workspace (a public one needs no key); ``fork_workflow`` takes its
source workspace separately, an empty one meaning this workspace.

Assumptions about shapes the reference does not show (the fake follows the same ones):
- GET answers ``{"workflow": {...}}`` (non-public ones add ``authorized``); create, update
  and fork answer the workflow wrapped the same way or flat. ``config`` is a JSON string of
  ``{"specification": ...}``; ``draft`` (when present) is the unpublished agent draft.
- create takes ``name, url, config, template`` and is sent as a JSON body: the reference
  lists them under "Query", but a specification does not fit in a URL and the API takes
  ``api_key`` and parameters from either place. ``template`` defaults to ``"{}"``. A
  specification already wrapped as ``{"specification": ...}`` is not wrapped twice.
- Roboflow workflows have no description: one passed in is refused, not dropped.
- update needs the internal ``id``, so it first GETs the workflow by its slug.
- versions answer ``{"versions": [...]}`` newest first, each with ``id``/``version``/``config``.
- token: body ``{"workflow": <url>}``; answers ``token``, ``expiresAt``, ``expiresIn``.
- DELETE moves the workflow to Trash (the answer is not needed).
- publish answers ``{"published": true, "workflow": {...}, "version": n}``; its 400 means
  "no unpublished draft".
- Lists are not paged by the API; agentdeck pages them with offset cursors.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from agentdeck.backends.kit import (
    AgentDisabledError,
    AuthenticationError,
    Backend,
    ConfigError,
    HttpClient,
    InvalidInputError,
    NotFoundError,
    Option,
    Page,
    PaymentRequiredError,
    PermissionDeniedError,
    UpstreamError,
    UpstreamValidationError,
    offset_cursor,
    parse_offset,
)
from agentdeck.backends.roboflow import parse
from agentdeck.backends.roboflow.settings import RoboflowSettings
from agentdeck.platform_model import Workflow, WorkflowChanges, WorkflowSpec, WorkflowVersion

READ, CREATE, UPDATE = "workflow:read", "workflow:create", "workflow:update"
WORKFLOW_OPTIONS = (
    Option(
        "url",
        "string",
        "the url slug (made from the name when left out); on update the ref changes with it",
        ("create_workflow", "update_workflow", "fork_workflow"),
    ),
    Option("template", "object", "template metadata (default {})", ("create_workflow",)),
)


class RoboflowWorkflows(Backend):
    """Requests, error meanings and workflow management of one Roboflow workspace."""

    settings: RoboflowSettings

    def __init__(self, name: str, settings: RoboflowSettings, http: HttpClient | None) -> None:
        super().__init__(name, settings, http)
        self.workspace = settings.workspace

    # ---- plumbing ------------------------------------------------------------------------

    def _path(self, *segments: str, workspace: str | None = None) -> str:
        parts = [workspace or self.workspace, *segments]
        return "/" + "/".join(quote(p, safe="") for p in parts)

    def _need_key(self, operation: str) -> None:
        if self.settings.api_key is None:
            raise ConfigError(
                f"{operation} needs a Roboflow API key, and this backend has none.",
                backend=self.name,
                hint=f"Set `api_key` in [backends.{self.name}] of the config (for example "
                'api_key = "${ROBOFLOW_API_KEY}"); without it only public workflows are readable.',
            )

    async def _call(
        self,
        method: str,
        path: str,
        *,
        operation: str,
        params: dict[str, Any] | None = None,
        body: dict[str, Any] | None = None,
        **context: Any,
    ) -> Any:
        """One request; ``context`` is what :meth:`explain` takes (``scope``, ``not_found``,
        ``on_400``, ``foreign``, ``forbidden``)."""
        if method == "POST" and body is None:
            body = {}  # the key travels in the body of a POST
        return await self.http.request(
            method, path, params=params, json=body, operation=operation, context=context
        )

    def explain(
        self,
        error: UpstreamError,
        *,
        scope: str = "",
        not_found: str | None = None,
        on_400: str | None = None,
        foreign: bool = False,
        forbidden: str | None = None,
    ) -> UpstreamError:
        """``error`` with what it means on Roboflow and what to do about it; ``scope`` and
        the others are what the operation knows (the key's scope it needs, its own hints)."""
        ws = self.workspace
        needed = f"the '{scope}' scope" if scope else "a scope"
        if foreign and isinstance(error, AuthenticationError | PermissionDeniedError):
            hint = (
                "That workflow belongs to another workspace and is not public: only public "
                "workflows of other workspaces can be read or forked."
            )
        elif isinstance(error, AgentDisabledError):
            hint = (
                f"Agent features are turned off for Roboflow workspace '{ws}'; a workspace admin "
                "can turn them on in the workspace settings of the Roboflow app. The workflow "
                "tools keep working without them."
            )
        elif isinstance(error, PaymentRequiredError):
            hint = (
                f"Roboflow workspace '{ws}' is out of credits; add credits or upgrade its plan "
                "in the Roboflow app's billing settings, then retry."
            )
        elif isinstance(error, PermissionDeniedError) and forbidden:
            hint = forbidden
        elif isinstance(error, PermissionDeniedError):
            hint = (
                f"The API key is valid but not allowed to do this: it needs {needed}, "
                "and a folder-scoped key only reaches workflows in its folders. Use a key with "
                "that scope in `api_key`, or a workflow inside the key's folders."
            )
        elif isinstance(error, AuthenticationError) and self.settings.api_key is None:
            hint = (
                f"This is not a public workflow, and backend '{self.name}' has no `api_key`; "
                "set one in the config to read it."
            )
        elif isinstance(error, NotFoundError) and not_found:
            hint = not_found
        elif isinstance(error, UpstreamValidationError) and on_400:
            hint = on_400
        else:
            return error.refined()
        return error.refined(hint=hint)

    def _own(self, workflow_id: str, operation: str) -> str:
        """A workflow slug of this workspace; a '<workspace>/<url>' id is read-only here."""
        if "/" in workflow_id:
            raise InvalidInputError(
                f"{operation} works on workflows of workspace '{self.workspace}' only, not "
                f"'{workflow_id}'.",
                backend=self.name,
                hint="Fork it into this workspace first (fork_workflow), then change the fork.",
            )
        return workflow_id

    def _split(self, workflow_id: str) -> tuple[str, str, str]:
        """(workspace, url slug, prefix for result ids) of a possibly foreign workflow id."""
        workspace, sep, url = workflow_id.partition("/")
        if not sep or workspace == self.workspace:
            return self.workspace, url if sep else workflow_id, ""
        return workspace, url, f"{workspace}/"

    def _not_found(self, workflow_id: str) -> str:
        workspace, url, _ = self._split(workflow_id)
        return (
            f"There is no workflow '{url}' in workspace '{workspace}' that this key can see "
            f"(or it is in the Trash); list_workflows shows the refs, as '{self.name}:<url>'."
        )

    async def _on_own(
        self, workflow_id: str, tool: str, doing: str, method: str, path: str, **call: Any
    ) -> Any:
        """A keyed request about workflow ``workflow_id`` of this workspace (``tool`` asks,
        ``doing`` names it for the key's error): an id of another workspace or a missing key
        is refused before anything is sent, and a 404 names the workflow. ``call`` is the
        rest of :meth:`_call`'s keywords."""
        self._own(workflow_id, tool)
        self._need_key(doing)
        return await self._call(method, path, not_found=self._not_found(workflow_id), **call)

    def _page(
        self, items: list[Any], limit: int, cursor: str | None
    ) -> tuple[list[Any], str | None]:
        offset = parse_offset(cursor)
        window = items[offset : offset + limit + 1]
        return window[:limit], offset_cursor(offset, limit, len(window))

    # ---- workflows -----------------------------------------------------------------------

    async def _workflow_entries(self, operation: str) -> list[Any]:
        self._need_key("Listing Roboflow workflows")
        body = await self._call("GET", self._path("workflows"), operation=operation, scope=READ)
        return parse.items_of(body, "workflows", operation=operation, backend=self.name)

    async def list_workflows(self, *, limit: int, cursor: str | None) -> Page[Workflow]:
        parse_offset(cursor)
        entries = await self._workflow_entries(f"list workflows of '{self.workspace}'")
        items, next_cursor = self._page(entries, limit, cursor)
        return Page[Workflow](
            items=[parse.workflow(self.name, e) for e in items], next_cursor=next_cursor
        )

    async def get_workflow(self, workflow_id: str) -> Workflow:
        workspace, url, prefix = self._split(workflow_id)
        body = await self._call(
            "GET",
            self._path("workflows", url, workspace=workspace),
            operation=f"get workflow '{workflow_id}'",
            scope=READ,
            not_found=self._not_found(workflow_id),
            foreign=bool(prefix),
        )
        found = parse.workflow(self.name, body, workspace_prefix=prefix)
        if isinstance(body, dict) and "authorized" in body:
            found.details["authorized"] = body["authorized"]
        return found

    async def list_workflow_versions(
        self, workflow_id: str, *, limit: int, cursor: str | None
    ) -> Page[WorkflowVersion]:
        parse_offset(cursor)
        workspace, url, prefix = self._split(workflow_id)
        operation = f"list versions of workflow '{workflow_id}'"
        body = await self._call(
            "GET",
            self._path("workflows", url, "versions", workspace=workspace),
            operation=operation,
            scope=READ,
            not_found=self._not_found(workflow_id),
            foreign=bool(prefix),
        )
        raw = parse.items_of(body, "versions", operation=operation, backend=self.name)
        items, next_cursor = self._page(raw, limit, cursor)
        return Page[WorkflowVersion](
            items=[parse.version(v) for v in items], next_cursor=next_cursor
        )

    async def create_workflow(self, spec: WorkflowSpec) -> Workflow:
        self.check_options(spec.options, "create_workflow")
        self._no_description(spec.description)
        template = spec.options.get("template", "{}")
        if not isinstance(template, str):
            template = json.dumps(template)
        url = spec.url or spec.options.get("url")
        body = {"name": spec.name, "template": template, **self._fields(url, spec.specification)}
        self._need_key("Creating a Roboflow workflow")
        answer = await self._call(
            "POST",
            self._path("createWorkflow"),
            operation=f"create workflow '{spec.name}'",
            scope=CREATE,
            body=body,
            on_400="Check the name, that the url slug is free (lower-case letters, digits and "
            "'-'), and that the specification is a Workflows specification object.",
        )
        return parse.workflow(self.name, answer)

    async def update_workflow(self, workflow_id: str, changes: WorkflowChanges) -> Workflow:
        self._own(workflow_id, "update_workflow")
        self.check_options(changes.options, "update_workflow")
        self._no_description(changes.description)
        body: dict[str, Any] = {} if changes.name is None else {"name": changes.name}
        body.update(self._fields(changes.options.get("url"), changes.specification))
        if not body:
            raise InvalidInputError(
                "nothing to change: pass name, specification or options.url.", backend=self.name
            )
        self._need_key("Updating a Roboflow workflow")
        current = await self.get_workflow(workflow_id)
        body["id"] = current.details.get("internal_id") or workflow_id
        answer = await self._call(
            "POST",
            self._path("updateWorkflow"),
            operation=f"update workflow '{workflow_id}'",
            scope=UPDATE,
            body=body,
            not_found=self._not_found(workflow_id),
            on_400="Check that the new url slug is free and the specification is a Workflows "
            "specification object.",
        )
        return parse.workflow(self.name, answer)

    async def fork_workflow(
        self, source_workspace: str, source_workflow: str, options: dict[str, Any]
    ) -> Workflow:
        self.check_options({k: v for k, v in options.items() if k != "name"}, "fork_workflow")
        if not source_workflow:
            raise InvalidInputError("fork_workflow needs the source workflow's url.")
        body: dict[str, Any] = {
            "source_workspace": source_workspace or self.workspace,
            "source_workflow": source_workflow,
        }
        if options.get("name"):
            body["name"] = str(options["name"])
        if options.get("url"):
            body["url"] = self._slug(options["url"])
        self._need_key("Forking a Roboflow workflow")
        source = f"{body['source_workspace']}/{source_workflow}"
        answer = await self._call(
            "POST",
            self._path("forkWorkflow"),
            operation=f"fork workflow '{source}'",
            scope=CREATE,
            body=body,
            not_found=f"There is no workflow '{source}' that this key can see; check the source "
            "workspace slug and the workflow's url.",
            on_400="Check that the url slug of the fork is free.",
            forbidden=f"Forking needs the '{CREATE}' scope, and the source must be public or "
            "in this workspace (inside the key's folders, for a folder-scoped key).",
        )
        return parse.workflow(self.name, answer)

    async def delete_workflow(self, workflow_id: str) -> str:
        await self._on_own(
            workflow_id,
            "delete_workflow",
            "Deleting a Roboflow workflow",
            "DELETE",
            self._path("workflows", workflow_id),
            operation=f"delete workflow '{workflow_id}'",
            scope=UPDATE,
        )
        return (
            f"Workflow '{workflow_id}' was moved to the Trash of Roboflow workspace "
            f"'{self.workspace}' (a soft delete): restore it from the Trash in the Roboflow app."
        )

    async def create_workflow_token(self, workflow_id: str) -> dict[str, Any]:
        answer = await self._on_own(
            workflow_id,
            "create_workflow_token",
            "Creating a Roboflow workflow token",
            "POST",
            self._path("workflowToken"),
            operation=f"create a token for workflow '{workflow_id}'",
            scope=READ,
            body={"workflow": workflow_id},
        )
        return parse.token(answer)

    async def publish_workflow(self, workflow_id: str) -> Workflow:
        answer = await self._on_own(
            workflow_id,
            "publish_workflow",
            "Publishing a Roboflow workflow",
            "POST",
            self._path("agent", "workflows", workflow_id, "publish"),
            operation=f"publish workflow '{workflow_id}'",
            scope=UPDATE,
            on_400="Publishing needs an unpublished draft, and only changes the agent makes in "
            f"a chat are drafts: chat with '{self.name}' to draft one first (get_workflow shows "
            "has_draft).",
        )
        published = parse.workflow(self.name, answer)
        published.has_draft = False
        if isinstance(answer, dict):
            published.details.update(
                {k: answer[k] for k in ("published", "version") if k in answer}
            )
        return published

    # ---- small checks --------------------------------------------------------------------

    def _no_description(self, description: str | None) -> None:
        if description is not None:
            raise InvalidInputError(
                "Roboflow workflows have no description; leave `description` out.",
                backend=self.name,
            )

    def _fields(self, url: Any, specification: dict[str, Any] | None) -> dict[str, Any]:
        """The url slug and specification a create or an update sends, as Roboflow names
        them; each only when given."""
        fields: dict[str, Any] = {}
        if url:
            fields["url"] = self._slug(url)
        if specification is not None:
            fields["config"] = parse.config_of(specification)
        return fields

    def _slug(self, url: Any) -> str:
        if not isinstance(url, str) or not url.strip():
            raise InvalidInputError(
                "option 'url' must be a url slug such as 'car-counter'.", backend=self.name
            )
        return url.strip()
