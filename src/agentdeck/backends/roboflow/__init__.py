"""Roboflow's workspace agent and workflows: its client, settings and answer parsing.

Nothing is offered from the package itself: :mod:`agentdeck.backends.kinds` loads its
``settings`` and ``backend`` modules by name, the backend only when it is configured.
"""

__all__: list[str] = []
