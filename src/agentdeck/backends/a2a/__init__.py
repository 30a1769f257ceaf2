"""The ``a2a`` backend: any agent that speaks the Agent2Agent protocol (A2A 1.0).

Nothing is offered from the package itself: :mod:`agentdeck.backends.kinds` loads its
``settings`` and ``backend`` modules by name, the backend only when it is configured.
"""

__all__: list[str] = []
