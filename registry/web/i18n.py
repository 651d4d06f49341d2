"""Dutch (default) and English for the pages: which locale a request gets,
the Babel catalogues, gettext for templates and Python, and locale-aware
filters for dates, money and numbers.

Locale per request: ``?lang=`` (and remember it in a cookie), else the
``lang`` cookie, else Accept-Language, else Dutch. ``locale_of(request)`` is
the one way to ask; templates get it as ``lang``.

Maintaining the catalogues (see docs/i18n.md)::

    python -m registry.web.i18n update    # extract msgids, merge into nl and en .po
    python -m registry.web.i18n compile   # .po -> .mo (commit both)
    python -m registry.web.i18n check     # what is still untranslated in Dutch
"""

from __future__ import annotations

import io
import re
import sys
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timezone
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

from babel import dates as babel_dates
from babel import numbers as babel_numbers
from babel.support import NullTranslations, Translations
from jinja2 import Environment, Template, pass_context
from jinja2.runtime import Context

LOCALES = ("nl", "en")
DEFAULT_LOCALE = "nl"
COOKIE = "lang"
COOKIE_MAX_AGE = 365 * 24 * 3600
LANGUAGE_NAMES = {"nl": "Nederlands", "en": "English"}  # each in its own language, never translated
TIMEZONE = "Europe/Amsterdam"  # times are stored in UTC and shown as the Netherlands' wall clock

ROOT = Path(__file__).resolve().parents[2]
LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "messages"
POT = LOCALE_DIR / f"{DOMAIN}.pot"

# What Babel extracts: templates (any depth) and Python under registry/.
# In Python, mark a string with N_("...") where it is defined and translate it
# where it is shown with translate(locale, "..."); in templates use _("...")
# or {% trans %}.
KEYWORDS: dict[str, Any] = {
    "_": None,
    "gettext": None,
    "ngettext": (1, 2),
    "N_": None,
    "translate": (2,),
    "ntranslate": (2, 3),
}
METHOD_MAP = [
    ("registry/web/templates/**.html", "jinja2"),
    ("registry/**.py", "python"),
]
OPTIONS_MAP = {
    "registry/web/templates/**.html": {"extensions": "jinja2.ext.i18n", "trimmed": "true", "newstyle_gettext": "true"},
}


def N_(message: str) -> str:
    """Mark ``message`` for extraction without translating it (yet)."""
    return message


@cache
def translations(locale: str) -> NullTranslations:
    if locale not in LOCALES:
        locale = DEFAULT_LOCALE
    return Translations.load(str(LOCALE_DIR), [locale], DOMAIN)


def translate(locale: str, message: str, **variables: Any) -> str:
    """``message`` in ``locale``, with ``%(name)s`` placeholders filled in."""
    text = translations(locale).gettext(message)
    return text % variables if variables else text


def ntranslate(locale: str, singular: str, plural: str, n: int, **variables: Any) -> str:
    text = translations(locale).ngettext(singular, plural, n)
    return text % {"num": n, **variables}


# --- choosing the locale -----------------------------------------------------

_ACCEPT = re.compile(r"\s*([A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*|\*)\s*(?:;\s*q\s*=\s*([0-9.]+))?\s*")


def from_accept_language(header: str | None) -> str | None:
    """The best of our locales for an Accept-Language header, or None."""
    if not header:
        return None
    ranked: list[tuple[float, int, str]] = []
    for i, part in enumerate(header.split(",")[:20]):
        m = _ACCEPT.fullmatch(part)
        if not m:
            continue
        try:
            q = float(m.group(2)) if m.group(2) else 1.0
        except ValueError:
            continue
        primary = m.group(1).split("-")[0].lower()
        if q > 0 and primary in LOCALES:
            ranked.append((-q, i, primary))
    return min(ranked)[2] if ranked else None


def valid(value: str | None) -> str | None:
    return value if value in LOCALES else None


def negotiate(query_lang: str | None, cookie: str | None, accept_language: str | None) -> str:
    return valid(query_lang) or valid(cookie) or from_accept_language(accept_language) or DEFAULT_LOCALE


def locale_of(request: Any) -> str:
    """The locale of a Litestar request ('nl' or 'en'), worked out once per request."""
    state = request.scope.setdefault("state", {})
    locale = state.get("locale")
    if locale is None:
        locale = negotiate(
            request.query_params.get("lang"),
            request.cookies.get(COOKIE),
            request.headers.get("accept-language"),
        )
        state["locale"] = locale
    return locale


def _query_lang(scope: Mapping[str, Any]) -> str | None:
    raw = scope.get("query_string", b"").decode("latin-1")
    for key, value in parse_qsl(raw, keep_blank_values=True):
        if key == "lang":
            return valid(value)
    return None


