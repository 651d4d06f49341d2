"""What the portal does, each step one transaction with its mails in the
outbox. The pages (registry.web.portal_pages) only parse forms and render."""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from registry import accounts
from registry import challenges as handling
from registry import workflow
from registry.accounts.service import CONFIRM_TTL, INVITE_TTL, SessionUser, normalise_email
from registry.db import Db
from registry.errors import Forbidden, Invalid, NotFound
from registry.inputs import Filing
from registry.notifications import outbox
from registry.portal import files, mails
from registry.portal import store
from registry.store import catalog
from registry.store.tokens import Actor
from registry.web.i18n import N_, translate


class FormErrors(Exception):
    """Field -> message (an msgid); the page shows each next to its field."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(", ".join(errors))
        self.errors = errors


def actor_label(user: SessionUser) -> str:
    """What event_actors records (privately) for a member's action."""
    return f"user:{user.id}"


def actor_for(collective) -> Actor:
    # No API token: the member's session. registry.challenges checks role and municipality as for any token.
    return Actor(token_id=None, role="collective", municipality=collective["municipality_code"], collective_id=collective["id"])  # type: ignore[arg-type]


# --- accounts -------------------------------------------------------------------------------


async def register(db: Db, base: str, email: str, password: str, name: str, locale: str, client: str, now: datetime) -> None:
    """Create an account and mail the confirmation link; for an address that
    has an account, mail that instead — the page answers the same either way."""
    async with db.transaction() as conn:
        await accounts.hit_rate_limit(conn, f"register:client:{client}", 10, 3600, now)
    async with db.transaction() as conn:
        user_id, token = await accounts.register(conn, email, password, name, locale, now)
        address = normalise_email(email)
        if user_id is None:
            subject, text = mails.already_registered(locale, base)
            key = f"already-registered:{address}:{now.date().isoformat()}"
        else:
            subject, text = mails.confirm(locale, f"{base}/confirm?token={token}", base)
            key = None
        await outbox.enqueue(conn, to=address, subject=subject, text=text, locale=locale, dedupe_key=key)


async def resend_confirmation(db: Db, base: str, user: SessionUser, client: str, now: datetime) -> None:
    async with db.transaction() as conn:
        await accounts.hit_rate_limit(conn, f"confirm-resend:{user.id}", 3, 3600, now)
        token = await accounts.create_email_token(conn, "confirm", user.email, user.id, now, CONFIRM_TTL)
        subject, text = mails.confirm(user.locale, f"{base}/confirm?token={token}", base)
        await outbox.enqueue(conn, to=user.email, subject=subject, text=text, locale=user.locale)


async def request_reset(db: Db, base: str, email: str, locale: str, client: str, now: datetime) -> None:
    async with db.transaction() as conn:
        found = await accounts.request_password_reset(conn, email, client, now)
    if found is None:
        return
    user_id, token = found
    async with db.transaction() as conn:
        user = await store.user_by_id(conn, user_id)
        subject, text = mails.reset(user["locale"], f"{base}/password/reset?token={token}", base)
        await outbox.enqueue(conn, to=user["email"], subject=subject, text=text, locale=user["locale"])


# --- collectives ---------------------------------------------------------------------------

LEGAL_FORMS = catalog.LEGAL_FORMS


