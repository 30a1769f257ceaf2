"""What agentdeck adds to a chat: a `chat` tool call over stdio vs the same request made directly.

    python bench/overhead.py [--calls 200] [--latency 0.02]

A fake OpenAI-compatible server (tests/fakes/openai.py) answers after `--latency`
seconds. Measured: the median and p95 of (a) the streamed chat-completions request
made directly with httpx2 and (b) a `chat` tool call through `agentdeck serve` over
stdio to a local agent on that server; and the time from starting the server process
to `initialize` answered. Targets: overhead <= 1.5 ms median; start <= 0.8 s.
Prints numbers; asserts nothing.
"""

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import anyio
import httpx2
from mcp import Client, StdioServerParameters

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.fakes.base import serve
from tests.fakes.openai import FakeOpenAI


def summary(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered) * 1000, ordered[int(len(ordered) * 0.95) - 1] * 1000


async def direct(url: str, calls: int) -> list[float]:
    body = {
        "model": "bench",
        "messages": [{"role": "user", "content": "hi"}],
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    samples = []
    async with httpx2.AsyncClient(base_url=url) as http:
        for _ in range(calls):
            started = time.perf_counter()
            async with http.stream("POST", "/v1/chat/completions", json=body) as response:
                async for _event in httpx2.EventSource(response):
                    pass
            samples.append(time.perf_counter() - started)
    return samples


async def through_agentdeck(url: str, calls: int, folder: Path) -> tuple[list[float], float]:
    config = folder / "agentdeck.toml"
    config.write_text(
        f'[backends.local]\nkind = "local"\ndatabase = "{folder / "bench.db"}"\n'
        f'model = "openai"\nopenai_base_url = "{url}/v1"\nopenai_model = "bench"\n'
    )
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "agentdeck", "serve", "--config", str(config)]
    )
    started = time.perf_counter()
    async with Client(params, mode="legacy") as client:
        startup = time.perf_counter() - started
        agent = await client.call_tool("create_agent", {"backend": "local", "name": "bench"})
        ref = agent.structured_content["ref"]
        samples = []
        for _ in range(calls):
            begun = time.perf_counter()
            result = await client.call_tool("chat", {"agent": ref, "message": "hi"})
            samples.append(time.perf_counter() - begun)
            assert result.structured_content["status"] == "completed"
    return samples, startup


async def main(calls: int, latency: float) -> None:
    fake = FakeOpenAI(latency=latency)
    with serve(fake.app) as url, tempfile.TemporaryDirectory() as folder:
        await direct(url, 10)  # warm up
        direct_samples = await direct(url, calls)
        deck_samples, startup = await through_agentdeck(url, calls, Path(folder))
    direct_median, direct_p95 = summary(direct_samples)
    deck_median, deck_p95 = summary(deck_samples)
    print(f"backend latency        {latency * 1000:.1f} ms, {calls} calls each")
    print(f"direct httpx2 stream   median {direct_median:7.2f} ms   p95 {direct_p95:7.2f} ms")
    print(f"agentdeck chat (stdio) median {deck_median:7.2f} ms   p95 {deck_p95:7.2f} ms")
    print(
        f"overhead               median {deck_median - direct_median:7.2f} ms   "
        f"ratio {deck_median / direct_median:.3f}   (target <= 1.5 ms)"
    )
    print(f"start to initialize    {startup * 1000:7.1f} ms   (target <= 800 ms)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--latency", type=float, default=0.02)
    args = parser.parse_args()
    anyio.run(main, args.calls, args.latency)