async def remember_locale(message: dict, scope: dict) -> None:
    """Litestar ``before_send`` hook: a page asked for with ``?lang=`` sets the
    cookie; pages vary by the headers that choose their language."""
    if message["type"] != "http.response.start" or scope.get("type") != "http":
        return
    if scope.get("path", "").startswith("/api/"):
        return
    headers = list(message.get("headers") or [])
    lang = _query_lang(scope)
    if lang:
        cookie = f"{COOKIE}={lang}; Path=/; Max-Age={COOKIE_MAX_AGE}; SameSite=Lax; HttpOnly"
        if scope.get("scheme") == "https":
            cookie += "; Secure"
        headers.append((b"set-cookie", cookie.encode()))
    if any(k.lower() == b"content-type" and v.startswith(b"text/html") for k, v in headers):
        headers.append((b"vary", b"Accept-Language, Cookie"))
        headers.append((b"content-language", (lang or scope.get("state", {}).get("locale") or "").encode()))
    message["headers"] = [(k, v) for k, v in headers if not (k == b"content-language" and not v)]


def language_url(request: Any, locale: str) -> str:
    """The current page's URL with ``?lang=locale`` (other query parameters kept)."""
    if request is None:
        return f"?lang={locale}"
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"]
    params.append(("lang", locale))
    return f"{request.url.path}?{urlencode(params)}"


# --- formatting ----------------------------------------------------------------


def _as_datetime(value: Any) -> date | datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        if "T" in value:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        return date.fromisoformat(value)
    return value


def format_money(cents: int | None, locale: str) -> str:
    """Euro cents as money: 123456 -> '€ 1.234,56' (nl) or '€1,234.56' (en)."""
    if cents is None:
        return ""
    return babel_numbers.format_currency(cents / 100, "EUR", locale=locale)


def format_number(value: float | int | None, locale: str) -> str:
    if value is None:
        return ""
    return babel_numbers.format_decimal(value, locale=locale)


def format_date(value: Any, locale: str, format: str = "long") -> str:
    """A date (or the day of a datetime, in Dutch time): '1 maart 2027' / 'March 1, 2027'."""
    value = _as_datetime(value)
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = _local(value).date()
    return babel_dates.format_date(value, format=format, locale=locale)


def format_datetime(value: Any, locale: str) -> str:
    """A moment in Dutch time: '1 maart 2027 15:05' / 'March 1, 2027 3:05 PM'."""
    value = _as_datetime(value)
    if value is None:
        return ""
    if not isinstance(value, datetime):
        return format_date(value, locale)
    local = _local(value)
    return f"{babel_dates.format_date(local.date(), 'long', locale=locale)} {babel_dates.format_time(local, 'short', locale=locale)}"


def _local(value: datetime) -> datetime:
    from zoneinfo import ZoneInfo

    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(ZoneInfo(TIMEZONE))


# --- Jinja -------------------------------------------------------------------


def _lang(ctx: Context) -> str:
    return ctx.get("lang") or DEFAULT_LOCALE


@pass_context
def _gettext(ctx: Context, message: str) -> str:
    return translations(_lang(ctx)).gettext(message)


@pass_context
def _ngettext(ctx: Context, singular: str, plural: str, n: int) -> str:
    return translations(_lang(ctx)).ngettext(singular, plural, n)


class LocalisedTemplate(Template):
    """Every render gets ``lang`` from its ``request`` (unless given one)."""

    def new_context(self, vars=None, shared=False, locals=None):  # type: ignore[override]
        if vars is not None and "lang" not in vars:
            request = vars.get("request")
            vars = {**vars, "lang": locale_of(request) if request is not None else DEFAULT_LOCALE}
        return super().new_context(vars, shared, locals)


def install(env: Environment) -> None:
    """Give a Jinja environment per-request gettext, ``lang`` and the filters:

    ``money`` (euro cents), ``number``, ``date``, ``datetime``, ``day`` (date or
    datetime, whichever it is), ``label(kind)`` for the domain vocabulary
    (``{{ c.state|label("state") }}``) and ``ground`` for a ground's label;
    globals ``LANGUAGES`` and ``language_url(locale)``.
    """
    from registry.web import vocabulary

    env.add_extension("jinja2.ext.i18n")
    env.policies["ext.i18n.trimmed"] = True
    env.template_class = LocalisedTemplate
    env.install_gettext_callables(_gettext, _ngettext, newstyle=True)  # type: ignore[attr-defined]

    def contextual(fn):
        return pass_context(lambda ctx, value, *a, **kw: fn(value, _lang(ctx), *a, **kw))

    def day(value: Any, locale: str) -> str:
        value = _as_datetime(value)
        return format_datetime(value, locale) if isinstance(value, datetime) else format_date(value, locale)

    env.filters.update(
        money=contextual(format_money),
        euros=contextual(format_money),
        number=contextual(format_number),
        date=contextual(format_date),
        datetime=contextual(format_datetime),
        day=contextual(day),
        label=pass_context(lambda ctx, code, kind: vocabulary.label(kind, code, _lang(ctx))),
        ground=contextual(vocabulary.ground_label),
    )
    env.globals.update(
        LANGUAGES=LANGUAGE_NAMES,
        language_url=pass_context(lambda ctx, locale: language_url(ctx.get("request"), locale)),
        error_text=pass_context(lambda ctx, status: vocabulary.error_text(status, _lang(ctx))),
    )


