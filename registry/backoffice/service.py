"""The back-office operations. Each one checks authorisation (registry.backoffice.authz),
does its work and writes the private audit log with the civil servant's name."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import msgspec

from registry import accounts, challenges, workflow
from registry.accounts import passwords
from registry.backoffice import authz, totp
from registry.backoffice import store as bo
from registry.backoffice.authz import Case, Staff
from registry.db import Db
from registry.errors import Forbidden, Invalid, NotFound, RegistryError, StaleVersion
from registry.portal import store as portal_store
from registry.store import catalog, events

STAFF_IDLE = timedelta(minutes=30)
LOGIN_STEP_TTL = timedelta(minutes=5)


class Conflict(RegistryError):
    status = 409
    type = "conflict"
    title = "Conflict"


def staff_from(row: Any) -> Staff:
    return Staff(
        user_id=row["user_id"],
        email=row["email"],
        display_name=row["display_name"],
        municipality=row["municipality_code"],
        role=row["role"],
        departments=tuple(row["departments"] or ()),
        totp_enabled=row["totp_enabled"],
    )


def case_from(row: Any) -> Case:
    return Case(municipality=row["municipality_code"], department=row["department"], assignee=row["assignee_id"])


def generate_password() -> str:
    return secrets.token_urlsafe(12)


# --- accounts ---------------------------------------------------------------------------


async def create_staff(
    conn: asyncpg.Connection,
    email: str,
    role: str,
    municipality: str,
    password: str | None = None,
    display_name: str = "",
    departments: tuple[str, ...] = (),
    now: datetime | None = None,
) -> tuple[int, str | None]:
    """A civil servant's account (or a role for an existing user of the same
    municipality). Returns (user id, the password if one was generated or set)."""
    if role not in authz.ROLES:
        raise Invalid(f"The role must be one of {', '.join(authz.ROLES)}.", "role")
    address = accounts.service.normalise_email(email)
    if await conn.fetchval("SELECT 1 FROM municipalities WHERE code = $1", municipality) is None:
        raise Invalid(f"There is no municipality {municipality}.", "municipality")
    if len(display_name) > 200:
        raise Invalid("Use at most 200 characters for the name.", "display_name")
    given = password
    if given is not None:
        problem = passwords.password_problem(given, address)
        if problem:
            raise Invalid(problem, "password")
    async with conn.transaction():
        user_id = await conn.fetchval("SELECT id FROM users WHERE email = $1", address)
        shown: str | None = given
        if user_id is None:
            shown = given or generate_password()
            user_id = await conn.fetchval(
                "INSERT INTO users (email, password_hash, display_name, locale, email_confirmed_at, created_at)"
                " VALUES ($1, $2, $3, 'nl', $4, $4) RETURNING id",
                address,
                await passwords.hash_password(shown),
                display_name.strip(),
                now or datetime.now().astimezone(),
            )
        else:
            other = await conn.fetchval("SELECT municipality_code FROM staff WHERE user_id = $1", user_id)
            if other is not None and other != municipality:
                raise Invalid(f"{address} is a civil servant of {other} already.", "email")
            if given is not None:
                await conn.execute(
                    "UPDATE users SET password_hash = $2 WHERE id = $1", user_id, await passwords.hash_password(given)
                )
        await bo.upsert_staff(conn, user_id, municipality, role, list(departments))
    return user_id, shown


async def staff_for_session(db: Db, token: str) -> Staff | None:
    async with db.connection() as conn:
        row = await bo.staff_session(conn, token, int(STAFF_IDLE.total_seconds()))
    return staff_from(row) if row else None


async def login(conn: asyncpg.Connection, email: str, password: str, client: str, now: datetime) -> tuple[str, str]:
    """('session', token) or ('code', step token) when a second factor is due.
    Throttled and vague (registry.accounts.authenticate)."""
    user = await accounts.authenticate(conn, email, password, f"staff:{client}", now)
    row = await bo.staff_of(conn, user.id)
    if row is None:
        raise accounts.AccountError("The e-mail address or the password is not right.")
    if row["totp_enabled"]:
        step = secrets.token_urlsafe(32)
        await bo.create_login_step(conn, step, user.id, now + LOGIN_STEP_TTL)
        return "code", step
    return "session", await accounts.create_session(conn, user.id, STAFF_IDLE, now)


async def verify_code(conn: asyncpg.Connection, step: str, code: str, client: str, now: datetime) -> str:
    await accounts.hit_rate_limit(conn, f"totp:client:{client}", 20, 300, now)
    user_id = await bo.login_step(conn, step, now)
    if user_id is None:
        raise accounts.AccountError("This login step has expired. Log in again.")
    secret, enabled = await bo.totp_secret(conn, user_id)
    if not (secret and enabled and totp.verify(secret, code, now)):
        raise Invalid("This code is not right. Enter the 6 digits your app shows now.", "code")
    await bo.end_login_step(conn, step)
    await bo.audit(conn, await _municipality_of(conn, user_id), user_id, "login", None, {"second_factor": True}, now)
    return await accounts.create_session(conn, user_id, STAFF_IDLE, now)


async def _municipality_of(conn: asyncpg.Connection, user_id: int) -> str:
    return await conn.fetchval("SELECT municipality_code FROM staff WHERE user_id = $1", user_id)


# --- cases --------------------------------------------------------------------------------


async def load_case(conn: asyncpg.Connection, staff: Staff, ref: str) -> Any:
    row = await bo.case(conn, ref)
    if row is None or not authz.in_scope(staff, case_from(row)):
        raise NotFound(f"There is no challenge {ref} for you.")
    return row


async def attachment(db: Db, staff: Staff, ref: str, attachment_id: int, now: datetime):
    """A file of a challenge, private ones included, for a civil servant who
    may see the case; the read is logged like any read of private data."""
    async with db.transaction() as conn:
        row = await load_case(conn, staff, ref)
        authz.require(staff, "view_case", case_from(row))
        file = await conn.fetchrow(
            "SELECT id, filename, content_type, content FROM attachments WHERE id = $1 AND challenge_id = $2",
            attachment_id,
            row["id"],
        )
        if file is None:
            raise NotFound(f"There is no file {attachment_id} on {ref}.")
        await bo.audit(conn, staff.municipality, staff.user_id, "read_attachment", row["id"], {"attachment": attachment_id}, now)
    return file


async def case_view(db: Db, staff: Staff, ref: str, now: datetime) -> dict[str, Any]:
    """Everything about a challenge for a civil servant; reading its private
    data is logged."""
    import json

    from registry import public
    from registry.store import challenges as public_store

    async with db.transaction() as conn:
        row = await load_case(conn, staff, ref)
        case = case_from(row)
        authz.require(staff, "view_case", case)
        detail = await public_store.public_detail(conn, ref)
        contact, members = await bo.contacts(conn, row["collective_id"])
        note_rows = await bo.notes(conn, row["id"])
        docs = await events.challenge_events(conn, row["id"])
        criteria = await bo.criteria(conn, staff.municipality)
        score_rows = {s["criterion"]: s for s in await bo.scores(conn, row["id"])}
        pending = await bo.pending_for(conn, row["id"])
        handlers = await bo.handlers(conn, staff.municipality)
        policy = await bo.policy(conn, staff.municipality)
        attachments = await portal_store.attachments_of_challenge(conn, row["id"], public_only=False)
        await bo.audit(conn, staff.municipality, staff.user_id, "read_private", row["id"], {}, now)
    state = msgspec.json.decode(row["workflow"], type=workflow.ChallengeState)
    possible = [a for a in workflow.allowed_actions(state, authz.engine_role(staff)) if authz.may_act(staff, a, case)]
    return {
        "row": row,
        "case": case,
        "c": public.challenge(detail, "", now),
        "state": state,
        "contact": contact,
        "members": members,
        "notes": note_rows,
        "attachments": attachments,
        "timeline": [json.loads(d) for d in docs],
        "criteria": criteria,
        "scores": score_rows,
        "pending": pending,
        "handlers": handlers,
        "actions": possible,
        "four_eyes": policy["four_eyes"],
        "may_note": authz.may(staff, "add_note", case),
        "may_score": authz.may(staff, "score", case) and state.state in ("under_assessment", "submitted", "information_requested"),
        "may_assign": authz.may(staff, "assign", case),
        "may_approve": pending is not None and authz.may(staff, "approve", case) and pending["prepared_by"] != staff.user_id,
    }


async def add_note(db: Db, staff: Staff, ref: str, body: str, now: datetime) -> None:
    body = body.strip()
    if not body:
        raise Invalid("Write the note first.", "body")
    if len(body) > 20_000 or "\x00" in body:
        raise Invalid("A note has at most 20,000 characters.", "body")
    async with db.transaction() as conn:
        row = await load_case(conn, staff, ref)
        authz.require(staff, "add_note", case_from(row))
        note_id = await bo.add_note(conn, row["id"], staff.user_id, body, now)
        await bo.audit(conn, staff.municipality, staff.user_id, "add_note", row["id"], {"note": note_id}, now)


async def assign(db: Db, staff: Staff, refs: list[str], assignee: int | None, now: datetime) -> int:
    """Assign (or unassign, ``assignee`` None) one or many challenges."""
    refs = list(dict.fromkeys(r for r in refs if r))[:500]
    if not refs:
        raise Invalid("Choose at least one challenge.", "refs")
    async with db.transaction() as conn:
        rows = await bo.cases_by_ref(conn, refs)
        if len(rows) != len(refs):
            raise NotFound("One of these challenges does not exist for you.")
        for row in rows:
            authz.require(staff, "assign", case_from(row))
        if assignee is not None:
            person = await bo.staff_of(conn, assignee)
            if person is None or person["municipality_code"] != staff.municipality or not authz.may_assign_to(person["role"]):
                raise Invalid("Choose a reviewer or coordinator of your municipality.", "assignee")
            for row in rows:
                if person["departments"] and row["department"] not in person["departments"]:
                    raise Invalid(f"{person['email']} does not work for the department of {row['ref']}.", "assignee")
        ids = [r["id"] for r in rows]
        await bo.assign(conn, ids, assignee, staff.user_id, now)
        for row in rows:
            await bo.audit(conn, staff.municipality, staff.user_id, "assign", row["id"], {"assignee": assignee}, now)
    return len(rows)


def parse_scores(criteria: list[Any], form: dict[str, str]) -> tuple[list[tuple[str, int, str]], dict[str, str]]:
    """Scores from a form (``score_<code>``, ``motivation_<code>``): the complete
    ones, and errors per field. A criterion left entirely blank is skipped."""
    items, errors = [], {}
    for crit in criteria:
        code = crit["code"]
        raw, motivation = (form.get(f"score_{code}") or "").strip(), (form.get(f"motivation_{code}") or "").strip()
        if not raw and not motivation:
            continue
        if raw not in ("1", "2", "3", "4", "5"):
            errors[f"score_{code}"] = "Choose a score from 1 to 5."
            continue
        if not motivation:
            errors[f"motivation_{code}"] = "Give the motivation for this score."
            continue
        if len(motivation) > 5000 or "\x00" in motivation:
            errors[f"motivation_{code}"] = "A motivation has at most 5,000 characters."
            continue
        items.append((code, int(raw), motivation))
    return items, errors


async def save_assessment(db: Db, staff: Staff, ref: str, items: list[tuple[str, int, str]], now: datetime) -> None:
    async with db.transaction() as conn:
        row = await load_case(conn, staff, ref)
        authz.require(staff, "score", case_from(row))
        known = {c["code"] for c in await bo.criteria(conn, staff.municipality)}
        items = [i for i in items if i[0] in known]
        await bo.save_scores(conn, row["id"], items, staff.user_id, now)
        await bo.audit(
            conn, staff.municipality, staff.user_id, "score", row["id"], {"criteria": [i[0] for i in items]}, now
        )


async def take_action(
    db: Db, staff: Staff, ref: str, action: str, expected_version: int, fields: dict[str, Any], now: datetime
) -> str:
    """Take a workflow action: 'done', or 'pending' when four eyes apply.

    The engine (through registry.challenges.act) checks state, fields and the
    version; a stale version raises StaleVersion, shown as a conflict message."""
    if action not in workflow.ACTIONS:
        raise NotFound(f"There is no action {action}.")
    fields = dict(fields)
    async with db.connection() as conn:
        row = await load_case(conn, staff, ref)
        case = case_from(row)
        authz.require_act(staff, action, case)
        if action in authz.SCORED:
            criteria = await bo.criteria(conn, staff.municipality)
            given = {s["criterion"]: s for s in await bo.scores(conn, row["id"])}
            missing = [c["code"] for c in criteria if c["code"] not in given]
            if missing:
                raise Invalid(
                    "Score every criterion of the assessment first; missing: " + ", ".join(missing) + ".", "scores"
                )
            if criteria:
                fields["scores"] = [
                    {"criterion": c["code"], "score": given[c["code"]]["score"], "motivation": given[c["code"]]["motivation"]}
                    for c in criteria
                ]
        policy = await bo.policy(conn, staff.municipality)
        if policy["four_eyes"] and action in authz.DECISIONS:
            if row["version"] != expected_version:
                raise StaleVersion(
                    f"The challenge is at version {row['version']}, not {expected_version}: someone acted on it"
                    " in the meantime. Reload it and try again.",
                    "expected_version",
                )
            settings_json = await conn.fetchval("SELECT settings::text FROM municipalities WHERE code = $1", staff.municipality)
            state = msgspec.json.decode(row["workflow"], type=workflow.ChallengeState)
            # Check now what the engine will check on approval: a prepared
            # decision that cannot take effect is refused at once.
            workflow.take(
                state, action, authz.engine_role(staff), fields, now,
                msgspec.json.decode(settings_json, type=workflow.Settings),
            )  # fmt: skip
            async with conn.transaction():
                approval_id = await bo.prepare(
                    conn, row["id"], staff.municipality, action, _jsonable(fields), expected_version, staff.user_id, now
                )
                if approval_id is None:
                    raise Conflict("Another decision on this challenge is waiting for approval already.", "action")
                await bo.audit(
                    conn, staff.municipality, staff.user_id, "prepare", row["id"], {"action": action, "approval": approval_id}, now
                )
            return "pending"
    await challenges.act(db, authz.actor(staff), ref, action, expected_version, fields, now)
    async with db.connection() as conn:
        await bo.audit(conn, staff.municipality, staff.user_id, "act", row["id"], {"action": action}, now)
    return "done"


def _jsonable(fields: dict[str, Any]) -> dict[str, Any]:
    return msgspec.to_builtins(fields)


async def decide_approval(db: Db, staff: Staff, approval_id: int, approve: bool, now: datetime) -> str:
    """A second civil servant approves (the action takes effect) or refuses."""
    async with db.connection() as conn:
        ap = await bo.approval(conn, approval_id)
        if ap is None or ap["municipality_code"] != staff.municipality:
            raise NotFound("There is no such approval waiting.")
        case = Case(ap["municipality_code"], ap["department"], None)
        authz.require(staff, "approve", case)
        if ap["prepared_by"] == staff.user_id:
            raise Forbidden("A second civil servant must approve what you prepared.")
        if not await bo.claim_approval(conn, approval_id, staff.user_id, "approved" if approve else "refused", now):
            raise Conflict("Someone else has just decided on this approval.")
        await bo.audit(
            conn, staff.municipality, staff.user_id, "approve" if approve else "refuse", ap["challenge_id"],
            {"action": ap["action"], "approval": approval_id}, now,
        )  # fmt: skip
    if not approve:
        return "refused"
    try:
        await challenges.act(
            db, authz.actor(staff), ap["ref"], ap["action"], ap["expected_version"], msgspec.json.decode(ap["fields"]), now
        )
    except (RegistryError, workflow.DomainError):
        async with db.connection() as conn:
            await bo.set_approval_outcome(conn, approval_id, "failed")
        raise
    return "approved"


# --- administration -----------------------------------------------------------------------

PUBLIC_POLICY = ("minimum_support", "four_eyes")


async def change_settings(
    db: Db, staff: Staff, new: workflow.Settings, four_eyes: bool, minimum_support: int, now: datetime
) -> dict[str, Any]:
    """Store the new settings and publish what changed in the municipality's
    chain. Running clocks keep their due dates: only new clocks use them."""
    authz.require(staff, "manage_settings")
    async with db.transaction() as conn:
        old_json = await conn.fetchval(
            "SELECT settings::text FROM municipalities WHERE code = $1 FOR UPDATE", staff.municipality
        )
        old = msgspec.to_builtins(msgspec.json.decode(old_json, type=workflow.Settings))
        policy = await bo.policy(conn, staff.municipality)
        before = {**old, "four_eyes": policy["four_eyes"], "minimum_support": policy["minimum_support"]}
        after = {**msgspec.to_builtins(new), "four_eyes": four_eyes, "minimum_support": minimum_support}
        diff = {k: {"from": before.get(k), "to": v} for k, v in after.items() if before.get(k) != v}
        if not diff:
            return {}
        await conn.execute(
            "UPDATE municipalities SET settings = $2::jsonb WHERE code = $1",
            staff.municipality,
            msgspec.json.encode(new).decode(),
        )
        await bo.set_policy(conn, staff.municipality, four_eyes, minimum_support)
        event = workflow.Event(
            action="change_settings", from_state="settings", to_state="settings", actor_role="admin",
            occurred_at=now, data=diff, due_at=None, waiting_on=None,
        )  # fmt: skip
        event_id, _, _ = await events.append(
            conn, municipality=staff.municipality, challenge_id=None, challenge_ref=None, event=event,
            token_id=None, subject=f"municipality:{staff.municipality}",
        )  # fmt: skip
        await bo.audit(conn, staff.municipality, staff.user_id, "change_settings", None, {"event": event_id, "changed": sorted(diff)}, now)
    return diff


async def save_criteria(db: Db, staff: Staff, rows: list[tuple[str, str, int, int, bool]], now: datetime) -> None:
    authz.require(staff, "manage_settings")
    async with db.transaction() as conn:
        for code, label, weight, position, active in rows:
            await bo.upsert_criterion(conn, staff.municipality, code, label, weight, position, active)
        await bo.audit(conn, staff.municipality, staff.user_id, "change_criteria", None, {"criteria": [r[0] for r in rows]}, now)


async def save_service(db: Db, staff: Staff, service_id: int | None, values: dict[str, Any], now: datetime) -> int:
    authz.require(staff, "manage_services")
    if values["category"] not in catalog.CATEGORIES:
        raise Invalid("Choose a category.", "category")
    if not values["challengeable"] and not (values.get("exclusion_reason") or "").strip():
        raise Invalid("Say why this service is excluded.", "exclusion_reason")
    reason = values["exclusion_reason"].strip() if not values["challengeable"] else None
    async with db.transaction() as conn:
        try:
            if service_id is None:
                service_id = await catalog.create_service(
                    conn, staff.municipality, values["name"], values["category"], values["department"],
                    values["annual_budget_cents"], values["description"], values["challengeable"], reason,
                )  # fmt: skip
            else:
                done = await conn.fetchval(
                    "UPDATE services SET name = $3, category = $4, department = $5, annual_budget_cents = $6,"
                    " description = $7, challengeable = $8, exclusion_reason = $9"
                    " WHERE id = $1 AND municipality_code = $2 RETURNING id",
                    service_id, staff.municipality, values["name"], values["category"], values["department"],
                    values["annual_budget_cents"], values["description"], values["challengeable"], reason,
                )  # fmt: skip
                if done is None:
                    raise NotFound("There is no such service in your municipality.")
        except asyncpg.UniqueViolationError:
            raise Invalid("Your municipality has a service of that name already.", "name") from None
        await bo.audit(conn, staff.municipality, staff.user_id, "save_service", None, {"service": service_id}, now)
    return service_id


async def save_staff_member(
    db: Db, staff: Staff, email: str, role: str, departments: tuple[str, ...], display_name: str, now: datetime
) -> tuple[int, str]:
    """An admin adds a civil servant (a generated password, shown once) or
    changes the role of one of their municipality."""
    authz.require(staff, "manage_staff")
    async with db.connection() as conn:
        user_id, password = await create_staff(
            conn, email, role, staff.municipality, None, display_name, departments, now
        )
        await accounts.end_sessions_of(conn, user_id)
        await bo.audit(conn, staff.municipality, staff.user_id, "save_staff", None, {"user": user_id, "role": role}, now)
    return user_id, password or ""


async def disable_staff_member(db: Db, staff: Staff, user_id: int, now: datetime) -> None:
    authz.require(staff, "manage_staff")
    if user_id == staff.user_id:
        raise Invalid("You cannot disable your own account.", "user")
    async with db.transaction() as conn:
        if await conn.fetchval("SELECT municipality_code FROM staff WHERE user_id = $1", user_id) != staff.municipality:
            raise NotFound("There is no such civil servant in your municipality.")
        await conn.execute("UPDATE users SET disabled_at = $2 WHERE id = $1", user_id, now)
        await accounts.end_sessions_of(conn, user_id)
        await bo.audit(conn, staff.municipality, staff.user_id, "disable_staff", None, {"user": user_id}, now)
