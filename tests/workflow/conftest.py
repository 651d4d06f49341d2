"""Shared helpers for the workflow tests: a valid path through the procedure."""

from datetime import date, datetime, timezone

import pytest

from registry.workflow import ChallengeState, Settings, take

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)  # a Monday

SUBMISSION = {
    "title": "Buurtcoöperatie groenonderhoud",
    "summary": "  We maintain the green spaces of our block.  ",
    "plan": "Weekly mowing, pruning in autumn, planting with the school.",
    "requested_budget_cents": 1_250_000,
    "area": "Indische Buurt",
    "proposed_start": "2026-09-01",
    "duration_months": 12,
    "service": 7,
    "collective": 3,
}

# Valid fields per action, used to walk a challenge into any state.
VALID = {
    "submit": SUBMISSION,
    "declare_admissible": {},
    "declare_inadmissible": {"grounds": ["UK-2"], "reasons": "The plan is missing."},
    "request_information": {"questions": "Who will do the pruning?"},
    "provide_information": {"answer": "A local gardener."},
    "lapse": {},
    "accept": {},
    "propose_modification": {"modification": "Start in October.", "reasons": "Budget year."},
    "consent": {},
    "decline": {"reasons": "October is too late."},
    "reject": {"grounds": ["NL-COST", "NL-SUPPORT"], "reasons": "Too expensive."},
    "conclude_agreement": {
        "budget_cents": 1_000_000,
        "starts_on": date(2026, 9, 1),
        "ends_on": "2027-08-31",
        "conditions": "Quarterly reports.",
    },
    "accept_agreement": {},
    "start_operation": {},
    "report_progress": {"report": "All lawns mowed."},
    "evaluate": {"evaluation": "Good work."},
    "renew": {"ends_on": "2028-08-31"},
    "end": {},
    "terminate": {"reasons": "The collective disbanded."},
    "withdraw": {"reasons": "We found another way."},
}

ROLE = {
    "submit": "collective", "provide_information": "collective", "consent": "collective",
    "decline": "collective", "report_progress": "collective", "withdraw": "collective",
    "terminate": "collective", "accept_agreement": "collective",
}  # fmt: skip


class Walker:
    """Takes valid actions one after the other and keeps the events."""

    def __init__(self, settings: Settings | None = None, now: datetime = T0):
        self.settings = settings or Settings()
        self.state = ChallengeState()
        self.now = now
        self.events = []

    def do(self, action, fields=None, role=None, now=None):
        self.now = now or self.now
        t = take(
            self.state, action, role or ROLE.get(action, "reviewer"),
            VALID[action] if fields is None else fields, self.now, self.settings,
        )  # fmt: skip
        self.state = t.state
        self.events.append(t.event)
        return t

    def path(self, *actions):
        for action in actions:
            self.do(action)
        return self


@pytest.fixture
def walker():
    """A factory: walker(settings=None, now=T0) -> Walker."""
    return Walker


@pytest.fixture
def valid():
    return VALID