# --- catalogue maintenance -----------------------------------------------------


def extract(root: Path = ROOT):
    """Every msgid in the templates and Python sources, as a Babel Catalog."""
    from babel.messages.catalog import Catalog
    from babel.messages.extract import extract_from_dir

    catalog = Catalog(project="challenge-registry", version="", domain=DOMAIN, charset="utf-8", fuzzy=False)
    found = extract_from_dir(
        str(root),
        method_map=METHOD_MAP,
        options_map=OPTIONS_MAP,
        keywords=KEYWORDS,
        comment_tags=("Translators:",),
        strip_comment_tags=True,
    )
    for filename, lineno, message, comments, context in found:
        catalog.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return catalog


def po_path(locale: str) -> Path:
    return LOCALE_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"


def read_catalog(locale: str, areas: bool = True):
    """messages.po of ``locale``, with the area catalogues merged in (``areas``)."""
    from babel.messages.pofile import read_po

    with po_path(locale).open("rb") as f:
        catalog = read_po(f, locale=locale, domain=DOMAIN)
    return merge_area_catalogues(catalog, locale) if areas else catalog


# --- area catalogues ------------------------------------------------------------
# An area may keep its own catalogue next to messages.po (e.g.
# nl/LC_MESSAGES/initiatives.po), so that engineers working in parallel do not
# edit one file. read_catalog() merges them in (messages.po wins), so `compile`
# writes ONE messages.mo holding every area and the completeness checks see
# every area; `update` leaves msgids an area catalogue holds out of messages.po.


def area_po_paths(locale: str) -> list[Path]:
    return sorted(p for p in po_path(locale).parent.glob("*.po") if p.stem != DOMAIN)


def merge_area_catalogues(catalog, locale: str):
    from babel.messages.pofile import read_po

    for path in area_po_paths(locale):
        with path.open("rb") as f:
            area = read_po(f, locale=locale, domain=path.stem)
        for message in area:
            present = catalog.get(message.id, context=message.context) if message.id else True
            if message.id and (present is None or not present.string):
                catalog[message.id] = message
    return catalog


def _without_area_msgids(template):
    from babel.messages.pofile import read_po

    for locale in LOCALES:
        for path in area_po_paths(locale):
            with path.open("rb") as f:
                for message in read_po(f, locale=locale, domain=path.stem):
                    if message.id and template.get(message.id, context=message.context) is not None:
                        template.delete(message.id, context=message.context)
    return template


def _write_po(catalog, path: Path) -> None:
    from babel.messages.pofile import write_po

    path.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    write_po(buf, catalog, width=100, omit_header=False, sort_by_file=False, include_lineno=False)
    path.write_bytes(buf.getvalue())


def mo_bytes(catalog) -> bytes:
    from babel.messages.mofile import write_mo

    buf = io.BytesIO()
    write_mo(buf, catalog, use_fuzzy=False)
    return buf.getvalue()


def cmd_update() -> None:
    from babel.messages.catalog import Catalog

    template = _without_area_msgids(extract())
    _write_po(template, POT)
    for locale in LOCALES:
        path = po_path(locale)
        if path.exists():
            catalog = read_catalog(locale, areas=False)
        else:
            catalog = Catalog(locale=locale, domain=DOMAIN, charset="utf-8")
        catalog.update(template, no_fuzzy_matching=True, update_header_comment=False)
        catalog.project, catalog.version = "challenge-registry", ""
        catalog.fuzzy = False
        catalog.obsolete.clear()
        _write_po(catalog, path)
        print(f"updated {path.relative_to(ROOT)}")


def cmd_compile() -> None:
    for locale in LOCALES:
        mo = po_path(locale).with_suffix(".mo")
        mo.write_bytes(mo_bytes(read_catalog(locale)))
        print(f"compiled {mo.relative_to(ROOT)}")
    translations.cache_clear()


def missing(locale: str = "nl") -> list[str]:
    """msgids in the sources that have no (or a fuzzy) translation in ``locale``."""
    catalog = read_catalog(locale)
    gaps = []
    for message in extract():
        if not message.id:
            continue
        entry = catalog.get(message.id, context=message.context)
        strings: Iterable[str] = () if entry is None else (
            entry.string if isinstance(entry.string, (list, tuple)) else [entry.string]
        )
        if entry is None or entry.fuzzy or not all(strings):
            gaps.append(message.id if isinstance(message.id, str) else message.id[0])
    return gaps


def main(argv: list[str]) -> int:
    command = argv[0] if argv else ""
    if command == "update":
        cmd_update()
    elif command == "compile":
        cmd_compile()
    elif command == "check":
        gaps = missing("nl")
        for gap in gaps:
            print(f"untranslated: {gap!r}")
        return 1 if gaps else 0
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
