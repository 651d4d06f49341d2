"""Schemathesis fuzzes every operation of the live server's OpenAPI document.

Writes are sent WITH real bearer tokens of several roles (and sometimes with
none, or with a token of another municipality), and ``{ref}`` is often the
reference of a real challenge, seeded through the API in various states, with
its current ``expected_version``: so fuzzed actions really get past
authentication, the version check and into the procedure engine.

Checks: no 5xx, and nothing the schema contradicts (status code, content
type, response headers, response body).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
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

# Actions taken (in order, by role) to bring a seeded challenge into a state.
PATHS: dict[str, list[tuple[str, str, dict]]] = {
    "submitted": [],
    "under_assessment": [("declare_admissible", "reviewer", {})],
    "information_requested": [("request_information", "reviewer", {"questions": "Hoeveel vrijwilligers?"})],
    "accepted": [("declare_admissible", "reviewer", {}), ("accept", "admin", {})],
    "modification_proposed": [
        ("declare_admissible", "reviewer", {}),
        ("propose_modification", "reviewer", {"modification": "Start in oktober.", "reasons": "Begroting."}),
    ],
    "in_operation": [
        ("declare_admissible", "reviewer", {}),
        ("accept", "admin", {}),
        ("conclude_agreement", "reviewer",
         {"budget_cents": 100_000_00, "starts_on": "2027-03-01", "ends_on": "2028-03-01", "conditions": "Rapportage."}),
        ("start_operation", "reviewer", {}),
    ],
    "evaluated": [
        ("declare_admissible", "reviewer", {}),
        ("accept", "admin", {}),
        ("conclude_agreement", "reviewer",
         {"budget_cents": 100_000_00, "starts_on": "2027-03-01", "ends_on": "2028-03-01", "conditions": "Rapportage."}),
        ("start_operation", "reviewer", {}),
        ("evaluate", "reviewer", {"evaluation": "Goed."}),
    ],
    "withdrawn": [("withdraw", "collective", {"reasons": "Anders opgelost."})],
}


@dataclass
class World:
    """What the fuzzer aims at: real places, tokens and challenge references."""

    base: str
    place: Place
    foreign: Place
    refs: list[str] = field(default_factory=list)
    drafts: list[str] = field(default_factory=list)
    seen: Counter = field(default_factory=Counter)
    """(operationId, status code) -> how often: proof that the fuzzing got somewhere."""

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

    def version_of(self, ref: str) -> int | None:
        if ref in self.drafts:
            return 1  # a draft is at version 1 until it is submitted (and then public)
        r = httpx.get(f"{self.base}/api/v1/challenges/{ref}", timeout=10)
        return r.json()["version"] if r.status_code == 200 else None


def _seed(base: str, place: Place) -> tuple[list[str], list[str]]:
    refs, drafts = [], []
    with httpx.Client(base_url=base, timeout=10) as client:
        r = client.post("/api/v1/challenges", json=filing(place, submit=False), headers=place.auth())
        assert r.status_code == 201, r.text
        drafts.append(r.json()["ref"])
        for _state, steps in PATHS.items():
            r = client.post("/api/v1/challenges", json=filing(place), headers=place.auth())
            assert r.status_code == 201, r.text
            c = r.json()
            for action, role, fields in steps:
                r = client.post(
                    f"/api/v1/challenges/{c['ref']}/actions/{action}",
                    json={"expected_version": c["version"], **fields},
                    headers=place.auth(role),
                )
                assert r.status_code == 200, r.text
                c = r.json()
            assert c["state"] == _state, c
            refs.append(c["ref"])
    return refs, drafts


@pytest.fixture(scope="module")
def world(live_server: str, database_url: str) -> World:
    place, foreign = new_place(database_url), new_place(database_url)
    refs, drafts = _seed(live_server, place)
    return World(live_server, place, foreign, refs, drafts)


@pytest.fixture(scope="module")
def api_schema(live_server: str, world: World):
    """The OpenAPI document as the live server serves it."""
    schema = schemathesis.openapi.from_url(f"{live_server}/api/v1/openapi.json", wait_for_schema=10)
    schema.config.update(base_url=live_server)
    return schema


def _operations() -> list[tuple[str, str]]:
    """(method, path) of every documented operation, known at collection time
    from the app itself (no database needed); the test checks the live server
    documents exactly these."""
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
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    def fuzz(case, data) -> None:
        exercise(case, data, world)

    fuzz()


def exercise(case, data, world: World) -> None:
    operation = case.operation
    operation_id = operation.definition.raw.get("operationId", "")
    secured = bool(operation.definition.raw.get("security"))
    path = case.path_parameters if case.path_parameters is not None else {}
    body = case.body if isinstance(case.body, dict) else None

    # Aim {ref} at real challenges most of the time.
    if "ref" in path and data.draw(st.integers(0, 9), label="real ref?") < 7:
        path["ref"] = data.draw(st.sampled_from(world.refs + world.drafts), label="ref")
    if "code" in path and data.draw(st.booleans(), label="real code?"):
        path["code"] = data.draw(st.sampled_from([world.place.code, world.foreign.code]), label="code")
    if operation_id == "fileChallenge" and body is not None and data.draw(st.booleans(), label="real service?"):
        body["service"] = data.draw(
            st.sampled_from([world.place.service, world.place.excluded_service, world.foreign.service]),
            label="service",
        )

    headers: dict[str, str] = {}
    if secured:
        action = _action_of(operation_id)
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
        # With the current version, an action gets past the version check.
        ref = path.get("ref")
        if action and body is not None and isinstance(ref, str) and data.draw(st.booleans(), label="fresh version?"):
            version = world.version_of(ref)
            if version is not None:
                body["expected_version"] = version

    response = case.call_and_validate(base_url=world.base, headers=headers, checks=CHECKS, timeout=30)
    world.seen[operation_id, response.status_code] += 1


def test_fuzzing_reached_past_auth_and_into_the_procedure(world: World) -> None:
    """Runs after the fuzzing above (same module): writes really got through."""
    print("\n".join(f"{op} {status}: {n}" for (op, status), n in sorted(world.seen.items())))
    actions = {status: n for (op, status), n in world.seen.items() if op.startswith("act_")}
    assert actions.get(200, 0) > 0, world.seen  # an action was taken
    assert actions.get(409, 0) > 0, world.seen  # stale version or illegal transition
    assert actions.get(403, 0) > 0 and actions.get(401, 0) > 0, world.seen
    assert world.seen["fileChallenge", 201] > 0, world.seen
    assert world.seen["getChallenge", 200] > 0, world.seen
