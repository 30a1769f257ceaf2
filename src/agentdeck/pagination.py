"""Cursors: opaque strings agentdeck hands out so list tools page the same way everywhere."""

from __future__ import annotations

from agentdeck.errors import InvalidInputError


def parse_offset(cursor: str | None) -> int:
    """The offset inside an offset cursor (``"o:40"``); None is the first page."""
    if cursor is None or cursor == "":
        return 0
    prefix, _, number = cursor.partition(":")
    if prefix != "o" or not number.isdigit():
        raise InvalidInputError(
            f"the cursor '{cursor}' is not one agentdeck handed out; pass the `next_cursor` "
            "of the previous page, or leave it out for the first page."
        )
    return int(number)


def offset_cursor(offset: int, limit: int, fetched: int) -> str | None:
    """The cursor of the next page, given that ``limit + 1`` rows were asked and ``fetched`` came."""
    return f"o:{offset + limit}" if fetched > limit else None
