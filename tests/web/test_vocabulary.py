"""Every code the domain has a label for people, in both languages."""

from __future__ import annotations

import pytest

from registry import workflow
from registry.store import catalog
from registry.web import vocabulary

CODES = {
    "state": workflow.STATES,
    "action": set(workflow.ACTIONS),
    "category": set(catalog.CATEGORIES),
    "legal_form": set(catalog.LEGAL_FORMS),
    "role": workflow.ROLES,
}


@pytest.mark.parametrize("kind", sorted(CODES))
def test_every_code_has_a_label(kind):
    assert set(CODES[kind]) <= set(vocabulary.VOCABULARY[kind]), set(CODES[kind]) - set(vocabulary.VOCABULARY[kind])


@pytest.mark.parametrize("kind", sorted(vocabulary.VOCABULARY))
def test_labels_are_translated(kind):
    for code in vocabulary.VOCABULARY[kind]:
        nl, en = vocabulary.label(kind, code, "nl"), vocabulary.label(kind, code, "en")
        assert nl and en
        if kind not in ("stage",):  # 'start' is 'start' in both
            assert nl != en or nl in ("Status",), (kind, code, nl)


def test_every_ground_has_both_labels():
    for code in workflow.GROUNDS:
        assert vocabulary.ground_label(code, "nl") != vocabulary.ground_label(code, "en")


def test_every_error_status_has_a_title_and_text():
    for status in (400, 401, 403, 404, 405, 409, 413, 422, 429, 500, 503, 418, 502):
        nl, en = vocabulary.error_text(status, "nl"), vocabulary.error_text(status, "en")
        assert all(nl) and all(en) and nl != en
