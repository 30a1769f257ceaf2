"""The command line: ``agentdeck serve | check | tools``.

Only argparse is imported up front: ``--help`` and ``--version`` answer before
anything of the MCP stack, pydantic or the backends is loaded, and each command
imports what it needs when it runs.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from agentdeck import __version__

if TYPE_CHECKING:
    from agentdeck.config import Settings

_CHECK_TIMEOUT = 20.0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="agentdeck", description="One MCP server for the AI agents of many platforms."
    )
    parser.add_argument("--version", action="version", version=f"agentdeck {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config",
        help="TOML config file (default: $AGENTDECK_CONFIG, "
        "else ~/.config/agentdeck/agentdeck.toml if present)",
    )
    common.add_argument("--log-level", default="WARNING", help="stderr log level (default WARNING)")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", parents=[common], help="run the MCP server")
    serve.add_argument("--transport", choices=["stdio", "http"], default="stdio")
    serve.add_argument("--host", default="127.0.0.1", help="HTTP bind address")
    serve.add_argument("--port", type=int, default=8765, help="HTTP port")
    serve.add_argument("--token", help="bearer token clients must send (or AGENTDECK_HTTP_TOKEN)")
    serve.add_argument(
        "--allowed-host",
        action="append",
        default=[],
        help="extra Host header value to accept, e.g. example.com:443",
    )
    serve.add_argument(
        "--stateless",
        action="store_true",
        help="no server-side sessions (several replicas behind a load balancer)",
    )
    serve.add_argument(
        "--read-only", action="store_true", help="serve no tool that changes anything"
    )

    commands.add_parser("check", parents=[common], help="check config and every backend")
    tools = commands.add_parser("tools", parents=[common], help="print the tools a client sees")
    tools.add_argument(
        "--json", action="store_true", help="print the tools/list entries as a client gets them"
    )
    tools.add_argument(
        "--markdown", action="store_true", help="print the README's tool reference (every toolset)"
    )
    tools.add_argument("--read-only", action="store_true")
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    import logging

    from agentdeck.config import load_settings
    from agentdeck.errors import AgentdeckError

    logging.basicConfig(
        level=args.log_level.upper(),
        stream=sys.stderr,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        settings = load_settings(args.config)
        if getattr(args, "read_only", False):
            settings.server.read_only = True
        code = {"serve": _serve, "check": _check, "tools": _tools}[args.command](settings, args)
    except AgentdeckError as exc:
        print(f"agentdeck: {exc}", file=sys.stderr)
        code = 2
    except KeyboardInterrupt:
        code = 130
    sys.exit(code)


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    import anyio

    from agentdeck.server.app import build_server

    if args.transport == "stdio":
        from agentdeck.server.stdio import serve_stdio

        anyio.run(serve_stdio, build_server(settings))
        return 0
    import os

    from agentdeck.server.http_app import build_http_app, serve_http

    token = args.token or os.environ.get("AGENTDECK_HTTP_TOKEN") or None
    server = build_server(settings, stateless=args.stateless, token=token)
    app = build_http_app(
        server,
        host=args.host,
        token=token,
        allowed_hosts=args.allowed_host,
        stateless=args.stateless,
        events=server.events,
    )
    print(f"agentdeck serving MCP at http://{args.host}:{args.port}/mcp", file=sys.stderr)
    serve_http(app, host=args.host, port=args.port, log_level=args.log_level.lower())
    return 0


async def _check_all(settings: Settings) -> list[tuple[str, str, str, bool, str]]:
    import anyio

    from agentdeck.backends.base import capabilities_of
    from agentdeck.errors import AgentdeckError
    from agentdeck.registry import Registry

    rows = []
    async with Registry.open(settings) as registry:
        for name, backend in registry.backends.items():
            capabilities = ",".join(capabilities_of(backend))
            try:
                with anyio.fail_after(_CHECK_TIMEOUT):
                    detail, ok = await backend.check(), True
            except AgentdeckError as exc:
                detail, ok = str(exc), False
            except TimeoutError:
                detail, ok = f"no answer within {_CHECK_TIMEOUT:g} s", False
            rows.append((name, backend.kind, capabilities, ok, detail))
    return rows


def _check(settings: Settings, args: argparse.Namespace) -> int:
    import anyio

    print(f"config: {settings.source or 'none (defaults: the local backend only)'}")
    rows = anyio.run(_check_all, settings)
    width = max(len(r[0]) for r in rows)
    for name, kind, capabilities, ok, detail in rows:
        print(f"{'ok  ' if ok else 'FAIL'} {name:<{width}}  {kind:<11} {detail}")
        print(f"     {'':<{width}}  {'':<11} can: {capabilities}")
    return 0 if all(r[3] for r in rows) else 1


def _tools(settings: Settings, args: argparse.Namespace) -> int:
    import json

    import anyio

    from agentdeck.server.app import enabled_tools

    if args.markdown:
        from agentdeck.server.docs import tool_reference

        print(anyio.run(tool_reference))
        return 0
    tools = anyio.run(_served_tools, settings)
    if args.json:
        print(json.dumps([wire_form(tool) for tool in tools], indent=2))
        return 0
    toolsets = {spec.name: spec.toolset for spec in enabled_tools(settings)}
    for tool in tools:
        hints = tool.annotations
        flags = (
            "read-only"
            if hints and hints.read_only_hint
            else ("destructive" if hints and hints.destructive_hint else "writes")
        )
        toolset = toolsets.get(tool.name, "agent tool")
        print(f"{tool.name:<28} {toolset:<14} {flags:<12} {tool.title or ''}")
    return 0


def wire_form(tool: Any) -> dict[str, Any]:
    """A ``tools/list`` entry as the server sends it (camelCase, no null fields)."""
    dumped: dict[str, Any] = tool.model_dump(by_alias=True, mode="json", exclude_none=True)
    return dumped


async def _served_tools(settings: Settings) -> list[Any]:
    """Exactly what a client would list: the server started in memory, agent tools and all."""
    from mcp import Client

    from agentdeck.server.app import build_server

    async with Client(build_server(settings)) as client:
        return list((await client.list_tools()).tools)
