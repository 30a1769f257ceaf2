"""The embedded local backend: agents kept in agentdeck's own store, answered by a model."""