def collective_form(form: dict[str, str], municipalities: set[str]) -> dict[str, Any]:
    """Check the new-collective form; raises FormErrors."""
    errors: dict[str, str] = {}
    v = {k: (form.get(k) or "").strip() for k in (
        "municipality", "name", "legal_form", "registration_number", "neighbourhood", "description",
        "contact_name", "contact_email", "contact_phone")}  # fmt: skip
    if v["municipality"] not in municipalities:
        errors["municipality"] = N_("Choose the municipality your collective works in.")
    if not v["name"]:
        errors["name"] = N_("Enter the name of the collective.")
    elif len(v["name"]) > 200:
        errors["name"] = N_("Use at most 200 characters.")
    if v["legal_form"] not in LEGAL_FORMS:
        errors["legal_form"] = N_("Choose a legal form.")
    if v["registration_number"] and not re.fullmatch(r"[0-9]{8}", v["registration_number"]):
        errors["registration_number"] = N_("A Chamber of Commerce number has 8 digits.")
    if len(v["neighbourhood"]) > 200:
        errors["neighbourhood"] = N_("Use at most 200 characters.")
    if len(v["description"]) > 5000:
        errors["description"] = N_("Use at most 5,000 characters.")
    if not v["contact_name"]:
        errors["contact_name"] = N_("Enter the name of a contact person.")
    elif len(v["contact_name"]) > 200:
        errors["contact_name"] = N_("Use at most 200 characters.")
    try:
        v["contact_email"] = normalise_email(v["contact_email"])
    except Invalid:
        errors["contact_email"] = N_("Enter a valid e-mail address, like name@example.nl.")
    if len(v["contact_phone"]) > 40 or not re.fullmatch(r"[0-9 +()\-]*", v["contact_phone"]):
        errors["contact_phone"] = N_("Enter a phone number with digits, spaces, +, - or brackets.")
    if "\x00" in "".join(v.values()):
        errors["name"] = N_("Remove the invisible control characters.")
    if errors:
        raise FormErrors(errors)
    return v


async def create_collective(db: Db, user: SessionUser, v: dict[str, Any], now: datetime) -> int:
    async with db.transaction() as conn:
        collective_id = await catalog.create_collective(
            conn, v["municipality"], v["name"], v["legal_form"], v["registration_number"] or None,
            v["neighbourhood"], contact_name=v["contact_name"], email=v["contact_email"], phone=v["contact_phone"],
        )  # fmt: skip
        await store.add_profile(conn, collective_id, v["description"])
        await store.add_member(conn, collective_id, user.id, None, now)
    return collective_id


async def invite(db: Db, base: str, user: SessionUser, collective, email: str, locale: str, client: str, now: datetime) -> None:
    try:
        address = normalise_email(email)
    except Invalid:
        raise FormErrors({"email": N_("Enter a valid e-mail address, like name@example.nl.")}) from None
    async with db.transaction() as conn:
        await accounts.hit_rate_limit(conn, f"invite:{user.id}", 20, 3600, now)
        invitee = await store.user_by_email(conn, address)
        mail_locale = invitee["locale"] if invitee else locale
        token = await accounts.create_email_token(
            conn, "invite", address, invitee["id"] if invitee else None, now, INVITE_TTL,
            {"collective": collective["id"], "by": user.id},
        )  # fmt: skip
        subject, text = mails.invite(mail_locale, f"{base}/invite?token={token}", collective["name"], user.display_name, base)
        await outbox.enqueue(conn, to=address, subject=subject, text=text, locale=mail_locale)


async def accept_invite(db: Db, user: SessionUser, token: str, now: datetime) -> int:
    async with db.transaction() as conn:
        row = await accounts.use_email_token(conn, "invite", token, now)
        if row["email"] != user.email:
            raise Forbidden("This invitation was sent to another e-mail address. Log in with that address to accept it.")
        payload = json.loads(row["payload"])
        await store.add_member(conn, payload["collective"], user.id, payload.get("by"), now)
        if not user.confirmed:
            # The link came to this address: that confirms it.
            await conn.execute("UPDATE users SET email_confirmed_at = $2 WHERE id = $1 AND email_confirmed_at IS NULL", user.id, now)
    return payload["collective"]


async def leave(db: Db, user: SessionUser, collective_id: int) -> None:
    async with db.transaction() as conn:
        if not await store.remove_member(conn, collective_id, user.id):
            raise NotFound("You are not a member of this collective.")


# --- filing ---------------------------------------------------------------------------------

