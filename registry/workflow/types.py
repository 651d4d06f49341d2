"""The values the workflow reads and produces.

Everything is a frozen msgspec Struct: an action never changes a state, it
returns a new one. Persistence code stores these shapes, so the names are part
of the contract.
"""

from __future__ import annotations

from datetime import date, datetime

from msgspec import Struct


class Window(Struct, frozen=True):
    """A period in which requests may be submitted, both days inclusive."""

    opens_on: date
    closes_on: date


class Settings(Struct, frozen=True):
    """A municipality's procedural settings: deadlines differ per municipality."""

    admissibility_days: int = 30  # after submission
    decision_days: int = 70  # 10 weeks after admissibility
    information_days: int = 28  # collective's answer; also used for consent to a modification
    agreement_days: int = 56  # 8 weeks after acceptance
    working_days: bool = False  # count Monday-Friday only
    submission_windows: tuple[Window, ...] = ()
    extra_grounds: tuple[str, ...] = ()


class Clock(Struct, frozen=True):
    """Who the challenge is waiting on, and until when."""

    stage: str | None = None
    waiting_on: str | None = None  # "municipality" | "collective" | None
    due_at: datetime | None = None  # aware, UTC
    # An information request pauses the municipality's own clock; these keep
    # what is needed to resume it when the collective answers.
    paused_stage: str | None = None
    paused_remaining_s: int | None = None  # working seconds when working_days


class Score(Struct, frozen=True):
    """One assessment criterion scored 1-5 with a motivation, published with the decision."""

    criterion: str
    score: int
    motivation: str


class Decision(Struct, frozen=True):
    """The last decision taken on the challenge."""

    outcome: str  # admissible | inadmissible | accepted | modification_proposed | rejected
    grounds: tuple[str, ...] = ()
    reasons: str | None = None
    modification: str | None = None
    decided_at: datetime | None = None
    scores: tuple[Score, ...] = ()


class Agreement(Struct, frozen=True):
    budget_cents: int
    starts_on: date
    ends_on: date
    conditions: str
    accepted_at: datetime | None = None  # when the collective accepted the terms
    report_every_months: int | None = None  # how often the collective reports progress


class ChallengeState(Struct, frozen=True):
    state: str = "draft"
    version: int = 1  # +1 on every successful action
    clock: Clock = Clock()
    return_state: str | None = None  # where provide_information goes back to
    submitted_at: datetime | None = None
    decision: Decision | None = None
    agreement: Agreement | None = None
    reports_received: int = 0
    last_report_at: datetime | None = None


class Event(Struct, frozen=True):
    """One public step. `data` holds the action's normalised, JSON-ready fields."""

    action: str
    from_state: str
    to_state: str
    actor_role: str
    occurred_at: datetime
    data: dict
    due_at: datetime | None  # the clock after the action
    waiting_on: str | None


class Transition(Struct, frozen=True):
    state: ChallengeState
    event: Event


class DomainError(Exception):
    """A refused action. `code` is stable and machine-readable; `detail` is for people."""

    def __init__(self, code: str, detail: str, field: str | None = None) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.field = field

    def __repr__(self) -> str:
        return f"DomainError({self.code!r}, {self.detail!r}, field={self.field!r})"
