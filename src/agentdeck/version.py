"""agentdeck's version, in a module of its own so the server can name it without importing
the package root (whose ``build_server`` imports the server)."""

__version__ = "0.1.0"
