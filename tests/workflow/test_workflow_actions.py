"""Every action of the procedure: happy path, wrong state, wrong role, bad fields."""

from datetime import date, datetime, timedelta, timezone

import pytest

from registry.workflow import (
    ACTIONS,
    END_STATES,
    STATES,
    ChallengeState,
    DomainError,
    Settings,
    Window,
    allowed_actions,
    is_open,
    replay,
    take,
)

# A path from draft to a state the action may be taken from.
PATH_TO = {
    "submit": [],
    "declare_admissible": ["submit"],
    "declare_inadmissible": ["submit"],
    "request_information": ["submit", "declare_admissible"],
    "provide_information": ["submit", "declare_admissible", "request_information"],
    "lapse": ["submit", "request_information"],
    "accept": ["submit", "declare_admissible"],
    "propose_modification": ["submit", "declare_admissible"],
    "consent": ["submit", "declare_admissible", "propose_modification"],
    "decline": ["submit", "declare_admissible", "propose_modification"],
    "reject": ["submit", "declare_admissible"],
    "conclude_agreement": ["submit", "declare_admissible", "accept"],
    "accept_agreement": ["submit", "declare_admissible", "accept", "conclude_agreement"],
    "start_operation": ["submit", "declare_admissible", "accept", "conclude_agreement"],
    "report_progress": ["submit", "declare_admissible", "accept", "conclude_agreement", "start_operation"],
    "evaluate": ["submit", "declare_admissible", "accept", "conclude_agreement", "start_operation"],
    "renew": ["submit", "declare_admissible", "accept", "conclude_agreement", "start_operation", "evaluate"],
    "end": ["submit", "declare_admissible", "accept", "conclude_agreement", "start_operation", "evaluate"],
    "terminate": ["submit", "declare_admissible", "accept", "conclude_agreement", "start_operation"],
    "withdraw": ["submit"],
}  # fmt: skip

EXPECTED_TO = {
    "submit": "submitted", "declare_admissible": "under_assessment",
    "declare_inadmissible": "inadmissible", "request_information": "information_requested",
    "provide_information": "under_assessment", "lapse": "lapsed", "accept": "accepted",
    "propose_modification": "modification_proposed", "consent": "accepted",
    "decline": "rejected", "reject": "rejected", "conclude_agreement": "agreed",
    "accept_agreement": "agreed", "start_operation": "in_operation", "report_progress": "in_operation",
    "evaluate": "evaluated", "renew": "in_operation", "end": "ended",
    "terminate": "returned", "withdraw": "withdrawn",
}  # fmt: skip

ALL = sorted(ACTIONS)
WITH_FIELDS = [(a, f) for a in ALL for f in ACTIONS[a].fields]


def at(walker, action, **kw):
    return walker(**kw).path(*PATH_TO[action])


def test_table_covers_every_state_and_action():
    assert set(ACTIONS) == set(PATH_TO)
    for spec in ACTIONS.values():
        assert spec.sources <= STATES
        assert spec.to is None or spec.to in STATES
        assert not spec.sources & END_STATES, "nothing leaves an end state"


@pytest.mark.parametrize("action", ALL)
def test_happy_path(walker, valid, action):
    w = at(walker, action)
    before = w.state
    later = w.now + timedelta(days=60)  # late enough for lapse's guard
    t = w.do(action, now=later)
    assert t.state.state == EXPECTED_TO[action]
    assert t.state.version == before.version + 1
    assert t.event.from_state == before.state
    assert t.event.to_state == t.state.state
    assert t.event.occurred_at == later
    assert t.event.due_at == t.state.clock.due_at
    assert t.event.waiting_on == t.state.clock.waiting_on
    assert replay(w.events, w.settings) == t.state
    if t.state.state in END_STATES:
        assert t.state.clock == type(t.state.clock)()


@pytest.mark.parametrize("action", ALL)
def test_illegal_state(walker, valid, action):
    w = walker().path("submit", "withdraw")
    with pytest.raises(DomainError) as e:
        w.do(action)
    assert e.value.code == "illegal-transition"
    assert "'withdrawn'" in e.value.detail and f"'{action}'" in e.value.detail


@pytest.mark.parametrize("action", ALL)
def test_wrong_role(walker, action):
    w = at(walker, action)
    allowed = ACTIONS[action].roles
    for role in ["collective", "reviewer", "admin", "system", "mayor"]:
        may = role in allowed or (role == "admin" and "reviewer" in allowed)
        if may:
            continue
        with pytest.raises(DomainError) as e:
            w.do(action, role=role, now=w.now + timedelta(days=60))
        assert e.value.code == "forbidden-role"


def test_admin_inherits_reviewer_and_system_only_lapses(walker):
    assert "accept" in allowed_actions(at(walker, "accept").state, "admin")
    w = at(walker, "lapse")
    assert allowed_actions(w.state, "system") == ["lapse"]
    assert allowed_actions(ChallengeState(), "system") == []
    assert allowed_actions(ChallengeState(), "collective") == ["submit", "withdraw"]
    assert allowed_actions(w.state, "collective") == ["provide_information", "withdraw"]
    w.do("lapse", role="system", now=w.now + timedelta(days=29))
    assert w.state.state == "lapsed"


