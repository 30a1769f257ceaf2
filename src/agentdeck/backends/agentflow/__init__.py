"""AgentFlow agents: one package with its client, settings, approvals and event decoding."""
