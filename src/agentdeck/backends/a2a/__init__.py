"""The ``a2a`` backend: any agent that speaks the Agent2Agent protocol (A2A 1.0)."""