@pytest.mark.parametrize("action,field", WITH_FIELDS)
def test_missing_field(walker, valid, action, field):
    w = at(walker, action)
    fields = {k: v for k, v in valid[action].items() if k != field}
    with pytest.raises(DomainError) as e:
        w.do(action, fields)
    assert (e.value.code, e.value.field) == ("missing-field", field)
    with pytest.raises(DomainError) as e:
        w.do(action, {**fields, field: None})
    assert (e.value.code, e.value.field) == ("missing-field", field)


@pytest.mark.parametrize("action", ALL)
def test_unknown_field(walker, valid, action):
    w = at(walker, action)
    with pytest.raises(DomainError) as e:
        w.do(action, {**valid[action], "colour": "red"}, now=w.now + timedelta(days=60))
    assert (e.value.code, e.value.field) == ("unknown-field", "colour")
    assert "colour" in e.value.detail


@pytest.mark.parametrize("action", ["declare_inadmissible", "reject"])
@pytest.mark.parametrize(
    "grounds,code",
    [
        (["XX-1"], "invalid-field"),
        (["UK-1", "UK-1"], "invalid-field"),
        ([], "missing-field"),
        ("UK-1", "invalid-field"),
        ([1], "invalid-field"),
        (["uk-1"], "invalid-field"),
    ],
)
def test_bad_grounds(walker, valid, action, grounds, code):
    w = at(walker, action)
    with pytest.raises(DomainError) as e:
        w.do(action, {**valid[action], "grounds": grounds})
    assert (e.value.code, e.value.field) == (code, "grounds")


def test_extra_grounds_are_valid(walker, valid):
    w = at(walker, "reject", settings=Settings(extra_grounds=("GM0363-HERITAGE",)))
    t = w.do("reject", {**valid["reject"], "grounds": ("GM0363-HERITAGE", "UK-9")})
    assert t.state.decision.grounds == ("GM0363-HERITAGE", "UK-9")
    assert t.event.data["grounds"] == ["GM0363-HERITAGE", "UK-9"]
    # Replay with settings that dropped the code still reads history.
    assert replay(w.events, Settings()) == w.state


@pytest.mark.parametrize(
    "field,value,code",
    [
        ("title", "   ", "missing-field"),
        ("title", 42, "invalid-field"),
        ("title", "a\x00b", "invalid-field"),
        ("title", "\ud800", "invalid-field"),
        ("title", "x" * 20_001, "invalid-field"),
        ("plan", "x" * 100_001, "invalid-field"),
        ("requested_budget_cents", -1, "invalid-field"),
        ("requested_budget_cents", True, "invalid-field"),
        ("requested_budget_cents", 1.0, "invalid-field"),
        ("requested_budget_cents", 2**53, "invalid-field"),
        ("requested_budget_cents", "100", "invalid-field"),
        ("duration_months", 0, "invalid-field"),
        ("duration_months", 601, "invalid-field"),
        ("service", 0, "invalid-field"),
        ("collective", False, "invalid-field"),
        ("proposed_start", "2026-02-30", "invalid-field"),
        ("proposed_start", "20260901", "invalid-field"),
        ("proposed_start", "1-9-2026", "invalid-field"),
        ("proposed_start", datetime(2026, 9, 1, tzinfo=timezone.utc), "invalid-field"),
        ("proposed_start", 20260901, "invalid-field"),
    ],
)
def test_invalid_submission_fields(walker, valid, field, value, code):
    with pytest.raises(DomainError) as e:
        walker().do("submit", {**valid["submit"], field: value})
    assert (e.value.code, e.value.field) == (code, field)


def test_submission_is_normalised(walker, valid):
    t = walker().do("submit", {**valid["submit"], "proposed_start": date(2026, 9, 1)})
    assert t.event.data["summary"] == "We maintain the green spaces of our block."
    assert t.event.data["proposed_start"] == "2026-09-01"
    assert t.state.submitted_at == t.event.occurred_at
    assert "x" * 100_000 == walker().do("submit", {**valid["submit"], "plan": "x" * 100_000}).event.data["plan"]


def test_take_does_not_mutate_its_input(walker, valid):
    fields = dict(valid["submit"])
    snapshot = dict(fields)
    state = ChallengeState()
    take(state, "submit", "collective", fields, datetime(2026, 1, 1, tzinfo=timezone.utc), Settings())
    assert fields == snapshot and state == ChallengeState()


def test_check_order(walker, valid):
    w = walker()
    with pytest.raises(DomainError) as e:
        w.do("fly", {"x": 1}, role="mayor")
    assert e.value.code == "unknown-action"
    with pytest.raises(DomainError) as e:
        w.do("accept", {"x": 1}, role="mayor")
    assert e.value.code == "illegal-transition"
    with pytest.raises(DomainError) as e:
        w.do("submit", {"x": 1}, role="reviewer")
    assert e.value.code == "forbidden-role"
    windows = Settings(submission_windows=(Window(date(2020, 1, 1), date(2020, 1, 2)),))
    with pytest.raises(DomainError) as e:
        walker(settings=windows).do("submit", {"x": 1})
    assert e.value.code == "missing-field"  # fields before the guard


