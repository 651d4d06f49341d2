"""An initiative profile as typed in: checked field by field, so that a form
can show every problem next to its own field.

Error messages are English msgids (marked with N_) that the pages translate.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from registry.accounts.service import EMAIL
from registry.initiatives import DOMAINS, LEGAL_FORMS, RECIPROCITY
from registry.web.i18n import N_

KVK = re.compile(r"^[0-9]{8}$")
URL = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.IGNORECASE)
MAX_ITEMS = 20
MAX_ITEM = 200
MAX_NEIGHBOURHOOD = 100
MAX_DESCRIPTION = 20_000


@dataclass
class Profile:
    name: str = ""
    legal_form: str = "informal_group"
    registration_number: str | None = None
    neighbourhoods: list[str] = field(default_factory=list)
    founded_year: int | None = None
    website: str | None = None
    description: str = ""
    domains: list[str] = field(default_factory=list)
    reciprocity: str | None = None
    members_count: int | None = None
    offers: list[str] = field(default_factory=list)
    needs: list[str] = field(default_factory=list)


def _clean(value: Any) -> str:
    """A string without NUL (PostgreSQL refuses it) or lone surrogates, stripped."""
    text = "" if value is None else str(value)
    text = text.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")
    return text.strip()


def normalise_kvk(value: str) -> str | None:
    """A KvK number as 8 digits ('1234 5678' and '1234.5678' are fine), or None
    when blank. Raises ValueError when it is not 8 digits. (KvK numbers have
    no check digit: the 'elfproef' is for BSN and old bank numbers.)"""
    digits = re.sub(r"[\s.]", "", value)
    if not digits:
        return None
    if not KVK.match(digits):
        raise ValueError(digits)
    return digits


def lines(value: Any) -> list[str]:
    """A textarea (one item per line) or a list, as a list of non-empty items."""
    if isinstance(value, (list, tuple)):
        items = [_clean(v) for v in value]
    else:
        items = [_clean(v) for v in re.split(r"[\r\n]+", _clean(value))]
    seen: list[str] = []
    for item in items:
        if item and item not in seen:
            seen.append(item)
    return seen


def validate(raw: dict[str, Any], current_year: int) -> tuple[Profile, dict[str, str]]:
    """The profile and a message per field that is wrong (empty when all is well)."""
    errors: dict[str, str] = {}
    p = Profile()

    p.name = _clean(raw.get("name"))
    if not p.name:
        errors["name"] = N_("Enter the name of the initiative.")
    elif len(p.name) > 200:
        errors["name"] = N_("Use at most 200 characters.")

    p.legal_form = _clean(raw.get("legal_form")) or "informal_group"
    if p.legal_form not in LEGAL_FORMS:
        errors["legal_form"] = N_("Choose one of the legal forms.")

    try:
        p.registration_number = normalise_kvk(_clean(raw.get("registration_number")))
    except ValueError:
        errors["registration_number"] = N_("A KvK number has exactly 8 digits, like 12345678.")
    if p.registration_number is None and p.legal_form in ("association", "cooperative", "foundation"):
        # Registered legal persons have a KvK number; informal groups do not.
        errors.setdefault("registration_number", N_("An association, cooperative or foundation is registered with the KvK: enter its 8-digit number."))

    p.neighbourhoods = lines(raw.get("neighbourhoods"))
    if len(p.neighbourhoods) > MAX_ITEMS:
        errors["neighbourhoods"] = N_("Name at most 20 neighbourhoods.")
    elif any(len(n) > MAX_NEIGHBOURHOOD for n in p.neighbourhoods):
        errors["neighbourhoods"] = N_("A neighbourhood name has at most 100 characters.")

    founded = _clean(raw.get("founded_year"))
    if founded:
        if not founded.isdigit() or not 1800 <= int(founded) <= current_year:
            errors["founded_year"] = N_("Enter the year it started, like 2015.")
        else:
            p.founded_year = int(founded)

    website = _clean(raw.get("website"))
    if website:
        if not website.lower().startswith(("http://", "https://")):
            website = "https://" + website
        if len(website) > 500 or not URL.match(website):
            errors["website"] = N_("Enter a web address, like https://example.nl.")
        else:
            p.website = website

    p.description = _clean(raw.get("description"))
    if len(p.description) > MAX_DESCRIPTION:
        errors["description"] = N_("Use at most 20,000 characters.")

    domains = raw.get("domains") or []
    if isinstance(domains, str):
        domains = [domains]
    p.domains = [d for d in DOMAINS if d in {_clean(x) for x in domains}]
    if not p.domains:
        errors["domains"] = N_("Choose at least one domain.")
    elif len(p.domains) != len({_clean(x) for x in domains if _clean(x)}):
        errors["domains"] = N_("Choose domains from the list.")

    reciprocity = _clean(raw.get("reciprocity"))
    if reciprocity:
        if reciprocity not in RECIPROCITY:
            errors["reciprocity"] = N_("Choose one of the four kinds.")
        else:
            p.reciprocity = reciprocity

    members = _clean(raw.get("members_count"))
    if members:
        if not members.isdigit() or int(members) > 10_000_000:
            errors["members_count"] = N_("Enter a number, like 25.")
        else:
            p.members_count = int(members)

    for name in ("offers", "needs"):
        items = lines(raw.get(name))
        setattr(p, name, items)
        if len(items) > MAX_ITEMS:
            errors[name] = N_("Name at most 20, one per line.")
        elif any(len(i) > MAX_ITEM for i in items):
            errors[name] = N_("Keep each line under 200 characters.")
    return p, errors


def validate_email(value: Any) -> tuple[str, str | None]:
    address = _clean(value).lower()
    if not address or len(address) > 254 or not EMAIL.match(address):
        return address, N_("Enter a valid e-mail address, like name@example.nl.")
    return address, None
