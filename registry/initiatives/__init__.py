"""Citizen initiatives: the public, searchable profile of a collective — what
it does, for whom, what it offers and needs — and the care around it
(verification, hiding, featuring, reports, inactivity) and the contact relay.

Modules: ``profile`` (validating input), ``store`` (SQL), ``search`` (the
directory query), ``popolo`` (the public serializer), ``care`` (civil
servants' actions, as events in the municipality's chain), ``relay``
(messages without addresses), ``stale`` (asking inactive initiatives to
confirm), ``members`` (who may edit). docs/initiatives.md explains the choices.
"""

from __future__ import annotations

from registry.web.i18n import N_

DOMAINS = {
    "energy": N_("Energy"),
    "care": N_("Care and wellbeing"),
    "food": N_("Food"),
    "housing": N_("Housing"),
    "green": N_("Green and nature"),
    "safety": N_("Safety"),
    "sharing": N_("Sharing"),
    "work_and_income": N_("Work and income"),
    "youth": N_("Youth"),
    "culture": N_("Culture"),
    "other": N_("Other"),
}

# The quadrant Dutch practice uses: who does it, for whom.
RECIPROCITY = {
    "acquaintances_for_each_other": N_("With acquaintances, for each other"),
    "acquaintances_for_acquaintances": N_("With acquaintances, for acquaintances"),
    "strangers_for_each_other": N_("With strangers, for each other"),
    "strangers_for_strangers": N_("With strangers, for strangers"),
}
RECIPROCITY_EXAMPLES = {
    "acquaintances_for_each_other": N_("such as a bread fund"),
    "acquaintances_for_acquaintances": N_("such as a family group conference"),
    "strangers_for_each_other": N_("such as an energy cooperative or a sharing platform"),
    "strangers_for_strangers": N_("such as a neighbourhood alert or a clean-up day"),
}

LEGAL_FORMS = {
    "association": N_("Association"),
    "cooperative": N_("Cooperative"),
    "foundation": N_("Foundation"),
    "informal_group": N_("Informal group"),
}

# Challenges in these states are no longer open (registry.workflow.END_STATES),
# drafts are not public: neither counts as "an open challenge".
from registry.workflow import END_STATES  # noqa: E402

NOT_OPEN_STATES = sorted(END_STATES | {"draft"})

# Two years without an edit or a confirmation: "possibly inactive".
INACTIVE_AFTER_DAYS = 730

# The care actions as buttons, and as they read in the public record.
CARE_BUTTONS = {
    "verify": N_("Mark as verified"),
    "feature": N_("Feature"),
    "unfeature": N_("Stop featuring"),
    "hide": N_("Hide"),
    "unhide": N_("Show again"),
}
CARE_EVENTS = {
    "verify_initiative": N_("Verified by the municipality"),
    "hide_initiative": N_("Hidden by the municipality"),
    "unhide_initiative": N_("Shown again"),
    "feature_initiative": N_("Featured by the municipality"),
    "unfeature_initiative": N_("No longer featured"),
}
CARE_DONE = {
    "verify": N_("The initiative is marked as verified."),
    "hide": N_("The initiative is hidden."),
    "unhide": N_("The initiative is shown again."),
    "feature": N_("The initiative is featured."),
    "unfeature": N_("The initiative is no longer featured."),
    "dismissed": N_("The report is dismissed."),
}
