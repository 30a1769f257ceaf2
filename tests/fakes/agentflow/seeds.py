"""The agents, tools, sub-agents and knowledge bases a new AgentFlow fake starts with."""

from __future__ import annotations

from typing import Any


def seed_agents() -> dict[str, dict[str, Any]]:
    def agent(agent_id: str, name: str, description: str, prompt: str) -> dict[str, Any]:
        config = {"model": "gpt-4o", "system_prompt": prompt, "temperature": 0.2}
        config |= {"max_tokens": 2048, "max_iterations": 10}
        created = "2025-01-01T00:00:00Z"
        return {"id": agent_id, "name": name, "description": description, "status": "active"} | {
            "created_at": created,
            "updated_at": created,
            "config": config,
        }

    return {
        "agent_research": agent(
            "agent_research", "Research Assistant", "Answers from docs", "Be precise."
        ),
        "agent_support": agent("agent_support", "Support Bot", "Helps customers", "Be kind."),
    }


def _schema(*required: str, optional: tuple[str, ...] = ()) -> dict[str, Any]:
    props = {name: {"type": "string"} for name in (*required, *optional)}
    return {"type": "object", "properties": props, "required": list(required)}


def seed_tools() -> dict[str, dict[str, dict[str, Any]]]:
    def tool(name: str, description: str, params: dict[str, Any], approval: bool):
        return {"name": name, "description": description, "parameters": params} | {
            "requires_approval": approval
        }

    return {
        "agent_research": {
            "search_knowledge": tool(
                "search_knowledge", "Search bound KBs", _schema("query"), False
            ),
            "send_email": tool(
                "send_email", "Send an email", _schema("to", "body", optional=("subject",)), True
            ),
        },
        "agent_support": {
            "lookup_order": tool("lookup_order", "Find an order", _schema("order_id"), False)
        },
    }


def seed_subagents() -> dict[str, dict[str, dict[str, Any]]]:
    sub = {"id": "sub_summarizer", "parent_id": "agent_research", "name": "Summarizer"}
    sub |= {"description": "Summarizes text", "system_prompt": "Summarize.", "tools": []}
    return {"agent_research": {"sub_summarizer": sub | {"created_at": "2025-01-01T00:00:00Z"}}}


def seed_kbs() -> dict[str, dict[str, Any]]:
    about = {"kb_docs": ("Product docs", "Manuals"), "kb_faq": ("FAQ", "Common questions")}
    documents = {
        "kb_docs": [
            ("doc_1", "Install the agent with pip install agentflow.", "install.md"),
            ("doc_2", "Approvals pause a tool call until a human answers.", "approvals.md"),
            ("doc_3", "Streaming chat uses server-sent events.", "chat.md"),
        ],
        "kb_faq": [
            ("faq_1", "Refunds are processed within 5 days.", "faq.md"),
            ("faq_2", "Reset your password from the settings page.", "faq.md"),
        ],
    }
    return {
        kb_id: {
            "id": kb_id,
            "name": name,
            "description": description,
            "created_at": "2025-01-01T00:00:00Z",
            "documents": [
                {"id": doc_id, "content": content, "metadata": {"source": source}}
                for doc_id, content, source in documents[kb_id]
            ],
        }
        for kb_id, (name, description) in about.items()
    }
