"""The public, hash-chained ledger of workflow events.

Every event is published as a *body* (a JSON object) plus the SHA-256 of the
body's canonical JSON. Each body names the previous event's hash, so anyone
can recompute the chain of a municipality and see that no step was changed,
removed or inserted. docs/ledger.md describes the recipe for outsiders.

Pure: standard library and msgspec only.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Any

import msgspec

from registry.workflow.types import Event

GENESIS = "0" * 64
MAX_INT = 2**53 - 1

_encode = msgspec.json.Encoder(order="sorted").encode


def _check(value: Any) -> None:
    """Refuse anything outside the value domain where the canonical form is defined."""
    if value is None or value is True or value is False:
        return
    if isinstance(value, str):
        value.encode()  # lone surrogates cannot be UTF-8: raises UnicodeEncodeError
        return
    if type(value) is int:
        if not -MAX_INT <= value <= MAX_INT:
            raise ValueError(f"integer {value} is outside ±(2**53-1)")
        return
    if isinstance(value, (list, tuple)):
        for item in value:
            _check(item)
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"object keys must be strings, not {type(key).__name__}")
            key.encode()
            _check(item)
        return
    raise TypeError(f"{type(value).__name__} has no canonical JSON form here (floats are refused)")


def canonical(obj: Any) -> bytes:
    """Canonical JSON: sorted keys, no whitespace, minimal escaping, UTF-8.

    Byte-identical to json.dumps(obj, sort_keys=True, separators=(",", ":"),
    ensure_ascii=False).encode() for the allowed values (a property test in
    tests/workflow/test_ledger.py checks this), and to RFC 8785 as long as keys
    are ASCII, which all of the ledger's keys are.
    """
    _check(obj)
    return _encode(obj)


def format_time(dt: datetime) -> str:
    """`YYYY-MM-DDTHH:MM:SS.ffffffZ` in UTC, always six fraction digits."""
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError("ledger times must be aware datetimes")
    u = dt.astimezone(timezone.utc)
    return (
        f"{u.year:04d}-{u.month:02d}-{u.day:02d}T"
        f"{u.hour:02d}:{u.minute:02d}:{u.second:02d}.{u.microsecond:06d}Z"
    )


def parse_time(text: str) -> datetime:
    """The inverse of format_time."""
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)


def event_body(
    event: Event, municipality: str, seq: int, challenge_ref: str | None, prev_hash: str
) -> dict[str, Any]:
    return {
        "municipality": municipality,
        "seq": seq,
        "challenge": challenge_ref,
        "action": event.action,
        "from_state": event.from_state,
        "to_state": event.to_state,
        "actor_role": event.actor_role,
        "occurred_at": format_time(event.occurred_at),
        "data": event.data,
        "due_at": format_time(event.due_at) if event.due_at is not None else None,
        "waiting_on": event.waiting_on,
        "prev_hash": prev_hash,
    }


def hash_body(body: dict[str, Any]) -> str:
    return hashlib.sha256(canonical(body)).hexdigest()


def verify_chain(bodies_with_hashes: Iterable[tuple[dict[str, Any], str]]) -> int | None:
    """Check one municipality's chain from seq 1 on.

    Returns the seq of the first event that is out of order, does not link to
    its predecessor's hash, belongs to another municipality, or whose hash does
    not match its body; None when the whole chain is sound.
    """
    prev = GENESIS
    municipality = None
    for expected, (body, claimed) in enumerate(bodies_with_hashes, start=1):
        if municipality is None:
            municipality = body.get("municipality")
        try:
            sound = (
                body.get("seq") == expected
                and type(body.get("seq")) is int
                and body.get("prev_hash") == prev
                and body.get("municipality") == municipality
                and hash_body(body) == claimed
            )
        except (TypeError, ValueError):  # a body outside the canonical domain
            sound = False
        if not sound:
            return expected
        prev = claimed
    return None
