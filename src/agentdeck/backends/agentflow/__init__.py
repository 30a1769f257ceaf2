"""AgentFlow agents: one package with its API, settings, chat, pauses, approvals,
knowledge and event decoding.

Nothing is offered from the package itself: :mod:`agentdeck.backends.kinds` loads its
``settings`` and ``backend`` modules by name, the backend only when it is configured.
"""

__all__: list[str] = []
