"""AgentFlow agents: one package with its API, settings, chat, pauses, approvals,
knowledge and event decoding."""
