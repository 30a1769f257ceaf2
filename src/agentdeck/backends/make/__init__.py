"""Make (make.com) AI agents: one package with its client, auth, settings and stream steps."""
