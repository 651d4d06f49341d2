"""The public serializer: the only way challenge data leaves the registry.

Privacy by construction: these structs have no field for a person, and the
queries in registry.store.challenges select no column of a private table.
"""

from __future__ import annotations

from datetime import date, datetime

import msgspec

from registry.workflow import ChallengeState, is_open, is_overdue, next_report_due


class MunicipalityRef(msgspec.Struct, frozen=True):
    code: str
    name: str


class ServiceRef(msgspec.Struct, frozen=True):
    id: int
    name: str
    category: str
    department: str


class CollectiveRef(msgspec.Struct, frozen=True):
    id: int
    name: str
    legal_form: str


class Deadline(msgspec.Struct, frozen=True):
    """Whom the challenge waits on and until when. ``paused`` is set while an
    information request stops the municipality's clock."""

    stage: str | None
    waiting_on: str | None
    due_at: datetime | None
    overdue: bool
    overdue_days: int
    paused_stage: str | None = None
    paused_remaining_days: float | None = None


class ScoreView(msgspec.Struct, frozen=True):
    criterion: str
    score: int
    motivation: str


class DecisionView(msgspec.Struct, frozen=True):
    outcome: str
    grounds: list[str]
    reasons: str | None
    modification: str | None
    decided_at: datetime | None
    scores: list[ScoreView]


class AgreementView(msgspec.Struct, frozen=True):
    budget_cents: int
    starts_on: date
    ends_on: date
    conditions: str
    accepted_by_collective_at: datetime | None
    report_every_months: int | None


class Reporting(msgspec.Struct, frozen=True):
    """Progress reports while the collective runs the service."""

    every_months: int | None
    received: int
    last_report_at: datetime | None
    next_due_at: datetime | None
    overdue: bool


class ChallengeSummary(msgspec.Struct, frozen=True):
    ref: str
    url: str
    title: str
    municipality: str
    service: ServiceRef
    collective: CollectiveRef
    state: str
    status: str
    requested_budget_cents: int
    support_count: int
    due_at: datetime | None
    waiting_on: str | None
    overdue: bool
    submitted_at: datetime | None
    updated_at: datetime
    version: int


class Challenge(msgspec.Struct, frozen=True):
    ref: str
    url: str
    events_url: str
    municipality: MunicipalityRef
    service: ServiceRef
    collective: CollectiveRef
    title: str
    summary: str
    plan: str
    requested_budget_cents: int
    area: str
    proposed_start: date
    duration_months: int
    support_count: int
    state: str
    status: str
    deadline: Deadline
    decision: DecisionView | None
    agreement: AgreementView | None
    reporting: Reporting
    submitted_at: datetime | None
    created_at: datetime
    updated_at: datetime
    version: int


_decode_state = msgspec.json.Decoder(ChallengeState).decode


def decode_state(workflow_json: str) -> ChallengeState:
    return _decode_state(workflow_json)


def deadline(state: ChallengeState, now: datetime) -> Deadline:
    clock = state.clock
    overdue = is_overdue(clock, now)
    days = (now - clock.due_at).days if overdue and clock.due_at else 0
    remaining = None
    if clock.paused_remaining_s is not None:
        remaining = round(clock.paused_remaining_s / 86400, 2)
    return Deadline(
        stage=clock.stage,
        waiting_on=clock.waiting_on,
        due_at=clock.due_at,
        overdue=overdue,
        overdue_days=days,
        paused_stage=clock.paused_stage,
        paused_remaining_days=remaining,
    )


def reporting(state: ChallengeState, now: datetime) -> Reporting:
    due = next_report_due(state)
    return Reporting(
        every_months=state.agreement.report_every_months if state.agreement else None,
        received=state.reports_received,
        last_report_at=state.last_report_at,
        next_due_at=due,
        overdue=due is not None and now > due,
    )


def status(state_name: str) -> str:
    return "open" if is_open(state_name) else "closed"


def _service(row) -> ServiceRef:
    return ServiceRef(row["service_id"], row["service_name"], row["category"], row["department"])


def _collective(row) -> CollectiveRef:
    return CollectiveRef(row["collective_id"], row["collective_name"], row["legal_form"])


def challenge(row, base: str, now: datetime) -> Challenge:
    state = decode_state(row["workflow"])
    d = state.decision
    a = state.agreement
    return Challenge(
        ref=row["ref"],
        url=f"{base}/api/v1/challenges/{row['ref']}",
        events_url=f"{base}/api/v1/challenges/{row['ref']}/events",
        municipality=MunicipalityRef(row["municipality_code"], row["municipality_name"]),
        service=_service(row),
        collective=_collective(row),
        title=row["title"],
        summary=row["summary"],
        plan=row["plan"],
        requested_budget_cents=row["requested_budget_cents"],
        area=row["area"],
        proposed_start=row["proposed_start"],
        duration_months=row["duration_months"],
        support_count=row["support_count"],
        state=state.state,
        status=status(state.state),
        deadline=deadline(state, now),
        decision=DecisionView(
            d.outcome, list(d.grounds), d.reasons, d.modification, d.decided_at,
            [ScoreView(x.criterion, x.score, x.motivation) for x in d.scores],
        )
        if d
        else None,
        agreement=AgreementView(a.budget_cents, a.starts_on, a.ends_on, a.conditions, a.accepted_at, a.report_every_months) if a else None,
        reporting=reporting(state, now),
        submitted_at=row["submitted_at"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        version=row["version"],
    )


def summary(row, base: str, now: datetime) -> ChallengeSummary:
    due = row["due_at"]
    return ChallengeSummary(
        ref=row["ref"],
        url=f"{base}/api/v1/challenges/{row['ref']}",
        title=row["title"],
        municipality=row["municipality_code"],
        service=_service(row),
        collective=_collective(row),
        state=row["state"],
        status=status(row["state"]),
        requested_budget_cents=row["requested_budget_cents"],
        support_count=row["support_count"],
        due_at=due,
        waiting_on=row["waiting_on"],
        overdue=due is not None and now > due,
        submitted_at=row["submitted_at"],
        updated_at=row["updated_at"],
        version=row["version"],
    )
