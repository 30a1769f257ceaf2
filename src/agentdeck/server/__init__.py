"""The MCP surface: tools, resources and prompts over the registry; nothing platform-specific."""
