"""The local backend through a real MCP client, in both protocol eras; what it keeps,
in both stores (SQLite and PostgreSQL)."""

import pytest
from mcp.types import CreateMessageResult, TextContent

from tests.fakes.base import Served
from tests.fakes.openai import FakeOpenAI
from tests.platforms import OPENAI_KEY, openai_settings
from tests.support import (
    accept,
    call_error,
    call_ok,
    connect,
    conversation_id,
    local_agent,
    make_settings,
    two_turns,
)

pytestmark = pytest.mark.anyio


async def create_echo_agent(client, name="Helper", instructions="Be brief."):
    return await call_ok(
        client,
        "create_agent",
        {"backend": "local", "name": name, "instructions": instructions, "model": "echo"},
    )


#: Per model: the agent's own fields, two messages in one conversation, and the two answers.
TWO_TURNS = {
    "echo": (
        {"model": "echo", "instructions": "Be brief."},
        ("apples", "pears"),
        ("You said: apples", "You said: pears (turn 2; earlier you said: apples)"),
    ),
    "sampling": ({"model": "sampling"}, ("hi", "again"), ("sampled 1", "sampled 3")),
    "openai": (
        {"instructions": "Be kind."},
        ("hi", "more"),
        (
            "[tiny-llama] heard 'hi' after 1 earlier messages",
            "[tiny-llama] heard 'more' after 3 earlier messages",
        ),
    ),
}


@pytest.mark.parametrize("model", list(TWO_TURNS))
async def test_a_second_chat_in_a_conversation_sees_the_first(
    model: str, mode: str, database: str, served: Served
) -> None:
    """One scenario through each model: the built-in echo, the client's own model (sampling),
    and an OpenAI-compatible server (the fake, with a key)."""
    fields, messages, answers = TWO_TURNS[model]
    openai = FakeOpenAI(api_key=OPENAI_KEY)
    settings = make_settings(database=database)
    if model == "openai":
        settings = openai_settings(served(openai), database=database)
    sampled: list[list[str]] = []

    async def sampling(context, params) -> CreateMessageResult:
        sampled.append([m.content.text for m in params.messages])
        return CreateMessageResult(
            role="assistant",
            content=TextContent(type="text", text=f"sampled {len(params.messages)}"),
            model="client-model",
        )

    async with connect(settings, mode, sampling_callback=sampling) as client:
        agent = await call_ok(client, "create_agent", {"backend": "local", "name": "A", **fields})
        first, second = await two_turns(client, agent["ref"], *messages)
    assert first["status"] == "completed"
    assert (first["text"], second["text"]) == answers
    assert second["conversation"] == first["conversation"]
    assert first["conversation"] == f"local:{conversation_id(first)}"
    if model == "sampling":  # the client's model was sent the whole conversation
        assert sampled[-1] == ["hi", "sampled 1", "again"]
    if model == "openai":  # the server was sent the history after the instructions, with the key
        assert second["usage"] == {"total_tokens": 7}
        sent = openai.bodies[-1]
        assert sent["stream"] is True
        assert [m["role"] for m in sent["messages"]] == ["system", "user", "assistant", "user"]
        assert sent["messages"][0]["content"] == "Be kind."
        assert openai.requests[-1].headers["authorization"] == f"Bearer {OPENAI_KEY}"


async def test_chat_streams_text_as_progress_notifications(mode: str) -> None:
    progress: list[str | None] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append(message)

    async with connect(make_settings(), mode) as client:
        agent = await create_echo_agent(client)
        result = await call_ok(
            client,
            "chat",
            {"agent": agent["ref"], "message": "one two three"},
            progress_callback=on_progress,
        )
    # echo answers at once, so its deltas arrive together and go out as one notification
    assert "".join(m or "" for m in progress) == result["text"]
    assert progress


async def test_conversations_are_listed_and_readable_as_transcripts(
    mode: str, database: str
) -> None:
    async with connect(make_settings(database=database), mode) as client:
        agent = await create_echo_agent(client)
        other = await create_echo_agent(client, name="Other")
        first = await call_ok(client, "chat", {"agent": agent["ref"], "message": "hello"})
        await call_ok(client, "chat", {"agent": other["ref"], "message": "elsewhere"})

        everything = await call_ok(client, "list_conversations", {})
        assert len(everything["items"]) == 2
        mine = await call_ok(client, "list_conversations", {"agent": agent["ref"]})
        assert [c["ref"] for c in mine["items"]] == [first["conversation"]]
        assert mine["items"][0]["message_count"] == 2

        conversation = await call_ok(
            client, "get_conversation", {"conversation": first["conversation"]}
        )
        assert [(m["role"], m["content"]) for m in conversation["messages"]] == [
            ("user", "hello"),
            ("assistant", "You said: hello"),
        ]
        resource = await client.read_resource(
            f"agentdeck://local/conversations/{conversation_id(first)}"
        )
        transcript = resource.contents[0].text
        assert "## user" in transcript and "hello" in transcript
        assert "You said: hello" in transcript