STEPS = ("what", "why", "money", "plan", "review")
STEP_FIELDS: dict[str, tuple[str, ...]] = {
    "what": ("title", "summary", "area", "proposed_start", "duration_months"),
    "why": ("why_better", "experience", "expected_support", "quality_continuity", "help_wanted"),
    "money": ("cost_estimate", "requested_budget"),
    "plan": ("plan",),
    "review": (),
}
LIMITS = {
    "title": 200, "summary": 2_000, "area": 500, "proposed_start": 10, "duration_months": 4,
    "why_better": 10_000, "experience": 10_000, "expected_support": 10_000, "quality_continuity": 10_000,
    "help_wanted": 10_000, "cost_estimate": 10_000, "requested_budget": 20, "plan": 60_000,
}  # fmt: skip
OPTIONAL = {"help_wanted"}

# The extra particulars the reference lists, appended to the plan as sections
# when the challenge is submitted, so that they are public and in the hash chain.
SECTIONS = (
    ("why_better", N_("Why we do it better or cheaper")),
    ("experience", N_("Our involvement, knowledge and experience")),
    ("expected_support", N_("Support in the neighbourhood")),
    ("cost_estimate", N_("Cost estimate")),
    ("help_wanted", N_("Help we ask of the municipality")),
    ("quality_continuity", N_("Quality and continuity")),
)


def parse_euros(value: str) -> int | None:
    """'12.000,50', '12,000.50', '€ 12000' -> cents; None if it is no amount."""
    text = value.replace("€", "").replace("EUR", "").replace(" ", "").replace("\u00a0", "").strip()
    if not text or not re.fullmatch(r"[0-9.,]+", text):
        return None
    last_dot, last_comma = text.rfind("."), text.rfind(",")
    decimal_at = max(last_dot, last_comma)
    if decimal_at >= 0 and len(text) - decimal_at - 1 in (1, 2) and text.count(text[decimal_at]) == 1:
        whole, cents = text[:decimal_at], text[decimal_at + 1 :]
    else:
        whole, cents = text, ""
    whole = whole.replace(".", "").replace(",", "")
    try:
        amount = Decimal(whole or "0") + (Decimal(cents) / (10 ** len(cents)) if cents else 0)
    except InvalidOperation:
        return None
    result = int(amount * 100)
    return result if result <= 2**53 - 1 else None


def check_fields(values: dict[str, str], names: tuple[str, ...]) -> dict[str, str]:
    """Errors (msgids) for ``names`` in ``values``; empty when all is well."""
    errors: dict[str, str] = {}
    for name in names:
        value = (values.get(name) or "").strip()
        if not value:
            if name not in OPTIONAL:
                errors[name] = N_("This field is required.")
            continue
        if len(value) > LIMITS[name]:
            errors[name] = N_("This text is too long.")
        elif "\x00" in value:
            errors[name] = N_("Remove the invisible control characters.")
        elif name == "proposed_start":
            try:
                date.fromisoformat(value)
                if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
                    raise ValueError
            except ValueError:
                errors[name] = N_("Enter a date as YYYY-MM-DD, for example 2027-03-01.")
        elif name == "duration_months":
            if not value.isdigit() or not 1 <= int(value) <= 600:
                errors[name] = N_("Enter a whole number of months from 1 to 600.")
        elif name == "requested_budget":
            if parse_euros(value) is None:
                errors[name] = N_("Enter an amount in euros, for example 12000 or 12.000,50.")
    return errors


def all_errors(values: dict[str, str]) -> dict[str, tuple[str, str]]:
    """Every problem of a draft: field -> (step, msgid)."""
    found = {}
    for step in STEPS:
        for name, msg in check_fields(values, STEP_FIELDS[step]).items():
            found[name] = (step, msg)
    return found


def composed_plan(values: dict[str, str], locale: str) -> str:
    parts = [values.get("plan", "").strip()]
    for name, heading in SECTIONS:
        text = (values.get(name) or "").strip()
        if text:
            parts.append(f"## {translate(locale, heading)}\n\n{text}")
    return "\n\n".join(parts)


