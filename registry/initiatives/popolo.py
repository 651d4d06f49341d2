"""The public serializer of initiatives: Popolo Organizations
(https://www.popoloproject.com/specs/organization.html) plus our fields.

Privacy by construction: no field here can hold a person. An organization's
``contact_details`` and ``memberships`` are deliberately absent; the contact
address is reachable only through the relay form.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import msgspec

from registry.initiatives import INACTIVE_AFTER_DAYS


class Identifier(msgspec.Struct, frozen=True):
    scheme: str
    identifier: str


class Link(msgspec.Struct, frozen=True):
    url: str
    note: str


class MunicipalityRef(msgspec.Struct, frozen=True):
    code: str
    name: str


class Verification(msgspec.Struct, frozen=True):
    verified: bool
    verified_at: datetime | None
    note: str | None


class Featured(msgspec.Struct, frozen=True):
    """The municipality puts this initiative in the spotlight, and says why."""

    reason: str
    featured_at: datetime


class Organization(msgspec.Struct, frozen=True):
    """A citizen initiative as a Popolo Organization. ``status`` is ``active``,
    ``possibly_inactive`` (no edit or confirmation for two years) or ``hidden``
    (by the municipality, with a public ``hidden_reason``; the profile's text is
    then withheld)."""

    id: str
    name: str
    identifiers: list[Identifier]
    classification: str
    founding_date: str | None
    links: list[Link]
    url: str
    html_url: str
    municipality: MunicipalityRef
    neighbourhoods: list[str]
    description: str
    domains: list[str]
    reciprocity: str | None
    members_count: int | None
    offers: list[str]
    needs: list[str]
    verification: Verification
    featured: Featured | None
    status: str
    hidden_reason: str | None
    open_challenges: int
    last_confirmed_at: datetime
    created_at: datetime
    updated_at: datetime


def status_of(row, now: datetime) -> str:
    if row["hidden_at"] is not None:
        return "hidden"
    if row["last_confirmed_at"] < now - timedelta(days=INACTIVE_AFTER_DAYS):
        return "possibly_inactive"
    return "active"


def organization(row, base: str, now: datetime) -> Organization:
    ident = row["id"]
    hidden = row["hidden_at"] is not None
    kvk = row["registration_number"]
    return Organization(
        id=str(ident),
        name=row["name"],
        identifiers=[Identifier("NL-KVK", kvk)] if kvk else [],
        classification=row["legal_form"],
        founding_date=str(row["founded_year"]) if row["founded_year"] else None,
        links=[Link(row["website"], "website")] if row["website"] and not hidden else [],
        url=f"{base}/api/v1/initiatives/{ident}",
        html_url=f"{base}/initiatives/{ident}",
        municipality=MunicipalityRef(row["municipality_code"], row["municipality_name"]),
        neighbourhoods=list(row["neighbourhoods"]),
        description="" if hidden else row["description"],
        domains=list(row["domains"]),
        reciprocity=row["reciprocity"],
        members_count=row["members_count"],
        offers=[] if hidden else list(row["offers"]),
        needs=[] if hidden else list(row["needs"]),
        verification=Verification(row["verified_at"] is not None, row["verified_at"], row["verified_note"]),
        featured=Featured(row["featured_reason"], row["featured_at"]) if row["featured_at"] and not hidden else None,
        status=status_of(row, now),
        hidden_reason=row["hidden_reason"],
        open_challenges=row["open_challenges"],
        last_confirmed_at=row["last_confirmed_at"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


class ChallengeRef(msgspec.Struct, frozen=True):
    ref: str
    title: str
    state: str
    status: str
    due_at: datetime | None
    waiting_on: str | None
    url: str


class OrganizationDetail(Organization, frozen=True):
    """One initiative with all its public challenges (never drafts)."""

    challenges: list[ChallengeRef]


def detail(row, challenges: list, base: str, now: datetime) -> OrganizationDetail:
    from registry.workflow import is_open

    org = organization(row, base, now)
    refs = [
        ChallengeRef(c["ref"], c["title"], c["state"], "open" if is_open(c["state"]) else "closed",
                     c["due_at"], c["waiting_on"], f"{base}/api/v1/challenges/{c['ref']}")
        for c in challenges
    ]
    return OrganizationDetail(**{f: getattr(org, f) for f in org.__struct_fields__}, challenges=refs)
