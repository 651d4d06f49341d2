"""Maintaining the initiatives area's own catalogue
(registry/web/locale/{nl,en}/LC_MESSAGES/initiatives.po; merged into
messages.mo by ``python -m registry.web.i18n compile``).

    python -m registry.initiatives.catalogue   # add this area's new msgids (untranslated) to both .po files

Then translate the new Dutch entries and run the compile command.
"""

from __future__ import annotations

import io

from registry.web import i18n

MINE = ("registry/initiatives", "registry/web/initiatives_pages.py", "registry/web/templates/initiatives/",
        "registry/api/initiatives.py")
DOMAIN = "initiatives"


def path(locale: str):
    return i18n.po_path(locale).with_name(f"{DOMAIN}.po")


def read(locale: str):
    from babel.messages.catalog import Catalog
    from babel.messages.pofile import read_po

    if not path(locale).exists():
        return Catalog(locale=locale, domain=DOMAIN, charset="utf-8", project="challenge-registry")
    with path(locale).open("rb") as f:
        return read_po(f, locale=locale, domain=DOMAIN)


def write(catalog, locale: str) -> None:
    from babel.messages.pofile import write_po

    buf = io.BytesIO()
    write_po(buf, catalog, width=100, omit_header=False, sort_by_file=False, include_lineno=False)
    path(locale).write_bytes(buf.getvalue())


def update(translations: dict | None = None) -> None:
    """Add msgids of this area that messages.po does not translate; fill in the
    given Dutch ``translations`` (English entries stay empty: the msgid is English)."""
    for locale in i18n.LOCALES:
        main = i18n.read_catalog(locale, areas=False)
        catalog = read(locale)
        for m in i18n.extract():
            if not m.id or not any(loc[0].startswith(MINE) for loc in m.locations):
                continue
            present = main.get(m.id, context=m.context)
            if present is not None and present.string and (not isinstance(present.string, tuple) or all(present.string)):
                continue
            entry = catalog.get(m.id, context=m.context)
            if entry is None:
                catalog.add(m.id, None, context=m.context)
                entry = catalog.get(m.id, context=m.context)
            wanted = None
            if locale == "nl" and translations and m.id in translations:
                wanted = translations[m.id]
            elif locale == "en":
                wanted = m.id  # English msgids translate to themselves
            done = entry.string if isinstance(entry.string, str) else bool(entry.string) and all(entry.string)
            if wanted is not None and not done:
                entry.string = wanted
        write(catalog, locale)


if __name__ == "__main__":
    update()
