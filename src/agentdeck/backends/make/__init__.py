"""Make (make.com) AI agents: one package with its client, auth, settings and stream steps.

Nothing is offered from the package itself: :mod:`agentdeck.backends.kinds` loads its
``settings`` and ``backend`` modules by name, the backend only when it is configured.
"""

__all__: list[str] = []
