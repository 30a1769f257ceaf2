"""Roboflow's workspace agent and workflows: its client, settings and answer parsing."""
