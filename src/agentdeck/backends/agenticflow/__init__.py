"""AgenticFlow agents: one package with its client, settings, schemas and stream decoding."""
