"""One package per platform; each knows its platform and nothing of MCP.

A platform's modules import what they are written with from :mod:`agentdeck.backends.kit`
(the ``Backend`` contract in :mod:`.base`, the HTTP client, results, errors); its settings
derive from :mod:`.settings`, and :mod:`.kinds` lists every platform.
Nothing is offered from this package itself; :mod:`.kit` is the face for writing one.
"""

__all__: list[str] = []
