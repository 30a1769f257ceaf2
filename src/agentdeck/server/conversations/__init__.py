"""Conversations, as the server reads them: from a backend's API, or from agentdeck's run
history where a platform has none (``agentdeck.runs``, the run engine's); a page of
messages at a time; as Markdown transcripts; and the check that a chat may continue one.

The ``conversations`` toolset (``server.tools.conversations``), the transcript resources
(``server._resources``) and the chat path all read conversations through here.
"""

from agentdeck.server.conversations._continuing import conversation_to_continue
from agentdeck.server.conversations._pages import (
    ConversationPage,
    conversation_page,
    list_conversations_of,
)
from agentdeck.server.conversations._transcripts import (
    CONVERSATION_URI,
    conversation_uri,
    recent_conversations_markdown,
    transcript_markdown,
)

__all__ = [
    "CONVERSATION_URI",
    "ConversationPage",
    "conversation_page",
    "conversation_to_continue",
    "conversation_uri",
    "list_conversations_of",
    "recent_conversations_markdown",
    "transcript_markdown",
]
