"""How a backend explains a platform error: a refined copy, the original left as it was."""

from agentdeck.errors import NotFoundError, RateLimitedError


def test_a_refined_error_is_a_copy_with_the_new_texts_and_every_other_field() -> None:
    original = RateLimitedError(
        "slow down", backend="make", hint=None, status=429, platform_message="quota", retry_after=3
    )
    refined = original.refined(hint="Wait a minute.", platform_message="quota (redacted)")
    assert type(refined) is RateLimitedError and refined is not original
    assert (refined.message, refined.hint, refined.platform_message) == (
        "slow down",
        "Wait a minute.",
        "quota (redacted)",
    )
    assert (refined.backend, refined.status, refined.retry_after) == ("make", 429, 3)
    assert str(refined) == "backend 'make': slow down Wait a minute."
    assert (original.hint, original.platform_message, str(original)) == (
        None,
        "quota",
        "backend 'make': slow down",
    )


def test_a_new_message_replaces_the_old_one_everywhere_it_is_read() -> None:
    refined = NotFoundError("HTTP 404", backend="make", status=404).refined(
        message="there is no Make agent 'a1'."
    )
    assert refined.args == ("there is no Make agent 'a1'.",)
    assert str(refined) == "backend 'make': there is no Make agent 'a1'."
    assert refined.status == 404
