"""Prompts that help a user start: delegate a task, review approvals, pick an agent."""

from __future__ import annotations

from typing import Annotated

from mcp.server.mcpserver import MCPServer
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


def register(server: MCPServer) -> None:
    @server.prompt(
        name="delegate_task",
        title="Delegate a task to an agent",
        description="Find a suitable agent and hand it a task, following the run to its end.",
    )
    def delegate_task(task: Task, backend: BackendFilter = None) -> str:
        where = f"on backend '{backend}'" if backend else "on any backend"
        return (
            f"Delegate this task to an AI agent {where}:\n\n{task}\n\n"
            "1. Call list_agents (pass backend if one was named) and pick the agent whose name "
            "and description fit the task best; if none fits, say so and suggest create_agent.\n"
            "2. Call chat with the agent's ref and a clear, self-contained message.\n"
            '3. If the result\'s status is "running", call get_run with its run_id until it '
            "completes. If it lists pending_approvals, show them to me before answering them "
            "with respond_to_approval.\n"
            "4. Report the agent's answer, and any workflows it drafted (not yet published)."
        )

    @server.prompt(
        name="review_approvals",
        title="Review pending approvals",
        description="Walk through the tool calls agents are waiting on a human to approve.",
    )
    def review_approvals(backend: BackendFilter = None) -> str:
        where = f" on backend '{backend}'" if backend else ""
        return (
            f"List the pending approvals{where} with list_approvals. For each one, show me the "
            "agent, the tool and its arguments, and ask me whether to approve, deny, or approve "
            "with edited arguments. Then call respond_to_approval with my decision and reason. "
            "Never approve anything I have not confirmed."
        )

    @server.prompt(
        name="continue_conversation",
        title="Continue a conversation",
        description="Read a conversation's transcript and carry it on with the same agent.",
    )
    def continue_conversation(conversation: ConversationRef) -> str:
        return (
            f"Read the conversation {conversation} with get_conversation, summarise where it "
            "stands in two sentences, then ask me what to say next and send it with chat, "
            f"passing the conversation's agent and conversation={conversation}."
        )
