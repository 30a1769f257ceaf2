"""The command line: ``agentdeck serve | check | tools``.

Only argparse is imported up front: ``--help`` and ``--version`` answer before
anything of the MCP stack, pydantic or the backends is loaded, and each command
imports what it needs when it runs.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NoReturn

from agentdeck import __version__

if TYPE_CHECKING:
    from agentdeck.config import Settings

_CHECK_TIMEOUT = 20.0
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
DEFAULT_HOST, DEFAULT_PORT = "127.0.0.1", 8765
#: serve's options that only mean something over HTTP (stdio refuses them)
HTTP_ONLY = ("host", "port", "token", "allowed_host", "stateless")
READ_ONLY_HELP = (
    "serve only read-only tools, plus chat and cancel_run (talking to an agent and "
    "stopping your own run change no configuration)"
)


def _port(text: str) -> int:
    """A TCP port number, refused in one line (argparse names the option) when it is not."""
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"must be a port number from 1 to 65535, not {text!r}")
    return int(text)


class _Parser(argparse.ArgumentParser):
    """A parser whose errors are one line: what is wrong, and where the usage is."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _parser() -> argparse.ArgumentParser:
    """Every option value is checked here: a wrong one is a one-line error naming what the
    option takes, and exit 2."""
    parser = _Parser(
        prog="agentdeck", description="One MCP server for the AI agents of many platforms."
    )
    parser.add_argument("--version", action="version", version=f"agentdeck {__version__}")
    common = _Parser(add_help=False)
    common.add_argument(
        "--config",
        help="TOML config file (default: $AGENTDECK_CONFIG, "
        "else ~/.config/agentdeck/agentdeck.toml if present)",
    )
    common.add_argument(
        "--log-level",
        default="WARNING",
        type=str.upper,
        choices=LOG_LEVELS,
        metavar="LEVEL",
        help=f"stderr log level: {', '.join(LOG_LEVELS)} (any case; default WARNING)",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="{serve,check,tools}")

    serve = commands.add_parser("serve", parents=[common], help="run the MCP server")
    serve.add_argument(
        "--transport",
        choices=["stdio", "http"],
        default="stdio",
        help="stdio (default: the client starts agentdeck and talks on stdin/stdout) or "
        "http (Streamable HTTP at /mcp, health at /healthz)",
    )
    http = serve.add_argument_group("HTTP options (only with --transport http)")
    http.add_argument("--host", help=f"bind address (default {DEFAULT_HOST})")
    http.add_argument("--port", type=_port, help=f"port (default {DEFAULT_PORT})")
    http.add_argument("--token", help="bearer token clients must send (or AGENTDECK_HTTP_TOKEN)")
    http.add_argument(
        "--allowed-host",
        action="append",
        help="extra Host header value to accept, e.g. example.com:443 (repeatable)",
    )
    http.add_argument(
        "--stateless",
        action="store_true",
        default=None,
        help="no server-side sessions (several replicas behind a load balancer)",
    )
    serve.add_argument("--read-only", action="store_true", help=READ_ONLY_HELP)

    commands.add_parser("check", parents=[common], help="check config and every backend")
    tools = commands.add_parser("tools", parents=[common], help="print the tools a client sees")
    shown = tools.add_mutually_exclusive_group()
    shown.add_argument(
        "--json", action="store_true", help="print the tools/list entries as a client gets them"
    )
    shown.add_argument(
        "--markdown",
        action="store_true",
        help="print the tool reference of docs/tools.md (every toolset; ignores the config)",
    )
    tools.add_argument(
        "--read-only",
        action="store_true",
        help=f"the tools `serve --read-only` serves: {READ_ONLY_HELP}",
    )
    return parser


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The arguments, with serve's HTTP options refused over stdio (they would be ignored,
    so a mistyped command would silently serve stdio) and defaulted over HTTP."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command != "serve":
        return args
    given = [name for name in HTTP_ONLY if getattr(args, name) is not None]
    if args.transport == "stdio" and given:
        options = ", ".join("--" + name.replace("_", "-") for name in given)
        verb = "applies" if len(given) == 1 else "apply"
        parser.exit(
            2,
            f"agentdeck serve: error: {options} only {verb} over HTTP; add --transport http "
            "(see agentdeck serve --help)\n",
        )
    args.host = args.host or DEFAULT_HOST
    args.port = args.port or DEFAULT_PORT
    args.allowed_host = args.allowed_host or []
    args.stateless = bool(args.stateless)
    return args


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    import logging

    from agentdeck.config import load_settings
    from agentdeck.errors import AgentdeckError

    logging.basicConfig(
        level=args.log_level,
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

    from agentdeck.server import build_server

    if args.transport == "stdio":
        from agentdeck.server.transport import serve_stdio

        server = build_server(settings)
        _freeze_start_up()
        anyio.run(serve_stdio, server)
        return 0
    import os

    from agentdeck.server.transport import build_http_app, listen, serve_http

    token = args.token or os.environ.get("AGENTDECK_HTTP_TOKEN") or None
    server = build_server(settings, stateless=args.stateless, token=token)
    app = build_http_app(
        server,
        host=args.host,
        token=token,
        allowed_hosts=args.allowed_host,
        stateless=args.stateless,
        limits=settings.server,
        events=server.events,
    )
    sock = listen(args.host, args.port)
    _freeze_start_up()
    print(f"agentdeck serving MCP at http://{args.host}:{args.port}/mcp", file=sys.stderr)
    level = args.log_level.lower()
    serve_http(
        app, host=args.host, port=args.port, log_level=level, limits=settings.server, sock=sock
    )
    return 0


def _freeze_start_up() -> None:
    """Leave what start-up built (modules, schemas, the tools) out of every later garbage
    collection: it lives as long as the process, and walking it again at each full
    collection cost a chat about a millisecond."""
    import gc

    gc.collect()
    gc.freeze()


#: How ``check`` marks a backend: working, working but missing something, broken.
OK, WARN, FAIL = "ok", "WARN", "FAIL"


async def check_backends(settings: Settings) -> list[tuple[str, str, str, str, str]]:
    """One row per backend: name, kind, capabilities, OK/WARN/FAIL and what was found."""
    import anyio

    from agentdeck.backends.base import CheckWarning, capabilities_of
    from agentdeck.errors import AgentdeckError
    from agentdeck.registry import Registry

    rows = []
    async with Registry.open(settings) as registry:
        for name, backend in registry.backends.items():
            capabilities = ",".join(capabilities_of(backend))
            if backend.settings.credentials == "per_user":
                detail = "per-user credentials: each user's key is checked when they connect it"
                rows.append((name, backend.kind, capabilities, OK, detail))
                continue
            try:
                with anyio.fail_after(_CHECK_TIMEOUT):
                    detail, status = await backend.check(), OK
            except CheckWarning as exc:
                detail, status = str(exc), WARN
            except AgentdeckError as exc:
                detail, status = str(exc), FAIL
            except TimeoutError:
                detail, status = f"no answer within {_CHECK_TIMEOUT:g} s", FAIL
            rows.append((name, backend.kind, capabilities, status, detail))
    return rows


def _check(settings: Settings, args: argparse.Namespace) -> int:
    """Exit 1 only when something configured is broken; warnings still pass."""
    import anyio

    print(f"config: {settings.source or 'none (defaults: the local backend only)'}")
    rows = anyio.run(check_backends, settings)
    width = max(len(r[0]) for r in rows)
    for name, kind, capabilities, status, detail in rows:
        print(f"{status:<4} {name:<{width}}  {kind:<11} {detail}")
        print(f"     {'':<{width}}  {'':<11} can: {capabilities}")
    return 1 if any(r[3] == FAIL for r in rows) else 0


def _tools(settings: Settings, args: argparse.Namespace) -> int:
    import json

    import anyio

    from agentdeck.server import enabled_tools

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

    from agentdeck.server import build_server

    async with Client(build_server(settings)) as client:
        return list((await client.list_tools()).tools)
