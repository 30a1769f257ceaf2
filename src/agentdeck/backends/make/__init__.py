"""Make (make.com) AI agents: one package with its client, settings and event decoding."""
