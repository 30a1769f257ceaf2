"""Conversations as Markdown, the resources at :data:`CONVERSATION_URI`: a transcript, and
the list of a backend's recent ones.

What users and agents wrote is text, never Markdown structure: a title or a link text has
its Markdown characters escaped and its line breaks folded, a ref sits in a code span
longer than any backtick run in it, and a message body sits in a fence longer than any
backtick run in the body, so no message can close its fence, open a heading or start a
link of its own. Times are RFC 3339 in UTC (``…Z``), as in every tool result.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import quote

from agentdeck.model import ConversationSummary, rfc3339
from agentdeck.server.conversations._pages import ConversationPage

#: Characters that start or end Markdown inline structure (emphasis, code, links, images,
#: raw HTML, entities, headings, tables, strikethrough): escaped in titles and link texts.
_MARKDOWN = re.compile(r"([\\`*_\[\]<>!#|~&])")
_LINE_BREAKS = re.compile(r"[\r\n\u2028\u2029\v\f]+")
_BACKTICKS = re.compile(r"`+")
TITLE_LENGTH = 80
#: Where a conversation's transcript is read (and its updates announced).
CONVERSATION_URI = "agentdeck://{backend}/conversations/{conversation_id}"


def conversation_uri(backend: str, conversation_id: str) -> str:
    return CONVERSATION_URI.format(backend=backend, conversation_id=conversation_id)


def inline(text: str) -> str:
    """``text`` as plain inline Markdown: one line, its Markdown characters escaped."""
    return _MARKDOWN.sub(r"\\\1", _LINE_BREAKS.sub(" ", text))


def code(text: str) -> str:
    """``text`` as a code span, whatever backticks it holds."""
    text = _LINE_BREAKS.sub(" ", text)
    ticks = "`" * (_longest_backtick_run(text) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


def fenced(text: str) -> list[str]:
    """``text`` as a fenced block (lines) that nothing inside it can close."""
    fence = "`" * max(3, _longest_backtick_run(text) + 1)
    return [f"{fence}text", text, fence]


def link_target(uri: str) -> str:
    """``uri`` as a link destination: in angle brackets, with what could end it encoded."""
    return "<" + quote(uri, safe=":/?=&%@+,;!$'()*#~-._") + ">"


def title_of(title: str | None, fallback: str) -> str:
    if not title:
        return fallback
    folded = _LINE_BREAKS.sub(" ", title).strip()
    cut = folded if len(folded) <= TITLE_LENGTH else folded[: TITLE_LENGTH - 1] + "…"
    return inline(cut) or fallback


def _longest_backtick_run(text: str) -> int:
    return max((len(run) for run in _BACKTICKS.findall(text)), default=0)


def transcript_markdown(page: ConversationPage, *, newer: int = 0, older: str | None = None) -> str:
    """One page of a conversation as a Markdown transcript (the conversation resource):
    ``newer`` messages come after it, and ``older`` is the URI of the page before it."""
    lines = [f"# {title_of(page.title, 'Conversation')}", ""]
    lines.append(f"- conversation: {code(page.ref)}")
    if page.agent:
        lines.append(f"- agent: {code(page.agent)}")
    if page.created_at:
        lines.append(f"- started: {rfc3339(page.created_at)}")
    total = page.message_count or 0
    if page.messages:
        first = total - newer - len(page.messages) + 1
        lines.append(f"- messages: {first}–{first + len(page.messages) - 1} of {total}")
    else:
        lines.append(f"- messages: none of {total} here")
    if older:
        lines.append(f"- older messages: {link_target(older)}")
    lines.append("")
    for message in page.messages:
        stamp = f" · {rfc3339(message.created_at)}" if message.created_at else ""
        lines += [f"## {inline(message.role)}{stamp}", "", *fenced(message.content), ""]
    return "\n".join(lines)


def recent_conversations_markdown(
    backend: str, conversations: list[ConversationSummary], uri_of: Callable[[str], str]
) -> str:
    """The list of ``backend``'s recent conversations, each linked to ``uri_of(its id)``."""
    lines = [f"# Recent conversations on {inline(backend)}", ""]
    if not conversations:
        lines.append("None yet.")
    for item in conversations:
        when = rfc3339(item.updated_at) if item.updated_at else "?"
        title = title_of(item.title, "(untitled)")
        agent = f" · agent {code(item.agent)}" if item.agent else ""
        lines.append(f"- [{title}]({link_target(uri_of(item.id))}){agent} · {when}")
    return "\n".join(lines) + "\n"
