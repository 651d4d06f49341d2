"""Canonical JSON, hashing, chain verification, and docs/ledger.md kept honest."""

import hashlib
import json
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from registry.ledger import (
    GENESIS,
    canonical,
    event_body,
    format_time,
    hash_body,
    parse_time,
    verify_chain,
)
from registry.workflow import ChallengeState, Settings, take

DOC = Path(__file__).resolve().parents[2] / "docs" / "ledger.md"
EXAMPLE_HASH = "51a9f52119c3c8a1b8cf27aa162712ac7e93995845d1e6b89c26932948915811"


def reference(obj) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


# Strings biased towards the characters where encoders differ.
tricky_chars = st.sampled_from(
    ["\x00", "\x01", "\x08", "\t", "\n", "\x0b", "\x0c", "\r", "\x1f", '"', "\\", "/",
     "\x7f", "\x80", "\u2028", "\u2029", "é", "\ufeff", "\uffff", "\U0001f600", "\U0010ffff"]
)  # fmt: skip
text = st.text(
    st.one_of(tricky_chars, st.characters(blacklist_categories=["Cs"])), max_size=12
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53 - 1), 2**53 - 1) | text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=1000)
@given(json_values)
def test_canonical_equals_json_dumps(value):
    assert canonical(value) == reference(value)


@pytest.mark.parametrize(
    "bad", [1.0, float("nan"), {1: "x"}, 2**53, -(2**53), "\ud800", {"\udc00": 1}, {"a": [object()]}]
)
def test_canonical_refuses_values_outside_the_domain(bad):
    with pytest.raises((TypeError, ValueError)):
        canonical(bad)


def test_canonical_escapes():
    assert canonical("\x00\x1f\x7f\u2028é😀/\"\\\b\f\n\r\t") == (
        '"\\u0000\\u001f\x7f\u2028é😀/\\"\\\\\\b\\f\\n\\r\\t"'.encode()
    )
    assert canonical({"b": 1, "a": [True, None], "é": 0, "Z": -1}) == b'{"Z":-1,"a":[true,null],"b":1,"\xc3\xa9":0}'
    assert canonical((1, 2)) == b"[1,2]"


def test_format_time():
    assert format_time(datetime(2026, 3, 2, 9, 30, tzinfo=timezone.utc)) == "2026-03-02T09:30:00.000000Z"
    cet = timezone(timedelta(hours=1))
    assert format_time(datetime(2026, 3, 2, 0, 0, 0, 5, tzinfo=cet)) == "2026-03-01T23:00:00.000005Z"
    assert format_time(datetime(5, 1, 1, tzinfo=timezone.utc)) == "0005-01-01T00:00:00.000000Z"
    t = datetime(2026, 12, 31, 23, 59, 59, 999999, tzinfo=timezone.utc)
    assert parse_time(format_time(t)) == t
    with pytest.raises(ValueError):
        format_time(datetime(2026, 1, 1))


def _doc_blocks(lang):
    return re.findall(rf"```{lang}\n(.*?)\n```", DOC.read_text(encoding="utf-8"), re.S)


def _example_body():
    fields = {
        "title": "Buurtcoöperatie groen",
        "summary": "We maintain the green of our block.\nWeekly.",
        "plan": "Mowing, pruning, planting.",
        "requested_budget_cents": 1250000,
        "area": "Indische Buurt",
        "proposed_start": "2026-09-01",
        "duration_months": 12,
        "service": 7,
        "collective": 3,
    }
    now = datetime(2026, 3, 2, 9, 30, 0, 123456, tzinfo=timezone.utc)
    t = take(ChallengeState(), "submit", "collective", fields, now, Settings())
    return event_body(t.event, "GM0363", 1, "GM0363-2026-0001", GENESIS)


def test_worked_example_in_the_docs():
    body = _example_body()
    assert hash_body(body) == EXAMPLE_HASH
    assert hashlib.sha256(reference(body)).hexdigest() == EXAMPLE_HASH
    (doc_body,) = _doc_blocks("json")
    assert json.loads(doc_body) == body
    assert canonical(body).decode() in _doc_blocks("text")
    assert EXAMPLE_HASH in _doc_blocks("text")
    assert f"{len(canonical(body))} bytes" in DOC.read_text(encoding="utf-8")


def test_verifier_snippet_in_the_docs():
    (snippet,) = _doc_blocks("python")[1:]
    namespace = {}
    exec(snippet, namespace)
    verify = namespace["verify"]
    body = _example_body()
    served = [{**json.loads(msgspec.json.encode(body)), "hash": EXAMPLE_HASH, "id": 4711}]
    assert verify(served) is None
    served[0]["data"]["area"] = "Oost"
    assert verify(served) == 1


def _chain(n):
    pairs, prev = [], GENESIS
    for seq in range(1, n + 1):
        body = {"municipality": "GM0363", "seq": seq, "prev_hash": prev, "data": {"n": seq}}
        prev = hash_body(body)
        pairs.append((body, prev))
    return pairs


def test_verify_chain():
    assert verify_chain([]) is None
    pairs = _chain(5)
    assert verify_chain(pairs) is None
    assert verify_chain(pairs[1:]) == 1  # must start at seq 1
    assert verify_chain(pairs[:2] + pairs[3:]) == 3  # a removed event
    assert verify_chain(pairs[:2] + [pairs[3], pairs[2]] + pairs[4:]) == 3  # reordered
    tampered = [(dict(b), h) for b, h in pairs]
    tampered[3][0]["data"] = {"n": 99}
    assert verify_chain(tampered) == 4
    rehashed = list(pairs)
    rehashed[1] = (pairs[1][0], "f" * 64)  # a forged hash breaks the link of the next
    assert verify_chain(rehashed) == 2
    other = list(pairs)
    body = {**pairs[0][0], "municipality": "GM0344"}
    other[0] = (body, hash_body(body))
    assert verify_chain(other) == 2  # the next event still links to the real GM0363 hash
    floats = list(pairs)
    floats[2] = ({**pairs[2][0], "data": {"n": 3.0}}, pairs[2][1])
    assert verify_chain(floats) == 3
