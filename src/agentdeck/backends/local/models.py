"""The models a local agent answers through: ``openai``, ``sampling`` and ``echo``
(``auto`` picks one of the first two, see ``local.py``).

Each turns a chat history (OpenAI-style ``{"role", "content"}`` dicts, system
prompt first) into ChatEvents. The choice is made per agent (its ``model``) or for
the backend; there is no silent fallback to ``echo``: the backend checks a model is
available before calling one of these, and says how to configure one when it is not.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from pydantic import BaseModel, ValidationError

from agentdeck.backends.kit import (
    SECRETS,
    ChatEvent,
    Done,
    HttpClient,
    ProtocolError,
    ReasoningDelta,
    StreamWarning,
    TextDelta,
    iter_sse,
)

SPECIAL_MODELS = ("auto", "echo", "sampling", "openai")


def setup_hint(agent: str | None = None) -> str:
    """Every way to give local agents a model; with ``agent`` (the ref of an agent that
    exists), how to switch that one to the offline ``echo`` model."""
    echo = (
        f'update_agent(agent="{agent}", model="echo") for this agent, or `model = "echo"` '
        "in [backends.local] for every agent without a model of its own"
        if agent
        else '`model = "echo"` in [backends.local] (or create_agent with model "echo")'
    )
    return (
        "Ways to give local agents a model: use an MCP client that offers sampling (its own "
        "model answers); set `openai_base_url` (and `openai_model`, `openai_api_key`) in "
        "[backends.local] for any OpenAI-compatible server; start a local one on its usual "
        "port (Ollama 11434, llama.cpp 8080, LM Studio 1234, vLLM 8000), which `auto` finds; "
        f"or, for an offline demo, {echo}."
    )


class _Delta(BaseModel):
    content: str | None = None
    reasoning_content: str | None = None


class _Choice(BaseModel):
    delta: _Delta | None = None
    finish_reason: str | None = None


class _Chunk(BaseModel):
    """The part of a streamed chat-completions chunk agentdeck reads; other fields are ignored.

    Validating the whole shape up front means a chunk of the wrong shape (``[]``,
    ``{"choices": 5}``, a number as content) is skipped with a warning instead of
    failing the answer.
    """

    choices: list[_Choice] | None = None
    usage: dict[str, Any] | None = None


async def echo_reply(history: list[dict[str, str]]) -> AsyncIterator[ChatEvent]:
    """A deterministic answer that shows what the agent saw: the message and the history."""
    user_turns = [m["content"] for m in history if m["role"] == "user"]
    text = f"You said: {user_turns[-1]}"
    if len(user_turns) > 1:
        earlier = "; ".join(user_turns[:-1][-3:])
        text += f" (turn {len(user_turns)}; earlier you said: {earlier})"
    for index, word in enumerate(text.split(" ")):
        yield TextDelta(text=word if index == 0 else f" {word}")
    yield Done(usage={"input_messages": len(history), "output_words": len(text.split(" "))})


async def openai_reply(
    backend: str, http: HttpClient, model: str | None, history: list[dict[str, str]]
) -> AsyncIterator[ChatEvent]:
    """Stream ``/chat/completions`` from an OpenAI-compatible server."""
    body: dict[str, Any] = {
        "model": model or "default",
        "messages": history,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    operation = "the OpenAI-compatible model's POST /chat/completions"
    usage: dict[str, Any] | None = None
    finished = False
    async with http.stream("POST", "/chat/completions", json=body, operation=operation) as response:
        async for event in iter_sse(response, http, operation):
            if event.data.strip() == "[DONE]":
                # read on to the end rather than break, so the connection goes back to the pool
                finished = True
                continue
            try:
                chunk = _Chunk.model_validate_json(event.data)
            except ValidationError:
                quoted = SECRETS.cut(repr(event.data), 80)
                yield StreamWarning(message=f"skipped a malformed model chunk: {quoted}")
                continue
            usage = chunk.usage or usage
            for choice in chunk.choices or []:
                delta = choice.delta or _Delta()
                if delta.reasoning_content:
                    yield ReasoningDelta(text=delta.reasoning_content)
                if delta.content:
                    yield TextDelta(text=delta.content)
                if choice.finish_reason:
                    finished = True
    if not finished:
        raise ProtocolError(
            f"{operation} ended before the model finished its answer.",
            backend=backend,
            hint="The model server stopped mid-answer; retry the message.",
        )
    yield Done(usage=usage)


async def sampled_reply(text: str) -> AsyncIterator[ChatEvent]:
    """The answer the MCP client's model gave through sampling (asked before the run)."""
    yield TextDelta(text=text)
    yield Done()
