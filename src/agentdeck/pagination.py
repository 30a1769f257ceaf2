"""Cursors: opaque strings agentdeck hands out so list tools page the same way everywhere."""

from __future__ import annotations

from agentdeck.errors import InvalidInputError

# No list agentdeck pages holds a billion rows, so no cursor it hands out goes past this;
# the bound also keeps a forged offset from overflowing SQLite's 64-bit integers.
MAX_OFFSET = 10**9
INVALID_CURSOR = "this cursor is not valid; start again without one."


def invalid_cursor() -> InvalidInputError:
    """The error for a cursor agentdeck did not hand out (forged, cut, or from another list)."""
    return InvalidInputError(INVALID_CURSOR, hint="Pass the `next_cursor` of the previous page.")


def parse_offset(cursor: str | None) -> int:
    """The offset inside an offset cursor (``"o:40"``); None is the first page."""
    if cursor is None or cursor == "":
        return 0
    prefix, _, number = cursor.partition(":")
    # isdigit() alone accepts '²' and other non-ASCII digits that int() rejects.
    if prefix != "o" or not (number.isascii() and number.isdigit()) or len(number) > 10:
        raise invalid_cursor()
    offset = int(number)
    if offset > MAX_OFFSET:
        raise invalid_cursor()
    return offset


def cursor_at(offset: int) -> str:
    """The cursor of the page that starts ``offset`` items in."""
    return f"o:{offset}"


def offset_cursor(offset: int, limit: int, fetched: int) -> str | None:
    """The cursor of the next page, given that ``limit + 1`` rows were asked and ``fetched`` came."""
    return cursor_at(offset + limit) if fetched > limit else None
