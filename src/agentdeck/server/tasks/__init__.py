"""MCP tasks over agentdeck's runs, in both protocol eras (see ``book`` first)."""
