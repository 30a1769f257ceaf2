"""Destructive tools ask the user first through elicitation, in both protocol eras."""

import pytest

from tests.support import (
    accept,
    call_error,
    call_ok,
    connect,
    decline,
    make_settings,
    ok,
)

pytestmark = pytest.mark.anyio


async def make_agent(client) -> str:
    created = await client.call_tool(
        "create_agent", {"backend": "local", "name": "Doomed", "model": "echo"}
    )
    return ok(created)["ref"]


async def test_an_accepted_confirmation_deletes(mode: str) -> None:
    questions: list[str] = []

    async def answer(context, params):
        questions.append(params.message)
        return await accept(context, params)

    async with connect(make_settings(), mode, elicitation_callback=answer) as client:
        ref = await make_agent(client)
        await call_ok(client, "delete_agent", {"agent": ref})
        listed = await call_ok(client, "list_agents", {"backend": "local"})
    assert listed["items"] == []
    assert questions == [f"This permanently deletes the agent {ref}. Go ahead?"]


async def test_a_declined_confirmation_changes_nothing_and_says_so(mode: str) -> None:
    async with connect(make_settings(), mode, elicitation_callback=decline) as client:
        ref = await make_agent(client)
        text = await call_error(client, "delete_agent", {"agent": ref})
        listed = await call_ok(client, "list_agents", {"backend": "local"})
    assert "nothing was changed" in text.lower()
    assert [a["ref"] for a in listed["items"]] == [ref]


async def test_a_client_that_cannot_be_asked_is_told_about_the_setting(mode: str) -> None:
    async with connect(make_settings(), mode) as client:
        ref = await make_agent(client)
        text = await call_error(client, "delete_agent", {"agent": ref})
        listed = await call_ok(client, "list_agents", {"backend": "local"})
    assert "confirm_destructive = false" in text
    assert len(listed["items"]) == 1


async def test_with_confirmation_off_deletes_without_asking(mode: str) -> None:
    settings = make_settings(server={"confirm_destructive": False})
    async with connect(settings, mode, elicitation_callback=decline) as client:
        ref = await make_agent(client)
        await call_ok(client, "delete_agent", {"agent": ref})
        listed = await call_ok(client, "list_agents", {"backend": "local"})
    assert listed["items"] == []
