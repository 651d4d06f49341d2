"""Authorisation of the back office, in one place.

Three staff roles, each scoped to ONE municipality and optionally to some
departments (an empty list means every department):

- **reviewer** handles the challenges assigned to them: notes, the assessment
  (scores), information requests and the other procedural steps — but no
  decision;
- **coordinator** assigns, decides (admissibility, accept, reject, propose a
  modification), concludes agreements, approves what another prepared (four
  eyes), and may do whatever a reviewer may on any challenge in scope;
- **admin** manages the municipality's settings, criteria, service catalogue
  and staff, and reads the audit log. An admin sees the queue and the cases but
  takes no workflow action (separation of duties).

A challenge of another municipality, or outside the civil servant's
departments, does not exist for them: ``NotFound``, never a hint.

Every staff role maps onto the engine's role "reviewer" when the workflow is
called (registry.challenges.act checks that role and the municipality again);
the Actor has no token (``token_id=None``): the private audit log names the
civil servant.
"""

from __future__ import annotations

import msgspec

from registry.errors import Forbidden, NotFound
from registry.store.tokens import Actor
from registry.workflow import ACTIONS

ROLES = ("reviewer", "coordinator", "admin")

# Workflow actions a civil servant can take at all (the engine's reviewer actions).
STAFF_ACTIONS: tuple[str, ...] = tuple(name for name, a in ACTIONS.items() if "reviewer" in a.roles)
# Decisions and agreements: coordinators only; subject to four eyes when the
# municipality has switched that on.
DECISIONS = frozenset(
    {"declare_admissible", "declare_inadmissible", "accept", "reject", "propose_modification", "conclude_agreement"}
)
# Decisions that publish the assessment's scores with them.
SCORED = frozenset({"accept", "reject", "propose_modification"})

# Back-office operations beyond the workflow, and who may perform them.
# "assigned" marks operations a reviewer may do only on challenges assigned to them.
OPERATIONS: dict[str, frozenset[str]] = {
    "view_queue": frozenset({"reviewer", "coordinator", "admin"}),
    "export_queue": frozenset({"reviewer", "coordinator", "admin"}),
    "view_case": frozenset({"reviewer", "coordinator", "admin"}),
    "add_note": frozenset({"reviewer", "coordinator"}),
    "score": frozenset({"reviewer", "coordinator"}),
    "assign": frozenset({"coordinator"}),
    "approve": frozenset({"coordinator"}),
    "manage_settings": frozenset({"admin"}),
    "manage_services": frozenset({"admin"}),
    "manage_staff": frozenset({"admin"}),
    "view_audit": frozenset({"admin"}),
}
ASSIGNED_ONLY = frozenset({"add_note", "score"})  # for reviewers


class Staff(msgspec.Struct, frozen=True):
    """A logged-in civil servant. Private: never serialised publicly."""

    user_id: int
    email: str
    display_name: str
    municipality: str
    role: str
    departments: tuple[str, ...] = ()
    totp_enabled: bool = False

    @property
    def name(self) -> str:
        return self.display_name or self.email


class Case(msgspec.Struct, frozen=True):
    """What authorisation needs to know about a challenge."""

    municipality: str
    department: str
    assignee: int | None


def in_scope(staff: Staff, case: Case) -> bool:
    if case.municipality != staff.municipality:
        return False
    return not staff.departments or case.department in staff.departments


def may(staff: Staff, operation: str, case: Case | None = None) -> bool:
    """May ``staff`` perform ``operation`` (on ``case``, if about one)?"""
    if staff.role not in OPERATIONS.get(operation, ()):
        return False
    if case is None:
        return True
    if not in_scope(staff, case):
        return False
    if staff.role == "reviewer" and operation in ASSIGNED_ONLY:
        return case.assignee == staff.user_id
    return True


def may_act(staff: Staff, action: str, case: Case) -> bool:
    """May ``staff`` take the workflow ``action`` on ``case``? (The state is
    the engine's business: this answers only for role and scope.)"""
    if action not in STAFF_ACTIONS or not in_scope(staff, case):
        return False
    if staff.role == "coordinator":
        return True
    if staff.role == "reviewer":
        return action not in DECISIONS and case.assignee == staff.user_id
    return False


def may_assign_to(staff_role: str) -> bool:
    """Whom a challenge can be assigned to: people who handle challenges."""
    return staff_role in ("reviewer", "coordinator")


def require(staff: Staff, operation: str, case: Case | None = None) -> None:
    if case is not None and not in_scope(staff, case):
        raise NotFound("There is no such challenge.")
    if not may(staff, operation, case):
        raise Forbidden(_why(staff, operation))


def require_act(staff: Staff, action: str, case: Case) -> None:
    if not in_scope(staff, case):
        raise NotFound("There is no such challenge.")
    if not may_act(staff, action, case):
        if staff.role == "reviewer" and action in DECISIONS:
            raise Forbidden("Only a coordinator may take this decision.")
        if staff.role == "reviewer":
            raise Forbidden("You may act only on challenges assigned to you.")
        raise Forbidden("Your role does not take workflow actions.")


def _why(staff: Staff, operation: str) -> str:
    if staff.role == "reviewer" and operation in ASSIGNED_ONLY:
        return "You may do this only on challenges assigned to you."
    return "Your role does not allow this."


def engine_role(staff: Staff) -> str:
    """The engine knows reviewers and admins; every civil servant acts as a
    reviewer (the finer rules above are checked before the engine is called)."""
    return "reviewer"


def actor(staff: Staff) -> Actor:
    return Actor(token_id=None, role=engine_role(staff), municipality=staff.municipality)  # type: ignore[arg-type]