async def submit_draft(db: Db, user: SessionUser, draft: store.Draft, collective, locale: str, now: datetime) -> str:
    errors = all_errors(draft.fields)
    if errors:
        raise FormErrors({k: v[1] for k, v in errors.items()})
    v = draft.fields
    filing = Filing(
        service=draft.service_id,
        title=v["title"].strip(),
        summary=v["summary"].strip(),
        plan=composed_plan(v, locale),
        requested_budget_cents=parse_euros(v["requested_budget"]) or 0,
        area=v["area"].strip(),
        proposed_start=date.fromisoformat(v["proposed_start"]),
        duration_months=int(v["duration_months"]),
        submit=True,
    )
    ref = await handling.file(db, actor_for(collective), filing, now, actor_label=actor_label(user))
    async with db.transaction() as conn:
        await store.mark_draft_submitted(conn, draft.id, ref, now)
    return ref


# --- actions on a challenge --------------------------------------------------------------------

COLLECTIVE_ACTIONS = (
    "submit", "provide_information", "consent", "decline", "accept_agreement", "report_progress", "terminate", "withdraw",
)


def action_fields(action: str) -> list[str]:
    return list(workflow.ACTIONS[action].fields) if action != "submit" else []


async def act(db: Db, user: SessionUser, ref: str, action: str, version: int, form: dict[str, str], now: datetime) -> None:
    async with db.connection() as conn:
        mine = await store.my_challenge(conn, user.id, ref)
    if mine is None:
        raise NotFound(f"There is no challenge {ref} of your collectives.")
    if action not in COLLECTIVE_ACTIONS:
        raise NotFound(f"There is no action {action} for collectives.")
    fields = {name: form.get(name, "") for name in action_fields(action)}
    errors = {name: N_("This field is required.") for name, value in fields.items() if not value.strip()}
    if errors:
        raise FormErrors(errors)
    collective = {"id": mine["collective_id"], "municipality_code": mine["municipality_code"]}
    await handling.act(db, actor_for(collective), ref, action, version, fields, now, actor_label=actor_label(user))


# --- support -------------------------------------------------------------------------------------


async def support(db: Db, user: SessionUser, ref: str, notify: bool, client: str, now: datetime) -> bool:
    async with db.transaction() as conn:
        await accounts.hit_rate_limit(conn, f"support:client:{client}", 60, 3600, now)
        await accounts.hit_rate_limit(conn, f"support:user:{user.id}", 30, 3600, now)
        row = await store.supportable(conn, ref)
        if row is None:
            raise NotFound(f"There is no public challenge {ref}.")
        if row["state"] not in store.SUPPORTABLE:
            raise Invalid(N_("This challenge can no longer be supported."), "support")
        return await store.support(conn, row["id"], user.id, notify, now)


async def withdraw_support(db: Db, user: SessionUser, ref: str, client: str, now: datetime) -> bool:
    async with db.transaction() as conn:
        await accounts.hit_rate_limit(conn, f"support:user:{user.id}", 30, 3600, now)
        row = await store.supportable(conn, ref)
        if row is None:
            raise NotFound(f"There is no public challenge {ref}.")
        return await store.withdraw_support(conn, row["id"], user.id)


# --- attachments ---------------------------------------------------------------------------------


def check_upload(filename: str, content: bytes, kind: str) -> tuple[str, str]:
    """(content type, clean name) of an acceptable upload; raises FormErrors."""
    if kind not in files.KINDS:
        raise FormErrors({"kind": N_("Choose what the file is.")})
    if not content:
        raise FormErrors({"file": N_("Choose a file to upload.")})
    if len(content) > files.MAX_BYTES:
        raise FormErrors({"file": N_("The file is larger than 10 MB.")})
    content_type = files.sniff(content)
    if content_type is None:
        raise FormErrors({"file": N_("Upload a PDF, ODT, DOCX, PNG or JPEG file.")})
    return content_type, files.clean_filename(filename, content_type)


