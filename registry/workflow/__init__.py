"""The Right to Challenge workflow: pure functions over immutable values.

Imports only the standard library and msgspec; no I/O happens here.
"""

from .clock import add_days, is_overdue, next_report_due, remaining_seconds, resume
from .grounds import GROUNDS, is_valid_ground
from .procedure import (
    ACTIONS,
    END_STATES,
    ROLES,
    STATES,
    Action,
    allowed_actions,
    is_open,
    replay,
    take,
)
from .types import (
    Agreement,
    ChallengeState,
    Clock,
    Decision,
    DomainError,
    Event,
    Score,
    Settings,
    Transition,
    Window,
)

__all__ = [
    "ACTIONS", "END_STATES", "GROUNDS", "ROLES", "STATES",
    "Action", "Agreement", "ChallengeState", "Clock", "Decision", "DomainError",
    "Event", "Score", "Settings", "Transition", "Window",
    "add_days", "allowed_actions", "next_report_due", "is_open", "is_overdue", "is_valid_ground",
    "remaining_seconds", "replay", "resume", "take",
]  # fmt: skip
