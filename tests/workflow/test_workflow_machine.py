"""Random walks through the procedure, checking the invariants after every step."""

from datetime import date, datetime, timedelta, timezone

import msgspec
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from registry.ledger import GENESIS, event_body, hash_body, verify_chain
from registry.workflow import (
    ACTIONS,
    END_STATES,
    GROUNDS,
    STATES,
    ChallengeState,
    Clock,
    DomainError,
    Settings,
    Window,
    allowed_actions,
    is_open,
    replay,
    take,
)

ROLES = ["collective", "reviewer", "admin", "system", "nobody"]
NAMES = sorted(ACTIONS) + ["teleport"]
# Stages whose deadline is "now + N days" (or a resumed remainder), never in the past.
FRESH = {"admissibility", "decision", "information", "consent", "agreement", "continuation"}
# Guards allowed_actions() does not evaluate: time, and "done once already".
TIME_GUARDS = {"not-yet-due", "outside-submission-window", "already-accepted"}

texts = st.text(min_size=1, max_size=20).filter(lambda s: s.strip() and "\x00" not in s)
texts = texts.filter(lambda s: not any("\ud800" <= c <= "\udfff" for c in s))
junk = st.sampled_from(["", "   ", None, True, -1, 1.5, "2026-02-30", "a\x00b", [], ["XX"], 2**53])


def valid_fields(draw, action, state, now, s):
    """Draw fields that pass every field check for `action` in `state`."""
    if action == "submit":
        return {
            "title": draw(texts), "summary": draw(texts), "plan": draw(texts),
            "requested_budget_cents": draw(st.integers(0, 2**53 - 1)), "area": draw(texts),
            "proposed_start": draw(st.dates(date(2020, 1, 1), date(2035, 1, 1))).isoformat(),
            "duration_months": draw(st.integers(1, 600)),
            "service": draw(st.integers(1, 2**53 - 1)), "collective": draw(st.integers(1, 99)),
        }  # fmt: skip
    if action == "conclude_agreement":
        starts = now.date() + timedelta(days=draw(st.integers(-10, 60)))
        ends = starts + timedelta(days=draw(st.integers(1, 400)))
        return {
            "budget_cents": draw(st.integers(0, 10**9)),
            "starts_on": draw(st.sampled_from([starts, starts.isoformat()])),
            "ends_on": ends.isoformat(),
            "conditions": draw(texts),
        }
    if action == "renew":
        return {"ends_on": state.agreement.ends_on + timedelta(days=draw(st.integers(1, 400)))}
    fields = {}
    for name, kind in ACTIONS[action].fields.items():
        if kind.kind == "grounds":
            pool = sorted(GROUNDS) + list(s.extra_grounds)
            fields[name] = draw(st.lists(st.sampled_from(pool), min_size=1, max_size=3, unique=True))
        else:
            fields[name] = draw(texts)
    return fields


def ledger(events):
    pairs, prev = [], GENESIS
    for seq, event in enumerate(events, start=1):
        body = event_body(event, "GM0363", seq, "GM0363-2026-0001", prev)
        prev = hash_body(body)
        pairs.append((body, prev))
    return pairs


