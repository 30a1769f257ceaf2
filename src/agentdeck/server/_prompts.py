"""Prompts that help a user start: delegate a task, review approvals, continue a conversation.

A prompt walks the model through some tools, so it follows the tool surface: it is offered
only when every tool it relies on is served by this configuration (its backends, toolsets
and read-only mode, ``_surface.enabled_tools``), and it names an optional tool only when that
one is served too. A ``prompts/get`` the client got wrong (an unknown prompt, a missing
or unknown argument) is answered -32602 with a readable message by
:func:`check_prompt_request`, before the SDK would turn it into error code 0 and a
traceback in the log.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Annotated, Any

from mcp.server.context import CallNext, HandlerResult, ServerMiddleware, ServerRequestContext
from mcp.server.mcpserver import MCPServer
from mcp.shared.exceptions import MCPError
from mcp.types import INVALID_PARAMS
from pydantic import Field

Task = Annotated[str, Field(description="What the agent should do, in your own words.")]
BackendFilter = Annotated[
    str | None,
    Field(description="Name of a configured backend to look in (list_backends); omit for all."),
]
ConversationRef = Annotated[
    str,
    Field(description="Ref of the conversation, '<backend>:<id>', as a chat result gives it."),
]
AgentChoice = Annotated[
    str | None,
    Field(description="Ref of the agent, '<backend>:<id>'; omit to let the model choose."),
]
ApprovalChoice = Annotated[
    str | None,
    Field(description="Ref of one approval, '<backend>:<id>'; omit for all pending ones."),
]

#: A prompt's function: its arguments in, the message text out.
_Prompt = Callable[..., str]

#: The tools each prompt cannot work without.
USES: dict[str, tuple[str, ...]] = {
    "delegate_task": ("list_agents", "chat", "get_run"),
    "review_approvals": ("list_approvals", "respond_to_approval"),
    "continue_conversation": ("get_conversation", "chat"),
}


def register(server: MCPServer, served: Collection[str]) -> None:
    """Add the prompts whose tools (``USES``) are all in ``served``, the names of the tools
    this configuration serves, and answer the client's mistakes in ``prompts/get``."""

    def offer(name: str, title: str, description: str) -> Callable[[_Prompt], _Prompt]:
        """Add the decorated function as the prompt ``name`` when its tools are served."""

        def add(fn: _Prompt) -> _Prompt:
            if all(tool in served for tool in USES[name]):
                server.prompt(name=name, title=title, description=description)(fn)
            return fn

        return add

    server.middleware.append(check_prompt_request(server))

    @offer(
        "delegate_task",
        "Delegate a task to an agent",
        "Find a suitable agent and hand it a task, following the run to its end.",
    )
    def delegate_task(task: Task, backend: BackendFilter = None, agent: AgentChoice = None) -> str:
        where = f"on backend '{backend}'" if backend else "on any backend"
        no_fit = "say so and suggest create_agent" if "create_agent" in served else "say so"
        pick = (
            f"Use the agent {agent}."
            if agent
            else "Call list_agents (pass backend if one was named) and pick the agent "
            "whose name and description fit the task best; if none fits, "
            f"{no_fit}."
        )
        approvals = (
            " If it lists pending_approvals, show them to me before answering them with "
            "respond_to_approval."
            if "respond_to_approval" in served
            else ""
        )
        return (
            f"Delegate this task to an AI agent {where}:\n\n{task}\n\n"
            f"1. {pick}\n"
            "2. Call chat with the agent's ref and a clear, self-contained message.\n"
            '3. If the result\'s status is "running", call get_run with its run_id until it '
            f"completes.{approvals}\n"
            "4. Report the agent's answer, and any workflows it drafted (not yet published)."
        )

    @offer(
        "review_approvals",
        "Review pending approvals",
        "Walk through the tool calls agents are waiting on a human to approve.",
    )
    def review_approvals(backend: BackendFilter = None, approval: ApprovalChoice = None) -> str:
        where = f" on backend '{backend}'" if backend else ""
        only = f" and keep only {approval}" if approval else ""
        return (
            f"List the pending approvals{where} with list_approvals{only}. For each one, "
            "show me the agent, the tool and its arguments, and ask me whether to approve, "
            "deny, or approve with edited arguments. Then call respond_to_approval with my "
            "decision and reason. Never approve anything I have not confirmed."
        )

    @offer(
        "continue_conversation",
        "Continue a conversation",
        "Read a conversation's transcript and carry it on with the same agent.",
    )
    def continue_conversation(agent: AgentChoice = None, *, conversation: ConversationRef) -> str:
        # agent comes first: a client that fills arguments in order can then offer
        # that agent's conversations (server/_completions.py)
        who = f"agent={agent}" if agent else "the conversation's agent"
        return (
            f"Read the conversation {conversation} with get_conversation, summarise where "
            "it stands in two sentences, then ask me what to say next and send it with chat, "
            f"passing {who} and conversation={conversation}."
        )


def check_prompt_request(server: MCPServer) -> ServerMiddleware[Any]:
    """Server middleware: a ``prompts/get`` naming no served prompt, or leaving out a
    required argument or passing one the prompt does not take, is answered -32602
    (invalid params, as the spec says) with a message naming the prompt and the arguments.

    The SDK reports these as a ``ValueError`` (error code 0, a Python set in the text, and
    a traceback logged per call); a client's mistake deserves neither.
    """

    async def check(ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        if ctx.method == "prompts/get" and isinstance(ctx.params, dict):
            name, arguments = ctx.params.get("name"), ctx.params.get("arguments") or {}
            if isinstance(name, str) and isinstance(arguments, dict):
                problem = await _prompt_problem(server, name, arguments)
                if problem:
                    raise MCPError(INVALID_PARAMS, problem)
        return await call_next(ctx)

    return check


async def _prompt_problem(server: MCPServer, name: str, arguments: dict[str, Any]) -> str | None:
    """What is wrong with asking for prompt ``name`` with ``arguments`` (None if nothing)."""
    prompts = {prompt.name: prompt for prompt in await server.list_prompts()}
    prompt = prompts.get(name)
    if prompt is None:
        offered = ", ".join(f"'{known}'" for known in prompts) or "none"
        return f"Unknown prompt '{name}'; the prompts here are: {offered}."
    takes = [argument.name for argument in prompt.arguments or []]
    missing = [a.name for a in prompt.arguments or [] if a.required and a.name not in arguments]
    unknown = [given for given in arguments if given not in takes]
    if missing:
        return f"prompt '{name}' needs the {_arguments(missing)}."
    if unknown:
        takes_text = f"the {_arguments(takes)}" if takes else "no arguments"
        return f"prompt '{name}' has no {_arguments(unknown)}; it takes {takes_text}."
    return None


def _arguments(names: list[str]) -> str:
    """``argument 'task'`` / ``arguments 'a' and 'b'``."""
    quoted = [f"'{name}'" for name in names]
    if len(quoted) == 1:
        return f"argument {quoted[0]}"
    return f"arguments {', '.join(quoted[:-1])} and {quoted[-1]}"
