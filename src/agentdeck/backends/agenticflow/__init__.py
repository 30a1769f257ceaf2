"""AgenticFlow agents: one package with its API, auth, settings, option schemas, triggers
and stream decoding."""
