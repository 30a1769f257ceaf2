"""The AgenticFlow fake's agents as agentdeck names them: on the backend ``af`` of
tests/platforms.py an agent's ref is ``af:<its id>``."""

from tests.fakes.agenticflow import FOREIGN_AGENT_ID, PRIVATE_AGENT_ID, PUBLIC_AGENT_ID

#: The project's own agent, the one most tests talk to.
AGENT = f"af:{PRIVATE_AGENT_ID}"
#: A public agent, which may be chatted with anonymously.
PUBLIC_AGENT = f"af:{PUBLIC_AGENT_ID}"
#: An agent of another project, which the key may not touch.
FOREIGN_AGENT = f"af:{FOREIGN_AGENT_ID}"
#: An id nothing of the fake has.
MISSING_ID = "00000000-0000-4000-8000-0000000000ff"