async def test_agents_are_created_read_updated_listed_and_deleted(mode: str, database: str) -> None:
    async with connect(
        make_settings(database=database), mode, elicitation_callback=accept
    ) as client:
        created = await create_echo_agent(client, name="Writer", instructions="Write well.")
        assert created["ref"] == f"local:{created['id']}"
        fetched = await call_ok(client, "get_agent", {"agent": created["ref"]})
        assert fetched["instructions"] == "Write well."

        updated = await call_ok(
            client, "update_agent", {"agent": created["ref"], "description": "writes things"}
        )
        assert updated["description"] == "writes things"
        assert updated["instructions"] == "Write well."

        for index in range(3):
            await create_echo_agent(client, name=f"Extra {index}")
        page = await call_ok(client, "list_agents", {"backend": "local", "limit": 3})
        assert len(page["items"]) == 3 and page["next_cursor"]
        rest = await call_ok(
            client, "list_agents", {"backend": "local", "limit": 3, "cursor": page["next_cursor"]}
        )
        assert len(rest["items"]) == 1 and "next_cursor" not in rest

        deleted = await call_ok(client, "delete_agent", {"agent": created["ref"]})
        assert deleted["deleted"] == created["ref"]
        gone = await call_error(client, "get_agent", {"agent": created["ref"]})
        assert "no local agent" in gone


async def test_agent_resource_serves_the_agent_as_json(mode: str, database: str) -> None:
    async with connect(make_settings(database=database), mode) as client:
        agent = await create_echo_agent(client)
        resource = await client.read_resource(f"agentdeck://local/agents/{agent['id']}")
        assert f'"ref": "{agent["ref"]}"' in resource.contents[0].text


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ({"agent": "nowhere:abc", "message": "hi"}, "no backend named 'nowhere'"),
        ({"agent": "local", "message": "hi"}, "names only a backend"),
        ({"agent": "local:", "message": "hi"}, "has no id after ':'"),
        ({"agent": "local:missing", "message": "hi"}, "no local agent 'missing'"),
        ({"agent": "local:missing", "message": "   "}, "message is empty"),
    ],
)
async def test_bad_refs_and_messages_give_clear_tool_errors(
    mode: str, arguments: dict, expected: str
) -> None:
    async with connect(make_settings(), mode) as client:
        text = await call_error(client, "chat", arguments)
        assert expected in text
        listed = await call_ok(client, "list_conversations", {})
        assert listed["items"] == []


async def test_an_unsupported_operation_names_what_the_backend_can_do() -> None:
    async with connect(make_settings()) as client:
        backends = (await call_ok(client, "list_backends", {}))["backends"]
        assert backends == [
            {
                "name": "local",
                "kind": "local",
                "capabilities": ["agents", "manage_agents", "chat", "conversations"],
                "expose_agents": False,
                "model": "echo",
            }
        ]


async def test_a_local_agent_without_a_configured_model_says_how_to_configure_one() -> None:
    async with connect(make_settings(local={"model": "openai"})) as client:
        agent = await local_agent(client)
        text = await call_error(client, "chat", {"agent": agent, "message": "hi"})
        assert "openai_base_url" in text
        assert "echo" in text


async def test_the_sampling_model_without_client_support_is_a_clear_error() -> None:
    async with connect(make_settings()) as client:
        agent = await call_ok(
            client, "create_agent", {"backend": "local", "name": "S", "model": "sampling"}
        )
        text = await call_error(client, "chat", {"agent": agent["ref"], "message": "hi"})
    assert "does not support sampling" in text


async def test_each_backend_serves_a_list_of_recent_conversations(mode: str, database: str) -> None:
    async with connect(make_settings(database=database), mode) as client:
        agent = await create_echo_agent(client)
        reply = await call_ok(client, "chat", {"agent": agent["ref"], "message": "status?"})
        listed = await client.list_resources()
        recent = await client.read_resource("agentdeck://local/conversations")
    assert "agentdeck://local/conversations" in {str(r.uri) for r in listed.resources}
    text = recent.contents[0].text
    assert f"agentdeck://local/conversations/{conversation_id(reply)}" in text
    assert "status?" in text


async def test_a_model_call_sends_the_instructions_and_a_bounded_window(mode: str) -> None:
    settings = make_settings(local={"history_limit": {"messages": 4, "characters": 1000}})
    async with connect(settings, mode) as client:
        agent = await create_echo_agent(client, instructions="Stay on topic.")
        args = {"agent": agent["ref"], "message": "turn 1"}
        first = await call_ok(client, "chat", args)
        assert first["usage"]["input_messages"] == 2  # instructions, the message
        seen = []
        for turn in range(2, 7):
            answer = await call_ok(
                client,
                "chat",
                {**args, "message": f"turn {turn}", "conversation": first["conversation"]},
            )
            seen.append(answer["usage"]["input_messages"])
        assert seen == [4, 6, 6, 6, 6]  # instructions + at most 4 past messages + the message
        # the window is the latest messages: echo names the last user turns it saw
        assert answer["text"] == "You said: turn 6 (turn 3; earlier you said: turn 4; turn 5)"
        transcript = await call_ok(
            client, "get_conversation", {"conversation": first["conversation"]}
        )
        assert len(transcript["messages"]) == 12, "the whole conversation stays stored"


async def test_the_character_limit_keeps_the_newest_messages_that_fit() -> None:
    settings = make_settings(local={"history_limit": {"characters": 40}})
    async with connect(settings) as client:
        agent = await create_echo_agent(client, instructions="A long instruction " * 10)
        args = {"agent": agent["ref"], "message": "x" * 30}
        first = await call_ok(client, "chat", args)
        again = await call_ok(
            client, "chat", {**args, "message": "short", "conversation": first["conversation"]}
        )
        # the past user message (30 chars) and echo's answer (40) do not both fit in 40:
        # only the answer goes, after the instructions, which always go
        assert again["usage"]["input_messages"] == 3
        assert again["text"] == "You said: short"
