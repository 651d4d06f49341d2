"""Schemathesis fuzzes every operation of the live server's OpenAPI document.

Writes are sent WITH real bearer tokens of several roles (and sometimes with
none, or with a token of another municipality). ``{ref}`` is usually a real
challenge, seeded through the API (filed by the collective with
``"submit": true`` and walked into various states), and for an action
usually one in a state the action may be taken from, with its current
``expected_version``: so fuzzed actions get past authentication, the version
check and into the procedure engine.

Checks: no 5xx, and nothing the schema contradicts (status code, content
type, response headers, response body).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

import asyncpg
import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from registry import workflow
from registry.app import create_app
from tests.conftest import Place, filing
from tests.live.conftest import new_place

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
MAX_EXAMPLES = 40

_AGREEMENT = {"budget_cents": 100_000_00, "starts_on": "2027-03-01", "ends_on": "2028-03-01", "conditions": "Rapportage."}
# Actions taken (in order, by role) to bring a freshly submitted challenge into a state.
PATHS: dict[str, list[tuple[str, str, dict]]] = {
    "submitted": [],
    "under_assessment": [("declare_admissible", "reviewer", {})],
    "information_requested": [("request_information", "reviewer", {"questions": "Hoeveel vrijwilligers?"})],
    "accepted": [("declare_admissible", "reviewer", {}), ("accept", "admin", {})],
    "modification_proposed": [
        ("declare_admissible", "reviewer", {}),
        ("propose_modification", "reviewer", {"modification": "Start in oktober.", "reasons": "Begroting."}),
    ],
    "agreed": [("declare_admissible", "reviewer", {}), ("accept", "admin", {}), ("conclude_agreement", "reviewer", _AGREEMENT)],
    "in_operation": [
        ("declare_admissible", "reviewer", {}),
        ("accept", "admin", {}),
        ("conclude_agreement", "reviewer", _AGREEMENT),
        ("start_operation", "reviewer", {}),
    ],
    "evaluated": [
        ("declare_admissible", "reviewer", {}),
        ("accept", "admin", {}),
        ("conclude_agreement", "reviewer", _AGREEMENT),
        ("start_operation", "reviewer", {}),
        ("evaluate", "reviewer", {"evaluation": "Goed."}),
    ],
    "withdrawn": [("withdraw", "collective", {"reasons": "Anders opgelost."})],
}
GROUND_CODES = ["UK-2", "NL-COST", "NL-SUPPORT", "X", "A-1"]


@dataclass
class World:
    """What the fuzzer aims at: real places, tokens and challenges."""

    base: str
    place: Place
    foreign: Place
    seen: Counter = field(default_factory=Counter)
    """(operationId, status code) -> how often: proof that the fuzzing got somewhere."""
    http: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=10))
    loop: asyncio.AbstractEventLoop = field(default_factory=asyncio.new_event_loop)
    conn: asyncpg.Connection | None = None

    def token(self, who: str) -> str | None:
        if who == "none":
            return None
        if who == "foreign":
            return self.foreign.admin_token
        return {
            "collective": self.place.collective_token,
            "other_collective": self.place.other_collective_token,
            "reviewer": self.place.reviewer_token,
            "admin": self.place.admin_token,
        }[who]

    def seed(self, state: str) -> str:
        """File a challenge through the API and walk it into ``state``."""
        r = self.http.post(
            f"{self.base}/api/v1/challenges", json=filing(self.place, submit=state != "draft"), headers=self.place.auth()
        )
        assert r.status_code == 201, r.text
        c = r.json()
        if state == "draft":
            return c["ref"]
        for action, role, fields in PATHS[state]:
            r = self.http.post(
                f"{self.base}/api/v1/challenges/{c['ref']}/actions/{action}",
                json={"expected_version": c["version"], **fields},
                headers=self.place.auth(role),
            )
            assert r.status_code == 200, r.text
            c = r.json()
        assert c["state"] == state, c
        return c["ref"]

    def challenges(self) -> dict[str, tuple[str, int]]:
        """ref -> (state, version) of every challenge of the place, drafts included.
        Read from the database, so that the harness does not depend on the API under test."""
        rows = self.loop.run_until_complete(
            self.conn.fetch("SELECT ref, state, version FROM challenges WHERE municipality_code = $1", self.place.code)
        )
        return {r["ref"]: (r["state"], r["version"]) for r in rows}

    def aim(self, action: workflow.Action) -> list[tuple[str, int]]:
        """Challenges the action may be taken on now (seeding one if there is none)."""
        fitting = [(ref, v) for ref, (s, v) in self.challenges().items() if s in action.sources]
        if not fitting:
            state = min(s for s in action.sources if s in PATHS or s == "draft")
            ref = self.seed(state)
            fitting = [(ref, self.challenges()[ref][1])]
        return fitting


@pytest.fixture(scope="module")
def world(live_server: str, database_url: str) -> Iterator[World]:
    w = World(live_server, new_place(database_url), new_place(database_url))
    w.conn = w.loop.run_until_complete(asyncpg.connect(database_url))
    try:
        for state in ["draft", *PATHS]:
            w.seed(state)
        yield w
    finally:
        w.http.close()
        w.loop.run_until_complete(w.conn.close())
        w.loop.close()


@pytest.fixture(scope="module")
def api_schema(live_server: str, world: World):
    """The OpenAPI document as the live server serves it."""
    schema = schemathesis.openapi.from_url(f"{live_server}/api/v1/openapi.json", wait_for_schema=10)
    schema.config.update(base_url=live_server)
    return schema


def _operations() -> list[tuple[str, str]]:
    """(method, path) of every documented operation, known at collection time
    from the app itself (no database needed); a test checks that the live
    server documents exactly these."""
    document = create_app().openapi_schema.to_schema()
    return [
        (method, path)
        for path, item in document["paths"].items()
        for method in item
        if method in ("get", "post", "put", "patch", "delete")
    ]


OPERATIONS = _operations()


def test_live_document_lists_every_operation(api_schema) -> None:
    live = sorted((op.method, op.path) for op in (r.ok() for r in api_schema.get_all_operations()))
    assert live == sorted(OPERATIONS)


def _action_of(operation_id: str) -> workflow.Action | None:
    if operation_id.startswith("act_"):
        return workflow.ACTIONS.get(operation_id[4:])
    return None


# Schemathesis's own pytest integration (``from_fixture(...).parametrize()``)
# cannot run here: its lazy loader sets ``request.node._nodeid``, which
# pytest 9 no longer has. So each operation is a test of its own, and
# Hypothesis draws from the operation's schemathesis strategies directly.
@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m.upper()} {p}" for m, p in OPERATIONS])
def test_operation_conforms_to_schema(api_schema, world: World, method: str, path: str) -> None:
    operation = api_schema[path][method]
    strategy = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    )

    @given(case=strategy, data=st.data())
    # No shrinking: every replay is a round of HTTP requests against a server whose
    # state has moved on (and schemathesis's negative strategies do not always
    # replay identically); a failure is reported as found, with its curl command.
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
        phases=[Phase.explicit, Phase.generate],
    )
    def fuzz(case, data) -> None:
        exercise(case, data, world)

    fuzz()


def exercise(case, data, world: World) -> None:
    raw = case.operation.definition.raw
    operation_id = raw.get("operationId", "")
    action = _action_of(operation_id)
    path = case.path_parameters if case.path_parameters is not None else {}
    body = case.body if isinstance(case.body, dict) else None

    # Aim {ref} at real challenges most of the time; for an action, at one in
    # a state it may be taken from, usually with its current version.
    if "ref" in path and data.draw(st.integers(0, 9), label="real ref?") < 8:
        if action is not None:
            # Draw an index, not from the list: the list depends on the server's
            # state, and Hypothesis must be able to replay the draws.
            fitting = world.aim(action)
            ref, version = fitting[data.draw(st.integers(0, 1 << 16), label="challenge") % len(fitting)]
            path["ref"] = ref
            if body is not None and data.draw(st.integers(0, 9), label="current version?") < 8:
                body["expected_version"] = version
        else:
            refs = sorted(world.challenges())
            path["ref"] = refs[data.draw(st.integers(0, 1 << 16), label="challenge") % len(refs)]
    if "code" in path and data.draw(st.booleans(), label="real code?"):
        path["code"] = data.draw(st.sampled_from([world.place.code, world.foreign.code]), label="code")
    if body is not None and "grounds" in body and data.draw(st.booleans(), label="real grounds?"):
        # The document drops the pattern of the grounds' items (registry/api/bodies.py,
        # GroundCode), so generated grounds are nearly always refused with 400: help them along.
        body["grounds"] = data.draw(st.lists(st.sampled_from(GROUND_CODES), min_size=1, max_size=3), label="grounds")
    if operation_id == "fileChallenge" and body is not None and data.draw(st.booleans(), label="real service?"):
        body["service"] = data.draw(
            st.sampled_from([world.place.service, world.place.excluded_service, world.foreign.service]),
            label="service",
        )

    headers: dict[str, str] = {}
    if raw.get("security"):
        allowed = sorted(action.roles - {"system"}) if action else ["collective"]
        who = data.draw(
            st.one_of(
                st.sampled_from(allowed),
                st.sampled_from(["collective", "other_collective", "reviewer", "admin", "foreign", "none"]),
            ),
            label="role",
        )
        token = world.token(who)
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"

    response = case.call_and_validate(base_url=world.base, headers=headers, checks=CHECKS, timeout=30)
    world.seen[operation_id, response.status_code] += 1


def test_agreement_at_the_edge_of_the_calendar_is_refused_and_lists_stay_readable(world: World) -> None:
    """Found by the fuzzer: an agreement starting on 0001-01-01 put the deadline at
    0001-01-01T00:00Z, which asyncpg stored as -infinity and read back naive, so
    that every list holding the challenge answered 500. Now the engine refuses
    such dates (422, naming the field) and the pool's codec reads extreme
    timestamps back aware (tests/api/test_db.py)."""
    ref = world.seed("accepted")
    version = world.challenges()[ref][1]
    r = world.http.post(
        f"{world.base}/api/v1/challenges/{ref}/actions/conclude_agreement",
        json={"expected_version": version, "budget_cents": 1, "starts_on": "0001-01-01",
              "ends_on": "9999-12-31", "conditions": "x"},
        headers=world.place.auth("reviewer"),
    )
    assert r.status_code == 422 and r.json()["field"] == "starts_on", r.text
    r = world.http.get(f"{world.base}/api/v1/challenges", params={"municipality": world.place.code})
    assert r.status_code == 200, r.text


def test_fuzzing_got_past_auth_and_into_the_procedure(world: World) -> None:
    """Runs after the fuzzing above (same module): the writes really got through,
    and whatever they left behind can still be read."""
    print("\n".join(f"{op} {status}: {n}" for (op, status), n in sorted(world.seen.items())))
    if not world.seen:
        pytest.skip("the fuzzing tests did not run")
    actions = Counter()
    for (op, status), n in world.seen.items():
        if op.startswith("act_"):
            actions[status] += n
    succeeded = {op for (op, status) in world.seen if op.startswith("act_") and status == 200}
    assert len(succeeded) >= 8, world.seen  # many different actions were taken
    assert actions[409] and actions[403] and actions[401] and actions[400], world.seen
    # Fuzzed filings got past authentication and decoding into the domain:
    # filed (201), or refused by it (422, e.g. a start date in the year 0001).
    assert world.seen["fileChallenge", 201] + world.seen["fileChallenge", 422], world.seen
    assert world.seen["getChallenge", 200] and world.seen["getChallengeEvents", 200], world.seen

    for path in ("/api/v1/challenges", "/api/v1/events", "/api/v1/municipalities"):
        r = world.http.get(f"{world.base}{path}", params={"municipality": world.place.code, "limit": 200} if path != "/api/v1/municipalities" else None)
        assert r.status_code == 200, f"{path} after the fuzzed writes: {r.status_code} {r.text}"
    for ref, (state, _version) in world.challenges().items():
        for path in (f"/api/v1/challenges/{ref}", f"/api/v1/challenges/{ref}/events"):
            r = world.http.get(f"{world.base}{path}")
            assert r.status_code == (404 if state == "draft" else 200), f"{path}: {r.status_code} {r.text}"
