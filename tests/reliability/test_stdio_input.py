"""Issue 18.7: `agentdeck serve` on stdio answers every line it cannot read, and goes on."""

from pathlib import Path

from tests.reliability.subprocesses import StdioServer

CONFIG = '[backends.local]\nkind = "local"\ndatabase = ":memory:"\nmodel = "echo"\n'
PARSE_ERROR = -32700
INVALID_REQUEST = -32600


def _call(arguments: str) -> bytes:
    return (
        b'{"jsonrpc":"2.0","id":90,"method":"tools/call","params":{"name":"list_agents",'
        + b'"arguments":'
        + arguments.encode()
        + b"}}"
    )


UNREADABLE = {
    "broken JSON": (b'{"jsonrpc":"2.0","id":91,"method":', PARSE_ERROR),
    "lone surrogate escape": (_call('{"backend":"\\ud800"}'), PARSE_ERROR),
    "nesting 200 deep": (_call('{"backend":' + "[" * 200 + "]" * 200 + "}"), PARSE_ERROR),
    "invalid UTF-8": (b'{"jsonrpc":"2.0","id":\xff\xfe1,"method":"ping"}', PARSE_ERROR),
    "JSON of another shape": (b'{"hello":"world"}', INVALID_REQUEST),
    "a batch": (b'[{"jsonrpc":"2.0","id":92,"method":"ping"}]', INVALID_REQUEST),
}


def test_18_7_stdio_answers_each_unreadable_line_with_an_error_and_keeps_serving(
    tmp_path: Path,
) -> None:
    """18.7: a line that is not a JSON-RPC message gets a JSON-RPC error with id null
    (-32700 when it is not JSON, -32600 when it is JSON of another shape) instead of
    silence, and the next request is served as usual; a blank line, holding no message,
    gets no answer."""
    config = tmp_path / "agentdeck.toml"
    config.write_text(CONFIG)
    server = StdioServer(config)
    server.initialize()
    for what, (line, code) in UNREADABLE.items():
        server.stdin.write(line + b"\n")
        server.stdin.flush()
        ping = server.send("ping")
        answer = server.next_answer()
        assert answer is not None, server.stderr()
        assert answer.get("id", "missing") is None, (what, answer)
        assert answer["error"]["code"] == code, (what, answer)
        assert server.next_answer() == {"jsonrpc": "2.0", "id": ping, "result": {}}, what
    server.stdin.write(b"\n  \r\n")
    server.stdin.flush()
    ping = server.send("ping")
    assert server.next_answer() == {"jsonrpc": "2.0", "id": ping, "result": {}}
    assert server.tool("list_backends", {})["backends"][0]["name"] == "local"
