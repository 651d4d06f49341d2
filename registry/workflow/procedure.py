"""The Right to Challenge procedure as data, and the one function that applies it.

ACTIONS is the whole procedure: for every action the states it may be taken
from, who may take it, the fields it needs, an optional guard, and where it
leads. `take()` is the only place that checks an action; `effect` functions
only compute the new clock, decision and agreement once the checks passed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timezone
from typing import Any

from msgspec import Struct, structs

from . import clock as clk
from .fields import Day, Grounds, Id, Int, Scores, Text, parse_fields
from .types import (
    Agreement,
    ChallengeState,
    Clock,
    Decision,
    DomainError,
    Score,
    Event,
    Settings,
    Transition,
)

STATES = frozenset(
    {
        "draft", "submitted", "under_assessment", "information_requested",
        "inadmissible", "lapsed", "accepted", "modification_proposed", "rejected",
        "agreed", "in_operation", "evaluated", "ended", "returned", "withdrawn",
    }
)  # fmt: skip
END_STATES = frozenset({"inadmissible", "lapsed", "rejected", "ended", "returned", "withdrawn"})
ROLES = frozenset({"collective", "reviewer", "admin", "system"})


def is_open(state_name: str) -> bool:
    """Coarse public status: a challenge is open until it reaches an end state."""
    return state_name not in END_STATES


# The context an effect or guard gets: the state before, the parsed fields, the
# moment, and the municipality's settings.
Effect = Callable[[ChallengeState, dict, datetime, Settings], dict]
Guard = Callable[[ChallengeState, dict, datetime, Settings], None]


class Action(Struct, frozen=True):
    name: str
    sources: frozenset[str]
    roles: frozenset[str]
    fields: dict[str, Any]
    to: str | None  # None: resolved from the state (provide_information)
    effect: Effect | None = None
    guard: Guard | None = None
    check: Guard | None = None  # cross-field validation -> "invalid-field"
    # Fields that may be left out (e.g. the assessment's scores on a decision).
    optional: dict[str, Any] = {}

    def target(self, state: ChallengeState) -> str:
        return self.to if self.to is not None else state.return_state  # type: ignore[return-value]


# --- clocks ----------------------------------------------------------------


def _running(stage: str, waiting_on: str, now: datetime, days: int, s: Settings) -> Clock:
    return Clock(stage=stage, waiting_on=waiting_on, due_at=clk.add_days(now, days, s.working_days))


# --- guards and checks -------------------------------------------------------


def _in_submission_window(st: ChallengeState, v: dict, now: datetime, s: Settings) -> None:
    if not s.submission_windows:
        return
    today = now.astimezone(timezone.utc).date()
    if not any(w.opens_on <= today <= w.closes_on for w in s.submission_windows):
        raise DomainError(
            "outside-submission-window",
            f"Requests cannot be submitted on {today.isoformat()}: "
            "it is outside every submission window",
        )


def _is_due(st: ChallengeState, v: dict, now: datetime, s: Settings) -> None:
    due = st.clock.due_at
    if due is None or now < due:
        raise DomainError(
            "not-yet-due",
            f"The collective has until {due.isoformat() if due else '(no deadline)'} to answer",
        )


def _agreement_dates(st: ChallengeState, v: dict, now: datetime, s: Settings) -> None:
    if v["ends_on"] <= v["starts_on"]:
        raise DomainError("invalid-field", "'ends_on' must be after 'starts_on'", "ends_on")


def _extends_agreement(st: ChallengeState, v: dict, now: datetime, s: Settings) -> None:
    assert st.agreement is not None  # only evaluated challenges renew; they have one
    if v["ends_on"] <= st.agreement.ends_on:
        raise DomainError(
            "invalid-field",
            f"'ends_on' must be after the current end date {st.agreement.ends_on.isoformat()}",
            "ends_on",
        )


# --- effects: what changes besides the state name ---------------------------


def _submit(st, v, now, s):
    return {
        "clock": _running("admissibility", "municipality", now, s.admissibility_days, s),
        "submitted_at": now,
    }


def _declare_admissible(st, v, now, s):
    return {
        "clock": _running("decision", "municipality", now, s.decision_days, s),
        "decision": Decision("admissible", decided_at=now),
    }


def _declare_inadmissible(st, v, now, s):
    return {"decision": Decision("inadmissible", v["grounds"], v["reasons"], decided_at=now)}


def _request_information(st, v, now, s):
    # The municipality's own deadline stops while the collective answers.
    left = clk.remaining_seconds(now, st.clock.due_at, s.working_days) if st.clock.due_at else 0
    running = _running("information", "collective", now, s.information_days, s)
    return {
        "clock": structs.replace(running, paused_stage=st.clock.stage, paused_remaining_s=left),
        "return_state": st.state,
    }


def _provide_information(st, v, now, s):
    due = clk.resume(now, st.clock.paused_remaining_s or 0, s.working_days)
    return {
        "clock": Clock(stage=st.clock.paused_stage, waiting_on="municipality", due_at=due),
        "return_state": None,
    }


def _scores(v: dict) -> tuple[Score, ...]:
    return tuple(Score(*item) for item in v.get("scores") or ())


def _accept(st, v, now, s):
    return {
        "clock": _running("agreement", "municipality", now, s.agreement_days, s),
        "decision": Decision("accepted", decided_at=now, scores=_scores(v)),
    }


def _propose_modification(st, v, now, s):
    return {
        "clock": _running("consent", "collective", now, s.information_days, s),
        "decision": Decision(
            "modification_proposed",
            reasons=v["reasons"],
            modification=v["modification"],
            decided_at=now,
            scores=_scores(v),
        ),
    }


def _consent(st, v, now, s):
    # Accepted as modified: the modification stays on record.
    previous = st.decision or Decision("modification_proposed")
    return {
        "clock": _running("agreement", "municipality", now, s.agreement_days, s),
        "decision": structs.replace(previous, outcome="accepted", decided_at=now),
    }


def _decline(st, v, now, s):
    modification = st.decision.modification if st.decision else None
    return {
        "decision": Decision("rejected", reasons=v["reasons"], modification=modification, decided_at=now)
    }


def _reject(st, v, now, s):
    return {"decision": Decision("rejected", v["grounds"], v["reasons"], decided_at=now, scores=_scores(v))}


def _conclude_agreement(st, v, now, s):
    agreement = Agreement(
        v["budget_cents"], v["starts_on"], v["ends_on"], v["conditions"],
        report_every_months=v.get("report_every_months"),
    )
    return {
        "clock": Clock("start", "municipality", clk.start_of_day(agreement.starts_on)),
        "agreement": agreement,
    }


def _report_progress(st, v, now, s):
    return {"reports_received": st.reports_received + 1, "last_report_at": now}


def _not_yet_accepted(st: ChallengeState, v: dict, now: datetime, s: Settings) -> None:
    if st.agreement is not None and st.agreement.accepted_at is not None:
        raise DomainError("already-accepted", "The collective has already accepted this agreement.")


def _accept_agreement(st, v, now, s):
    # The terms stay as concluded; the record shows the collective agreed to them.
    return {"agreement": structs.replace(st.agreement, accepted_at=now)}


def _start_operation(st, v, now, s):
    return {"clock": Clock("evaluation", "municipality", clk.start_of_day(st.agreement.ends_on))}


def _evaluate(st, v, now, s):
    return {"clock": _running("continuation", "municipality", now, s.decision_days, s)}


def _renew(st, v, now, s):
    agreement = structs.replace(st.agreement, ends_on=v["ends_on"])
    return {
        "clock": Clock("evaluation", "municipality", clk.start_of_day(agreement.ends_on)),
        "agreement": agreement,
    }


# --- the table ---------------------------------------------------------------

_C, _R, _S = "collective", "reviewer", "system"
_TEXT = Text()
_REASONS = {"reasons": _TEXT}
# A decision on the merits may publish the assessment it rests on.
_SCORES = {"scores": Scores()}


def _a(name, sources, roles, fields, to, **kw) -> Action:
    return Action(name, frozenset(sources), frozenset(roles), fields, to, **kw)


ACTIONS: dict[str, Action] = {
    a.name: a
    for a in [
        _a("submit", ["draft"], [_C], {
            "title": _TEXT,
            "summary": _TEXT,
            "plan": Text(max_length=100_000),
            "requested_budget_cents": Int(),
            "area": _TEXT,
            "proposed_start": Day(),
            "duration_months": Int(1, 600),
            "service": Id(),
            "collective": Id(),
        }, "submitted", effect=_submit, guard=_in_submission_window),
        _a("declare_admissible", ["submitted"], [_R], {}, "under_assessment",
           effect=_declare_admissible),
        _a("declare_inadmissible", ["submitted"], [_R], {"grounds": Grounds(), **_REASONS},
           "inadmissible", effect=_declare_inadmissible),
        _a("request_information", ["submitted", "under_assessment"], [_R],
           {"questions": _TEXT}, "information_requested", effect=_request_information),
        _a("provide_information", ["information_requested"], [_C], {"answer": _TEXT},
           None, effect=_provide_information),
        _a("lapse", ["information_requested"], [_R, _S], {}, "lapsed", guard=_is_due),
        _a("accept", ["under_assessment"], [_R], {}, "accepted", effect=_accept,
           optional=_SCORES),
        _a("propose_modification", ["under_assessment"], [_R],
           {"modification": _TEXT, **_REASONS}, "modification_proposed",
           effect=_propose_modification, optional=_SCORES),
        _a("consent", ["modification_proposed"], [_C], {}, "accepted", effect=_consent),
        _a("decline", ["modification_proposed"], [_C], _REASONS, "rejected", effect=_decline),
        _a("reject", ["under_assessment"], [_R], {"grounds": Grounds(), **_REASONS},
           "rejected", effect=_reject, optional=_SCORES),
        _a("conclude_agreement", ["accepted"], [_R], {
            "budget_cents": Int(),
            "starts_on": Day(),
            "ends_on": Day(),
            "conditions": _TEXT,
        }, "agreed", effect=_conclude_agreement, check=_agreement_dates,
           optional={"report_every_months": Int(1, 24)}),
        _a("accept_agreement", ["agreed"], [_C], {}, "agreed", effect=_accept_agreement,
           guard=_not_yet_accepted),
        _a("start_operation", ["agreed"], [_R], {}, "in_operation", effect=_start_operation),
        _a("report_progress", ["in_operation"], [_C], {"report": _TEXT}, "in_operation",
           effect=_report_progress),
        _a("evaluate", ["in_operation"], [_R], {"evaluation": _TEXT}, "evaluated",
           effect=_evaluate),
        _a("renew", ["evaluated"], [_R], {"ends_on": Day()}, "in_operation",
           effect=_renew, check=_extends_agreement),
        _a("end", ["evaluated"], [_R], {}, "ended"),
        _a("terminate", ["in_operation"], [_R, _C], _REASONS, "returned"),
        _a("withdraw", [
            "draft", "submitted", "under_assessment", "information_requested",
            "accepted", "modification_proposed", "agreed",
        ], [_C], _REASONS, "withdrawn"),
    ]
}  # fmt: skip


def _may(action: Action, role: str) -> bool:
    # An admin may do whatever a reviewer may; nobody else inherits anything.
    return role in action.roles or (role == "admin" and _R in action.roles)


def _article(action: str) -> str:
    return "an" if action[0] in "aeiou" else "a"


def take(
    state: ChallengeState,
    action: str,
    role: str,
    fields: Mapping[str, Any],
    now: datetime,
    settings: Settings,
) -> Transition:
    """Apply `action` to `state`, or raise DomainError. Never mutates anything."""
    return _take(state, action, role, fields, now, settings, replaying=False)


def _take(state, action, role, fields, now, settings, replaying: bool) -> Transition:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be an aware datetime")
    now = now.astimezone(timezone.utc)

    spec = ACTIONS.get(action)
    if spec is None:
        raise DomainError("unknown-action", f"There is no action {action!r}")
    if state.state not in spec.sources:
        raise DomainError(
            "illegal-transition",
            f"A challenge in state '{state.state}' cannot take {_article(action)} "
            f"'{action}' action",
        )
    if not _may(spec, role):
        raise DomainError("forbidden-role", f"The role {role!r} may not take '{action}'")

    values, data = parse_fields(
        action, spec.fields, fields, settings, strict=not replaying, optional=spec.optional
    )
    if spec.check:
        spec.check(state, values, now, settings)
    # Guards concern the moment an action was taken; replay trusts history.
    if spec.guard and not replaying:
        spec.guard(state, values, now, settings)

    to = spec.target(state)
    changes = spec.effect(state, values, now, settings) if spec.effect else {}
    if to in END_STATES:
        changes["clock"] = Clock()
    if state.state == "information_requested":
        changes["return_state"] = None
    new = structs.replace(state, state=to, version=state.version + 1, **changes)
    event = Event(
        action=action,
        from_state=state.state,
        to_state=to,
        actor_role=role,
        occurred_at=now,
        data=data,
        due_at=new.clock.due_at,
        waiting_on=new.clock.waiting_on,
    )
    return Transition(new, event)


def allowed_actions(state: ChallengeState, role: str) -> list[str]:
    """Actions `role` may take in `state`, in table order.

    Time guards are ignored: `lapse` is listed even before its deadline and
    `submit` even outside a submission window; `take()` refuses those.
    """
    return [a.name for a in ACTIONS.values() if state.state in a.sources and _may(a, role)]


def replay(events: Iterable[Event], settings: Settings) -> ChallengeState:
    """Rebuild a challenge's state from its events.

    Time guards and ground membership are not re-checked (they held when the
    event was recorded). The published deadline of each event is authoritative,
    so a later change of the municipality's deadline settings does not rewrite
    history. A history that does not replay raises ValueError.
    """
    state = ChallengeState()
    for n, event in enumerate(events, start=1):
        try:
            new = _take(
                state, event.action, event.actor_role, event.data, event.occurred_at,
                settings, replaying=True,
            ).state  # fmt: skip
        except DomainError as e:
            raise ValueError(f"event {n} ({event.action!r}) cannot be replayed: {e.detail}") from e
        if new.state != event.to_state or state.state != event.from_state:
            raise ValueError(f"event {n} ({event.action!r}) does not match the replayed states")
        if new.clock.due_at != event.due_at:
            new = structs.replace(new, clock=structs.replace(new.clock, due_at=event.due_at))
        state = new
    return state


__all__ = [
    "ACTIONS", "END_STATES", "ROLES", "STATES", "Action", "allowed_actions",
    "is_open", "replay", "take",
]  # fmt: skip
