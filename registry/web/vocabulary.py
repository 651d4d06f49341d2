"""The domain's words as people read them, in one place.

Codes (states, actions, ...) stay English in code, the API and the ledger;
pages show these labels, translated through the catalogues. Use
``label(kind, code, locale)`` in Python and ``{{ code|label(kind) }}`` in
templates. A code without a label shows as itself with spaces, and
tests/web/test_vocabulary.py fails until it has one.
"""

from __future__ import annotations

from registry.web.i18n import N_, translate
from registry.workflow.grounds import GROUNDS

STATES = {
    "draft": N_("Draft"),
    "submitted": N_("Submitted"),
    "under_assessment": N_("Under assessment"),
    "information_requested": N_("Information requested"),
    "inadmissible": N_("Inadmissible"),
    "lapsed": N_("Lapsed"),
    "accepted": N_("Accepted"),
    "modification_proposed": N_("Modification proposed"),
    "rejected": N_("Rejected"),
    "agreed": N_("Agreement concluded"),
    "in_operation": N_("In operation"),
    "evaluated": N_("Evaluated"),
    "ended": N_("Ended"),
    "returned": N_("Returned to the municipality"),
    "withdrawn": N_("Withdrawn"),
}

# As they read in a timeline: what happened.
ACTIONS = {
    "submit": N_("Submitted"),
    "declare_admissible": N_("Declared admissible"),
    "declare_inadmissible": N_("Declared inadmissible"),
    "request_information": N_("Information requested"),
    "provide_information": N_("Information provided"),
    "lapse": N_("Lapsed"),
    "accept": N_("Accepted"),
    "propose_modification": N_("Modification proposed"),
    "consent": N_("Modification agreed to"),
    "decline": N_("Modification declined"),
    "reject": N_("Rejected"),
    "conclude_agreement": N_("Agreement concluded"),
    "accept_agreement": N_("Agreement accepted by the collective"),
    "start_operation": N_("Operation started"),
    "report_progress": N_("Progress reported"),
    "evaluate": N_("Evaluated"),
    "renew": N_("Renewed"),
    "end": N_("Ended"),
    "terminate": N_("Terminated early"),
    "withdraw": N_("Withdrawn"),
}

CATEGORIES = {
    "renovation": N_("Renovation"),
    "street_cleaning": N_("Street cleaning"),
    "microcorporation": N_("Micro-housing corporation"),
    "green_maintenance": N_("Maintenance of green spaces"),
    "neighbourhood_supervision": N_("Neighbourhood supervision"),
    "other": N_("Other"),
}

LEGAL_FORMS = {
    "association": N_("association"),
    "cooperative": N_("cooperative"),
    "foundation": N_("foundation"),
    "informal_group": N_("informal group"),
}

ROLES = {
    "collective": N_("the collective"),
    "reviewer": N_("the municipality"),
    "admin": N_("the municipality"),
    "system": N_("the registry"),
}

OUTCOMES = {
    "admissible": N_("Admissible"),
    "inadmissible": N_("Inadmissible"),
    "accepted": N_("Accepted"),
    "modification_proposed": N_("Modification proposed"),
    "rejected": N_("Rejected"),
}

WAITING_ON = {
    "municipality": N_("the municipality"),
    "collective": N_("the collective"),
}

STAGES = {
    "admissibility": N_("admissibility"),
    "decision": N_("decision"),
    "information": N_("information"),
    "agreement": N_("agreement"),
    "consent": N_("consent"),
    "start": N_("start"),
    "evaluation": N_("evaluation"),
    "continuation": N_("continuation"),
}

STATUSES = {"open": N_("open"), "closed": N_("closed")}

# The reference's assessment criteria; a municipality's own codes show as written.
CRITERIA = {
    "social_value": N_("Added social value"),
    "support": N_("Support"),
    "cost": N_("Cost"),
    "quality": N_("Quality"),
    "continuity": N_("Continuity"),
}

# The texts an event may carry (registry.workflow.procedure's fields).
EVENT_TEXTS = {
    "questions": N_("Questions"),
    "answer": N_("Answer"),
    "modification": N_("Proposed modification"),
    "reasons": N_("Reasons"),
    "report": N_("Report"),
    "evaluation": N_("Evaluation"),
    "conditions": N_("Conditions"),
}

# Error pages: a title and an explanation per HTTP status.
ERRORS = {
    400: (N_("Invalid request"), N_("The address or the form holds something the registry cannot use.")),
    401: (N_("Sign in required"), N_("You need to sign in to see this page.")),
    403: (N_("Not allowed"), N_("You may not see or do this.")),
    404: (N_("Page not found"), N_("This page does not exist, or it is not public.")),
    405: (N_("Not possible"), N_("This page cannot be used this way.")),
    409: (N_("Not possible now"), N_("The procedure does not allow this at this moment.")),
    413: (N_("Too large"), N_("What you sent is too large.")),
    422: (N_("Invalid input"), N_("Something you entered is missing or invalid.")),
    429: (N_("Too many requests"), N_("Please wait a moment and try again.")),
    500: (N_("Something went wrong"), N_("Something went wrong on our side. It has been logged; please try again later.")),
    503: (N_("Temporarily unavailable"), N_("The registry cannot reach its database right now. Please try again shortly.")),
}

VOCABULARY: dict[str, dict[str, str]] = {
    "state": STATES,
    "action": ACTIONS,
    "category": CATEGORIES,
    "legal_form": LEGAL_FORMS,
    "role": ROLES,
    "outcome": OUTCOMES,
    "waiting_on": WAITING_ON,
    "stage": STAGES,
    "status": STATUSES,
    "event_text": EVENT_TEXTS,
    "criterion": CRITERIA,
}


def label(kind: str, code: str | None, locale: str) -> str:
    """The label of ``code`` (a state, action, ...) in ``locale``."""
    if code is None:
        return ""
    msgid = VOCABULARY[kind].get(code)
    return translate(locale, msgid) if msgid else code.replace("_", " ")


def ground_label(code: str, locale: str) -> str:
    """A ground's label from registry.workflow.grounds (which holds both languages)."""
    labels = GROUNDS.get(code)
    if labels is None:
        return ""
    return labels[1] if locale == "nl" else labels[0]


def error_text(status: int, locale: str) -> tuple[str, str]:
    """The title and explanation of an error page for an HTTP status."""
    title, text = ERRORS.get(status) or (ERRORS[500] if status >= 500 else ERRORS[400])
    return translate(locale, title), translate(locale, text)
