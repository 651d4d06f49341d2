"""Field kinds: how an action's input is checked and normalised.

Each kind turns a raw value (from a form, an API body, or a replayed event)
into the Python value the workflow uses and the JSON-ready value published in
the event. Replayed events carry the JSON form, so every kind accepts its own
output again.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from msgspec import Struct, structs

from .grounds import is_valid_ground
from .types import DomainError, Settings

MAX_INT = 2**53 - 1  # the largest integer every JSON reader keeps exact
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class Missing(Exception):
    """Raised by a kind when the value is effectively absent (e.g. blank text)."""


_SURROGATE = re.compile("[\ud800-\udfff]")


class Text(Struct, frozen=True):
    max_length: int = 20_000
    kind = "text"

    def parse(self, value: Any, settings: Settings, strict: bool) -> tuple[str, str]:
        if not isinstance(value, str):
            raise ValueError("must be text")
        text = value.strip()
        if not text:
            raise Missing
        if "\x00" in text:
            raise ValueError("must not contain NUL characters")
        if _SURROGATE.search(text):
            raise ValueError("must be valid Unicode (no lone surrogates)")
        if len(text) > self.max_length:
            raise ValueError(f"must be at most {self.max_length} characters")
        return text, text


class Int(Struct, frozen=True):
    minimum: int = 0
    maximum: int = MAX_INT
    kind = "int"

    def parse(self, value: Any, settings: Settings, strict: bool) -> tuple[int, int]:
        if type(value) is not int:  # bool is an int subclass; refuse it
            raise ValueError("must be a whole number")
        if not self.minimum <= value <= self.maximum:
            raise ValueError(f"must be between {self.minimum} and {self.maximum}")
        return value, value


class Id(Int, frozen=True):
    """A reference to another record (service, collective)."""

    minimum: int = 1
    kind = "id"


class Day(Struct, frozen=True):
    kind = "date"

    def parse(self, value: Any, settings: Settings, strict: bool) -> tuple[date, str]:
        if isinstance(value, datetime):  # a datetime is a date subclass
            raise ValueError("must be a date, not a date and time")
        if isinstance(value, str):
            if not _ISO_DATE.fullmatch(value):
                raise ValueError("must be a date as YYYY-MM-DD")
            try:
                value = date.fromisoformat(value)
            except ValueError:
                raise ValueError("must be an existing date") from None
        if not isinstance(value, date):
            raise ValueError("must be a date")
        if not 1900 <= value.year <= 2999:
            raise ValueError("must be a date between the years 1900 and 2999")
        return value, value.isoformat()


class Grounds(Struct, frozen=True):
    kind = "grounds"

    def parse(
        self, value: Any, settings: Settings, strict: bool
    ) -> tuple[tuple[str, ...], list[str]]:
        if not isinstance(value, (list, tuple)):
            raise ValueError("must be a list of ground codes")
        if not value:
            raise Missing
        for code in value:
            if not isinstance(code, str) or not code:
                raise ValueError("each ground must be a code")
            # Replay does not re-check membership: a municipality may since
            # have dropped one of its own codes, and history must stay readable.
            if strict and not is_valid_ground(code, settings):
                raise ValueError(f"unknown ground {code!r}")
        if len(set(value)) != len(value):
            raise ValueError("grounds must not repeat")
        return tuple(value), list(value)


class Scores(Struct, frozen=True):
    """An assessment: a list of {criterion, score 1..5, motivation}, published
    with the decision. Criteria are the municipality's own codes (the back
    office checks them against its list); the engine checks only the shape."""

    max_items: int = 30
    max_motivation: int = 5_000
    kind = "scores"

    def parse(self, value: Any, settings: Settings, strict: bool) -> tuple[tuple, list[dict]]:
        if not isinstance(value, (list, tuple)):
            raise ValueError("must be a list of scores")
        if not value:
            raise Missing
        if len(value) > self.max_items:
            raise ValueError(f"must have at most {self.max_items} scores")
        out: list[dict] = []
        for item in value:
            if isinstance(item, Struct):  # the API's typed body
                item = structs.asdict(item)
            if not isinstance(item, dict) or set(item) != {"criterion", "score", "motivation"}:
                raise ValueError("each score must have exactly 'criterion', 'score' and 'motivation'")
            criterion, score, motivation = item["criterion"], item["score"], item["motivation"]
            if not isinstance(criterion, str) or not _CRITERION.fullmatch(criterion):
                raise ValueError("each criterion must be a code like 'social_value'")
            if type(score) is not int or not 1 <= score <= 5:
                raise ValueError("each score must be a whole number from 1 to 5")
            try:
                text, _ = Text(self.max_motivation).parse(motivation, settings, strict)
            except Missing:
                raise ValueError("each score needs a motivation") from None
            out.append({"criterion": criterion, "score": score, "motivation": text})
        if len({o["criterion"] for o in out}) != len(out):
            raise ValueError("criteria must not repeat")
        return tuple(tuple(o.values()) for o in out), out


_CRITERION = re.compile(r"[a-z][a-z0-9_]{0,39}")


def parse_fields(
    action: str,
    spec: dict[str, Any],
    fields: Any,
    settings: Settings,
    strict: bool = True,
    optional: dict[str, Any] | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Check `fields` against `spec` (all required) and `optional` (may be
    absent, None or empty); return (values, JSON-ready data)."""
    values: dict[str, Any] = {}
    data: dict[str, Any] = {}
    optional = optional or {}
    for name, kind in spec.items():
        raw = fields.get(name)
        try:
            if raw is None:
                raise Missing
            values[name], data[name] = kind.parse(raw, settings, strict)
        except Missing:
            raise DomainError("missing-field", f"'{action}' needs '{name}'", name) from None
        except ValueError as exc:
            raise DomainError("invalid-field", f"'{name}' {exc}", name) from None
    for name, kind in optional.items():
        raw = fields.get(name)
        try:
            if raw is not None:
                values[name], data[name] = kind.parse(raw, settings, strict)
        except Missing:
            pass  # an optional field left empty is simply absent
        except ValueError as exc:
            raise DomainError("invalid-field", f"'{name}' {exc}", name) from None
    for name in fields:
        if name not in spec and name not in optional:
            raise DomainError(
                "unknown-field", f"'{action}' does not take a field {name!r}", str(name)
            )
    return values, data