def test_naive_now_is_refused(valid):
    with pytest.raises(ValueError):
        take(ChallengeState(), "submit", "collective", valid["submit"], datetime(2026, 1, 1), Settings())


def test_agreement_dates(walker, valid):
    w = at(walker, "conclude_agreement")
    for ends_on in ["2026-09-01", "2026-08-31"]:
        with pytest.raises(DomainError) as e:
            w.do("conclude_agreement", {**valid["conclude_agreement"], "ends_on": ends_on})
        assert (e.value.code, e.value.field) == ("invalid-field", "ends_on")
    w = at(walker, "renew")
    with pytest.raises(DomainError) as e:
        w.do("renew", {"ends_on": "2027-08-31"})
    assert (e.value.code, e.value.field) == ("invalid-field", "ends_on")
    t = w.do("renew", {"ends_on": "2027-09-01"})
    assert t.state.agreement.ends_on == date(2027, 9, 1)
    assert t.state.clock.due_at == datetime(2027, 9, 1, tzinfo=timezone.utc)
    assert t.state.clock.stage == "evaluation"


def test_submission_windows(walker, valid):
    s = Settings(submission_windows=(Window(date(2026, 1, 1), date(2026, 1, 31)),
                                     Window(date(2026, 3, 1), date(2026, 3, 2))))  # fmt: skip
    # T0 is 2026-03-02 09:00 UTC: the last day of the second window.
    assert walker(settings=s).do("submit").state.state == "submitted"
    late = datetime(2026, 3, 3, 0, 0, tzinfo=timezone.utc)
    with pytest.raises(DomainError) as e:
        walker(settings=s, now=late).do("submit")
    assert e.value.code == "outside-submission-window"
    # The window is judged on the UTC date, whatever the caller's zone.
    amsterdam = timezone(timedelta(hours=1))
    assert walker(settings=s, now=datetime(2026, 3, 3, 0, 30, tzinfo=amsterdam)).do("submit")


def test_decisions(walker, valid):
    w = at(walker, "consent")
    assert w.state.decision.outcome == "modification_proposed"
    t = w.do("consent")
    d = t.state.decision
    assert (d.outcome, d.modification, d.decided_at) == ("accepted", "Start in October.", t.event.occurred_at)
    w = at(walker, "decline")
    d = w.do("decline").state.decision
    assert (d.outcome, d.reasons, d.modification) == ("rejected", "October is too late.", "Start in October.")
    d = at(walker, "reject").do("reject").state.decision
    assert (d.outcome, d.grounds) == ("rejected", ("NL-COST", "NL-SUPPORT"))
    d = at(walker, "declare_inadmissible").do("declare_inadmissible").state.decision
    assert (d.outcome, d.grounds, d.reasons) == ("inadmissible", ("UK-2",), "The plan is missing.")
    assert at(walker, "accept").do("accept").state.decision.outcome == "accepted"


def test_provide_information_returns_to_submitted(walker):
    w = walker().path("submit", "request_information")
    assert w.state.return_state == "submitted"
    t = w.do("provide_information")
    assert t.state.state == "submitted" and t.state.return_state is None
    assert t.state.clock.stage == "admissibility"


def test_withdraw_from_information_requested_clears_return_state(walker):
    w = walker().path("submit", "request_information", "withdraw")
    assert w.state.return_state is None and w.state.clock.due_at is None


def test_is_open():
    assert all(is_open(s) for s in STATES - END_STATES)
    assert not any(is_open(s) for s in END_STATES)
    assert END_STATES == {"inadmissible", "lapsed", "rejected", "ended", "returned", "withdrawn"}


def test_replay_from_stored_json(walker):
    import msgspec

    from registry.workflow import Event

    w = walker(settings=Settings(working_days=True)).path(
        "submit", "declare_admissible", "request_information", "provide_information",
        "propose_modification", "consent", "conclude_agreement", "start_operation",
        "report_progress", "evaluate", "renew", "evaluate", "end",
    )  # fmt: skip
    stored = msgspec.json.decode(msgspec.json.encode(w.events), type=list[Event])
    assert replay(stored, w.settings) == w.state
    # History is not rewritten by later deadline settings: recorded deadlines win.
    assert replay(stored, Settings(working_days=True, admissibility_days=5)) == w.state
    with pytest.raises(ValueError):
        replay(stored[1:], w.settings)


def test_the_collective_accepts_the_agreement_once(walker):
    w = at(walker, "accept_agreement")
    t = w.do("accept_agreement")
    assert t.state.agreement.accepted_at == t.event.occurred_at
    assert t.state.clock == w.state.clock  # still waiting on the municipality to start
    with pytest.raises(DomainError) as err:
        take(t.state, "accept_agreement", "collective", {}, t.event.occurred_at, Settings())
    assert err.value.code == "already-accepted"
    with pytest.raises(DomainError) as err:
        take(w.state, "accept_agreement", "reviewer", {}, t.event.occurred_at, Settings())
