"""One module per platform; each knows its platform and nothing of MCP."""
