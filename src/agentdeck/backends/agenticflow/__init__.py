"""AgenticFlow agents: one package with its API, auth, settings, option schemas, triggers
and stream decoding.

Nothing is offered from the package itself: :mod:`agentdeck.backends.kinds` loads its
``settings`` and ``backend`` modules by name, the backend only when it is configured.
"""

__all__: list[str] = []
