"""Checks of JSON values against a request schema, written as small combinators:
``obj({...}, required=...)``, ``array(string())``, ``integer(11, 99)``. A check appends a
sentence per problem, naming the value by its path (``options.tools[0].workflow_id``), so
one answer lists every problem at once; values of secrets are never repeated.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from typing import Any

from agentdeck.backends.kit import InvalidInputError

#: ``check(value, where, problems)`` appends a sentence per problem to ``problems``.
Check = Callable[[Any, str, list[str]], None]
_MAX_PROBLEMS = 8


def kind_of(value: Any) -> str:
    """A value's JSON type in words ("an integer"), for messages."""
    names = {bool: "a boolean", int: "an integer", float: "a number", str: "a string"}
    names |= {list: "a list", dict: "an object", type(None): "null"}
    return names.get(type(value), type(value).__name__)


def _typed(test: Callable[[Any], bool], what: str, nullable: bool, then: Check | None) -> Check:
    def check(value: Any, where: str, problems: list[str]) -> None:
        if value is None and nullable:
            return
        if not test(value):
            problems.append(
                f"{where} must be {what}{' or null' if nullable else ''}, not {kind_of(value)}"
            )
        elif then is not None:
            then(value, where, problems)

    return check


def anything() -> Check:
    return lambda value, where, problems: None


def string(*, nullable: bool = False) -> Check:
    return _typed(lambda v: isinstance(v, str), "a string", nullable, None)


def boolean() -> Check:
    return _typed(lambda v: isinstance(v, bool), "true or false", False, None)


def _bounded(lo: float | None, hi: float | None) -> Check:
    def check(value: Any, where: str, problems: list[str]) -> None:
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            low = f"{lo:g}" if lo is not None else "-inf"
            high = f"{hi:g}" if hi is not None else "inf"
            problems.append(f"{where} must be between {low} and {high}, not {value}")

    return check


def integer(lo: int | None = None, hi: int | None = None, *, nullable: bool = False) -> Check:
    def test(v: Any) -> bool:
        return isinstance(v, int) and not isinstance(v, bool)

    return _typed(test, "an integer", nullable, _bounded(lo, hi))


def number(lo: float | None = None, hi: float | None = None) -> Check:
    def test(v: Any) -> bool:
        return isinstance(v, int | float) and not isinstance(v, bool)

    return _typed(test, "a number", False, _bounded(lo, hi))


def uuid_string(*, nullable: bool = False) -> Check:
    def parse(value: Any, where: str, problems: list[str]) -> None:
        try:
            uuid.UUID(value)
        except ValueError:
            problems.append(f"{where} must be a UUID, not {value[:60]!r}")

    return _typed(lambda v: isinstance(v, str), "a UUID string", nullable, parse)


def enum(*choices: str) -> Check:
    def check(value: Any, where: str, problems: list[str]) -> None:
        if value not in choices:
            shown = repr(value)[:60] if isinstance(value, str) else kind_of(value)
            problems.append(f"{where} must be one of {', '.join(choices)}, not {shown}")

    return check


def array(item: Check, *, max_items: int | None = None) -> Check:
    def items(value: list[Any], where: str, problems: list[str]) -> None:
        if max_items is not None and len(value) > max_items:
            problems.append(f"{where} takes at most {max_items} items, not {len(value)}")
        for index, element in enumerate(value):
            item(element, f"{where}[{index}]", problems)

    return _typed(lambda v: isinstance(v, list), "a list", False, items)


def mapping(values: Check, *, nullable: bool = False) -> Check:
    """An object with free keys whose values all follow ``values``."""

    def each(value: dict[str, Any], where: str, problems: list[str]) -> None:
        for key, element in value.items():
            values(element, f"{where}.{key}", problems)

    return _typed(lambda v: isinstance(v, dict), "an object", nullable, each)


def free_object(*, nullable: bool = False) -> Check:
    return _typed(lambda v: isinstance(v, dict), "an object", nullable, None)


def obj(
    props: Mapping[str, Check],
    *,
    required: tuple[str, ...] = (),
    one_of: tuple[str, ...] = (),
    extra: bool = False,
    nullable: bool = False,
) -> Check:
    """An object with named fields; ``one_of``: at least one of these must be set."""

    def fields(value: dict[str, Any], where: str, problems: list[str]) -> None:
        for name in required:
            if name not in value:
                problems.append(f"{where}.{name} is required")
        if one_of and all(value.get(name) is None for name in one_of):
            problems.append(f"{where} needs one of {', '.join(one_of)}")
        for key, element in value.items():
            if key in props:
                props[key](element, f"{where}.{key}", problems)
            elif not extra:
                problems.append(f"{where}.{key} is not a known field (known: {', '.join(props)})")

    return _typed(lambda v: isinstance(v, dict), "an object", nullable, fields)


def raise_problems(problems: list[str], *, backend: str, what: str, hint: str) -> None:
    """Raise one InvalidInputError listing the first problems found, if any."""
    if problems:
        shown = "; ".join(problems[:_MAX_PROBLEMS])
        more = (
            f" (and {len(problems) - _MAX_PROBLEMS} more)" if len(problems) > _MAX_PROBLEMS else ""
        )
        raise InvalidInputError(f"{what}: {shown}{more}.", backend=backend, hint=hint)
