"""Fakes of the platforms agentdeck talks to, served over real HTTP on 127.0.0.1.

Each fake is written from the platform's API reference: its routes, auth
checks, status codes and response and streaming formats, plus the failure
modes a real deployment shows (401, 402, 403, 404, 429 with Retry-After, 500,
malformed and cut-off streams, slow responses).
"""
