"""Every user-facing string is translated: the catalogues cover every msgid
in the sources, the compiled .mo files match the .po files, and templates hold
no text outside gettext."""

from __future__ import annotations

import io
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.mofile import read_mo

from registry.web import i18n

TEMPLATES = Path(i18n.__file__).parent / "templates"

# Text that may stand in a template as it is: symbols and names that are the
# same in every language. Keep this short; everything else goes through _().
ALLOWED_TEXT = {"SHA-256", "JSON", "API", "WCAG", "kB", "MB", "GB"}


@pytest.fixture(scope="module")
def extracted():
    return [m for m in i18n.extract() if m.id]


def _key(message):
    return message.id if isinstance(message.id, str) else tuple(message.id)


def test_every_msgid_has_a_dutch_translation(extracted):
    gaps = i18n.missing("nl")
    assert not gaps, (
        "untranslated in registry/web/locale/nl/LC_MESSAGES/messages.po "
        "(run `python -m registry.web.i18n update`, translate, then `... compile`):\n  " + "\n  ".join(gaps)
    )


@pytest.mark.parametrize("locale", i18n.LOCALES)
def test_every_msgid_is_in_the_catalogue(extracted, locale):
    catalog = i18n.read_catalog(locale)
    absent = [str(_key(m)) for m in extracted if catalog.get(m.id, context=m.context) is None]
    assert not absent, f"not in the {locale} catalogue (run `python -m registry.web.i18n update`): {absent}"


@pytest.mark.parametrize("locale", i18n.LOCALES)
def test_catalogue_placeholders_match(locale):
    catalog = i18n.read_catalog(locale)
    problems = [f"{m.id!r}: {errors}" for m, errors in catalog.check() if errors]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("locale", i18n.LOCALES)
def test_mo_is_compiled_from_the_po(locale):
    po = i18n.read_catalog(locale)
    mo_path = i18n.po_path(locale).with_suffix(".mo")
    assert mo_path.exists(), f"run `python -m registry.web.i18n compile` ({mo_path} is missing)"
    with mo_path.open("rb") as f:
        committed = read_mo(f)
    fresh = read_mo(io.BytesIO(i18n.mo_bytes(po)))

    def messages(catalog):
        return {(_key(m), m.context): m.string if isinstance(m.string, str) else tuple(m.string) for m in catalog if m.id}

    compiled, wanted = messages(committed), messages(fresh)
    assert compiled == wanted, f"{mo_path} is stale: run `python -m registry.web.i18n compile`"


def _strip_jinja(source: str) -> str:
    """The template with every Jinja construct (and {% trans %} block) blanked out."""
    source = re.sub(r"{#.*?#}", " ", source, flags=re.S)
    source = re.sub(r"{%-?\s*trans\b.*?{%-?\s*endtrans\s*-?%}", " ", source, flags=re.S)
    source = re.sub(r"{{.*?}}", " ", source, flags=re.S)
    return re.sub(r"{%.*?%}", " ", source, flags=re.S)


# Attributes people read (or hear): their values must be translated too.
READ_ATTRIBUTES = {"title", "alt", "aria-label", "placeholder", "aria-description", "aria-roledescription"}


class _RawText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._skip += 1
        for name, value in attrs:
            if name in READ_ATTRIBUTES and value:
                self._check(f"{name}={value!r}", value)
        # An <input type=submit|button|reset> shows its value; a <button>'s value is never shown.
        kind = dict(attrs).get("type", "")
        value = dict(attrs).get("value")
        if tag == "input" and kind in ("submit", "button", "reset") and value:
            self._check(f"value={value!r}", value)

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._skip -= 1

    def handle_data(self, data):
        # Macros that write attributes (aria-invalid="true") leave them as text here.
        data = re.sub(r"""[\w:-]+\s*=\s*("[^"]*"|'[^']*')""", " ", data)
        if not self._skip:
            self._check(data.strip(), data)

    def _check(self, shown: str, text: str) -> None:
        words = [w for w in re.findall(r"[^\W\d_][\w'-]*", text) if w not in ALLOWED_TEXT]
        if words:
            self.found.append(shown)


def raw_text(source: str) -> list[str]:
    parser = _RawText()
    parser.feed(_strip_jinja(source))
    parser.close()
    return parser.found


@pytest.mark.parametrize("path", sorted(TEMPLATES.rglob("*.html")), ids=lambda p: str(p.relative_to(TEMPLATES)))
def test_templates_hold_no_untranslated_text(path):
    found = raw_text(path.read_text())
    assert not found, f"{path}: text outside _() or {{% trans %}}: {found}"


def test_the_raw_text_check_catches_what_it_should():
    assert raw_text("<p>Hello {{ _('World') }}</p>") == ["Hello"]
    assert raw_text('<a title="Open me" href="/x">{{ x }}</a>') == ["title='Open me'"]
    assert raw_text('<input type="submit" value="Send">') == ["value='Send'"]
    assert raw_text('<button name="do" value="approve">{{ _("Approve") }}</button><input type="hidden" value="x">') == []
    assert raw_text('{% if e %} aria-invalid="true" aria-describedby="err-{{ n }}"{% endif %}') == []
    assert raw_text("{% trans %}Hello{% endtrans %} <p>{{ _('x') }} – 12 · #</p>") == []
    assert raw_text("{# a comment #}<code>SHA-256</code>{% if a %}{% endif %}") == []


def test_template_and_python_strings_are_both_extracted(extracted):
    files = {loc[0] for m in extracted for loc in m.locations}
    assert "registry/web/vocabulary.py" in files
    assert "registry/web/templates/base.html" in files
    assert any(f.startswith("registry/web/templates/") and f.endswith("accessibility.html") for f in files)
