"""The chat path: a ``chat`` call (or ``get_run``, or a per-agent tool) from the agent's
ref to the answer.

``_converse`` starts the run (the ref resolved once) or takes up the one an input
round is about; ``_follow`` streams its progress within the wait budget and asks the
user when the agent waits on them; ``_pauses`` says what to ask about an approval or a
question and sends the answer on; ``_sampling`` lets a local agent answer with the
client's own model; ``_result`` is the run as the ``chat`` tool's result, which
``_answer`` writes as the call's answer; ``_agent_tools`` serves every agent of a
backend with ``expose_agents`` as a tool of its own. The tool functions themselves are
the ``chat`` toolset (``server.tools.chat``).
"""

from agentdeck.server.chat._agent_tools import MAX_NAME, AgentTools, tool_name
from agentdeck.server.chat._answer import final_answer
from agentdeck.server.chat._converse import converse, follow_run
from agentdeck.server.chat._pauses import answer_pauses, input_requests, mark_answered
from agentdeck.server.chat._result import RunResult

__all__ = [
    "MAX_NAME",
    "AgentTools",
    "RunResult",
    "answer_pauses",
    "converse",
    "final_answer",
    "follow_run",
    "input_requests",
    "mark_answered",
    "tool_name",
]