class ChallengeMachine(RuleBasedStateMachine):
    @initialize(
        working=st.booleans(),
        days=st.tuples(*[st.integers(1, 40)] * 4),
        windowed=st.booleans(),
        start=st.datetimes(datetime(2024, 1, 1), datetime(2030, 1, 1), timezones=st.just(timezone.utc)),
    )
    def setup(self, working, days, windowed, start):
        windows = ()
        if windowed:  # a window around the start, and a later one
            d = start.date()
            windows = (Window(d - timedelta(days=3), d + timedelta(days=2)),
                       Window(d + timedelta(days=20), d + timedelta(days=40)))  # fmt: skip
        self.settings = Settings(*days, working_days=working, submission_windows=windows,
                                 extra_grounds=("GM0363-LOCAL",))  # fmt: skip
        self.state = ChallengeState()
        self.events = []
        self.now = start

    def _attempt(self, action, role, fields):
        before = msgspec.json.encode(self.state)
        fields_before = msgspec.json.encode(fields)
        try:
            t = take(self.state, action, role, fields, self.now, self.settings)
        except DomainError as e:
            assert msgspec.json.encode(self.state) == before  # nothing changed
            assert msgspec.json.encode(fields) == fields_before
            return e
        assert msgspec.json.encode(fields) == fields_before
        self.state = t.state
        self.events.append(t.event)
        self.last = t.event
        return None

    @rule(
        seconds=st.one_of(
            st.integers(0, 3 * 86_400),
            st.sampled_from([86_400 * 2, 86_400 * 7, 86_400 * 29, 86_400 * 60]),
        )
    )
    def advance(self, seconds):
        self.now += timedelta(seconds=seconds)

    @rule(extra=st.integers(0, 2 * 86_400), lapse=st.booleans())
    def pass_the_deadline(self, extra, lapse):
        """Let the current deadline pass; then the system may lapse an unanswered request."""
        due = self.state.clock.due_at
        if due is not None and due > self.now:
            self.now = due + timedelta(seconds=extra)
        if lapse and self.state.state == "information_requested":
            assert self._attempt("lapse", "system", {}) is None

    @rule(data=st.data())
    def take_allowed(self, data):
        """A valid action for some role: it must succeed unless a time guard says no."""
        options = [(a, r) for r in ROLES for a in allowed_actions(self.state, r)]
        if not options:
            return
        # Mostly move forward, so that walks reach the later stages.
        onward = [(a, r) for a, r in options if ACTIONS[a].to not in END_STATES]
        if onward and data.draw(st.integers(0, 9)) > 0:
            options = onward
        action, role = data.draw(st.sampled_from(options))
        fields = valid_fields(data.draw, action, self.state, self.now, self.settings)
        error = self._attempt(action, role, fields)
        assert error is None or error.code in TIME_GUARDS, error

    @rule(data=st.data(), action=st.sampled_from(NAMES), role=st.sampled_from(ROLES))
    def take_anything(self, data, action, role):
        """Any action, any role, fields partly broken: may fail, must never corrupt."""
        fields = {}
        if action in ACTIONS:
            draw = data.draw
            try:
                fields = valid_fields(draw, action, self.state, self.now, self.settings)
            except AttributeError:  # renew without an agreement
                fields = {"ends_on": "2030-01-01"}
            for name in list(fields):
                if draw(st.integers(0, 4)) == 0:
                    fields[name] = draw(junk)
            if draw(st.integers(0, 6)) == 0:
                fields["extra"] = 1
            if fields and draw(st.integers(0, 6)) == 0:
                del fields[draw(st.sampled_from(sorted(fields)))]
        error = self._attempt(action, role, fields)
        if error is not None:
            assert error.code in {
                "unknown-action", "illegal-transition", "forbidden-role", "missing-field",
                "invalid-field", "unknown-field", *TIME_GUARDS,
            }  # fmt: skip
            if action not in ACTIONS:
                assert error.code == "unknown-action"

    @invariant()
    def state_is_known(self):
        assert self.state.state in STATES
        assert self.state.version == 1 + len(self.events)

    @invariant()
    def clock_is_consistent(self):
        c = self.state.clock
        assert c.paused_remaining_s is None or c.paused_remaining_s >= 0
        assert (c.paused_stage is None) == (c.paused_remaining_s is None)
        assert (self.state.state == "information_requested") == (self.state.return_state is not None)
        if self.state.state in END_STATES or self.state.state == "draft":
            assert c == Clock()
        else:
            assert c.due_at is not None and c.due_at.utcoffset() == timedelta(0)
        assert is_open(self.state.state) == (self.state.state not in END_STATES)
        if self.events and self.last.action != "report_progress" and c.stage in FRESH:
            assert c.due_at >= self.last.occurred_at

    @invariant()
    def replay_reproduces_the_state(self):
        assert replay(self.events, self.settings) == self.state

    @invariant()
    def ledger_verifies_and_detects_tampering(self):
        pairs = ledger(self.events)
        assert verify_chain(pairs) is None
        if pairs:
            i = len(pairs) // 2
            body, h = pairs[i]
            pairs[i] = ({**body, "actor_role": body["actor_role"] + "!"}, h)
            assert verify_chain(pairs) == i + 1


ChallengeMachine.TestCase.settings = settings(
    max_examples=200,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TestChallengeMachine = ChallengeMachine.TestCase
