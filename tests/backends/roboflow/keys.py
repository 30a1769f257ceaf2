"""Where agentdeck puts the Roboflow API key, checked against what the fake recorded."""

from tests.fakes.roboflow import FakeRoboflow


def assert_key_sent_as_documented(fake: FakeRoboflow) -> None:
    """GET/DELETE carry api_key in the query, POST in the JSON body, never both."""
    assert fake.key_uses
    for use in fake.key_uses:
        expected = "body" if use.method == "POST" else "query"
        assert use.location == expected, use
