"""Deadlines in calendar and working days; pausing and resuming; the lapse guard."""

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from registry.workflow import Clock, DomainError, Settings, is_overdue
from registry.workflow.clock import add_days, add_time, remaining_seconds, resume

UTC = timezone.utc


def dt(*args):
    return datetime(*args, tzinfo=UTC)


FRI_15 = dt(2026, 3, 6, 15)


@pytest.mark.parametrize(
    "start,days,working,due",
    [
        (FRI_15, 1, False, dt(2026, 3, 7, 15)),
        (FRI_15, 1, True, dt(2026, 3, 9, 15)),  # Monday
        (FRI_15, 5, True, dt(2026, 3, 13, 15)),  # next Friday
        (dt(2026, 3, 2), 5, True, dt(2026, 3, 7)),  # Monday 00:00 + 5 = end of Friday
        (dt(2026, 3, 7, 10), 1, True, dt(2026, 3, 10)),  # Saturday counts from Monday 00:00
        (dt(2026, 3, 7, 10), 0, True, dt(2026, 3, 7, 10)),
        (FRI_15, 30, False, dt(2026, 4, 5, 15)),
        (FRI_15, 30, True, dt(2026, 4, 17, 15)),  # six working weeks
        (FRI_15, 70, True, dt(2026, 6, 12, 15)),
    ],
)
def test_add_days(start, days, working, due):
    assert add_days(start, days, working) == due


def test_remaining_seconds_skips_weekends():
    assert remaining_seconds(FRI_15, dt(2026, 3, 9, 15), True) == 86_400
    assert remaining_seconds(FRI_15, dt(2026, 3, 9, 15), False) == 3 * 86_400
    assert remaining_seconds(dt(2026, 3, 7, 12), dt(2026, 3, 8, 12), True) == 0
    assert remaining_seconds(dt(2026, 3, 10), dt(2026, 3, 9), False) == 0  # never negative


moments = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)


@given(moments, st.integers(0, 400 * 86_400), st.booleans())
def test_resume_adds_back_exactly_what_was_left(start, seconds, working):
    due = resume(start, seconds, working)
    assert due >= start
    assert remaining_seconds(start, due, working) == seconds
    if working and seconds:
        # A deadline never falls inside a weekend (Saturday 00:00 is the end of Friday).
        assert due.weekday() < 5 or due == due.replace(hour=0, minute=0, second=0, microsecond=0) and due.weekday() == 5


@given(moments, moments, st.booleans())
def test_remaining_is_additive(a, b, working):
    # Pausing at any moment between now and the deadline loses no time.
    lo, hi = sorted([a, b])
    mid = lo + (hi - lo) / 2
    total = remaining_seconds(lo, hi, working)
    parts = remaining_seconds(lo, mid, working) + remaining_seconds(mid, hi, working)
    assert abs(total - parts) <= 1  # whole seconds are floored


@pytest.mark.parametrize("working", [False, True])
def test_information_request_pauses_and_resumes(walker, working):
    s = Settings(working_days=working)
    w = walker(settings=s, now=FRI_15)
    w.do("submit")
    due = w.state.clock.due_at
    assert due == add_days(FRI_15, 30, working)
    asked = FRI_15 + timedelta(days=10, hours=3)
    w.do("request_information", now=asked)
    c = w.state.clock
    assert (c.stage, c.waiting_on) == ("information", "collective")
    assert c.due_at == add_days(asked, 28, working)
    assert (c.paused_stage, c.paused_remaining_s) == ("admissibility", remaining_seconds(asked, due, working))
    answered = asked + timedelta(days=17, hours=5)
    w.do("provide_information", now=answered)
    c = w.state.clock
    assert (c.stage, c.waiting_on, c.paused_stage, c.paused_remaining_s) == (
        "admissibility", "municipality", None, None,
    )  # fmt: skip
    # The time the collective took is added to the municipality's deadline.
    assert remaining_seconds(answered, c.due_at, working) == remaining_seconds(asked, due, working)
    if not working:
        assert c.due_at == due + (answered - asked)


def test_pausing_an_overdue_clock_keeps_zero(walker):
    w = walker().path("submit")
    w.do("request_information", now=w.state.clock.due_at + timedelta(days=3))
    assert w.state.clock.paused_remaining_s == 0
    answered = w.now + timedelta(days=1)
    w.do("provide_information", now=answered)
    assert w.state.clock.due_at == answered


def test_lapse_guard(walker):
    w = walker().path("submit", "request_information")
    due = w.state.clock.due_at
    with pytest.raises(DomainError) as e:
        w.do("lapse", now=due - timedelta(microseconds=1))
    assert e.value.code == "not-yet-due"
    assert w.state.state == "information_requested"
    assert w.do("lapse", role="system", now=due).state.state == "lapsed"


@pytest.mark.parametrize("working", [False, True])
def test_stage_clocks(walker, working):
    s = Settings(admissibility_days=10, decision_days=20, information_days=5, agreement_days=15, working_days=working)
    w = walker(settings=s, now=FRI_15)

    def check(action, stage, waiting, due):
        t = w.do(action, now=w.now + timedelta(hours=1))
        c = t.state.clock
        assert (c.stage, c.waiting_on, c.due_at) == (stage, waiting, due)

    check("submit", "admissibility", "municipality", add_days(FRI_15 + timedelta(hours=1), 10, working))
    check("declare_admissible", "decision", "municipality", add_days(w.now + timedelta(hours=1), 20, working))
    check("propose_modification", "consent", "collective", add_days(w.now + timedelta(hours=1), 5, working))
    check("consent", "agreement", "municipality", add_days(w.now + timedelta(hours=1), 15, working))
    check("conclude_agreement", "start", "municipality", dt(2026, 9, 1))
    check("start_operation", "evaluation", "municipality", dt(2027, 8, 31))
    before = w.state.clock
    w.do("report_progress")
    assert w.state.clock == before
    check("evaluate", "continuation", "municipality", add_days(w.now + timedelta(hours=1), 20, working))
    check("end", None, None, None)


def test_is_overdue():
    c = Clock("decision", "municipality", FRI_15)
    assert not is_overdue(c, FRI_15 - timedelta(seconds=1))
    assert is_overdue(c, FRI_15)
    assert not is_overdue(Clock(), FRI_15)


def test_add_months_clamps_to_the_month_end():
    from datetime import datetime, timezone

    from registry.workflow.clock import add_months

    t = datetime(2026, 1, 31, 12, 0, tzinfo=timezone.utc)
    assert add_months(t, 1) == datetime(2026, 2, 28, 12, 0, tzinfo=timezone.utc)
    assert add_months(t, 13) == datetime(2027, 2, 28, 12, 0, tzinfo=timezone.utc)
    assert add_months(t, 12) == datetime(2027, 1, 31, 12, 0, tzinfo=timezone.utc)
