"""Filing a challenge and taking an action on it: authorisation, the workflow
engine and persistence, each action in one transaction."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime, timezone
from typing import Any

import msgspec

from registry import workflow
from registry.db import Db
from registry.inputs import Filing
from registry.errors import Forbidden, Invalid, NotFound, StaleVersion
from registry.notifications import steps as step_notifications
from registry.portal import rules as portal_rules
from registry.store import catalog, challenges, events
from registry.store.tokens import Actor

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


_decode_settings = msgspec.json.Decoder(workflow.Settings).decode


def _authorise(actor: Actor, municipality: str, collective_id: int) -> None:
    if actor.municipality != municipality:
        raise Forbidden(f"Your token is for {actor.municipality}; this challenge belongs to {municipality}.")
    if actor.role == "collective" and actor.collective_id != collective_id:
        raise Forbidden("Only the collective that filed this challenge may act for it.")


def _snapshot(row: Mapping[str, Any]) -> dict[str, Any]:
    """The particulars a submission records in the public chain."""
    return {
        "title": row["title"],
        "summary": row["summary"],
        "plan": row["plan"],
        "requested_budget_cents": row["requested_budget_cents"],
        "area": row["area"],
        "proposed_start": row["proposed_start"],
        "duration_months": row["duration_months"],
        "service": row["service_id"],
        "collective": row["collective_id"],
    }


async def file(db: Db, actor: Actor, filing: Filing, now: datetime, actor_label: str = "") -> str:
    """A collective files a draft (and submits it at once if asked). Returns the reference."""
    if actor.role != "collective" or actor.collective_id is None:
        raise Forbidden("Only a collective can file a challenge.")
    for name in ("title", "summary", "plan", "area"):
        if not getattr(filing, name).strip():
            raise Invalid(f"The {name} must not be blank.", name)
    async with db.transaction() as conn:
        service = await catalog.get_service(conn, filing.service)
        if service is None or service["municipality_code"] != actor.municipality:
            raise Invalid(f"There is no service {filing.service} in {actor.municipality}.", "service")
        if not service["challengeable"]:
            reason = service["exclusion_reason"] or "excluded by the municipality"
            raise Invalid(f"The service '{service['name']}' cannot be challenged: {reason}.", "service")
        ref = await challenges.next_reference(conn, actor.municipality, now.year)
        draft = workflow.ChallengeState()
        challenge_id = await challenges.insert_draft(
            conn,
            ref=ref,
            municipality=actor.municipality,
            service_id=filing.service,
            collective_id=actor.collective_id,
            title=filing.title,
            summary=filing.summary,
            plan=filing.plan,
            requested_budget_cents=filing.requested_budget_cents,
            area=filing.area,
            proposed_start=filing.proposed_start,
            duration_months=filing.duration_months,
            state=draft,
            now=now,
        )
        if filing.submit:
            row = await challenges.lock_for_action(conn, ref)
            await _take(conn, actor, row, "submit", {}, now, actor_label)
    return ref


async def act(
    db: Db,
    actor: Actor,
    ref: str,
    action: str,
    expected_version: int,
    fields: Mapping[str, Any],
    now: datetime,
    actor_label: str = "",
) -> None:
    """Take one workflow action: lock, check the version, let the engine decide,
    update the challenge and append the event — all or nothing."""
    async with db.connection() as conn:
        await act_on(conn, actor, ref, action, expected_version, fields, now, actor_label)


async def act_on(
    conn,
    actor: Actor,
    ref: str,
    action: str,
    expected_version: int,
    fields: Mapping[str, Any],
    now: datetime,
    actor_label: str = "",
) -> None:
    """``act`` on a connection the caller holds (and may reuse after commit)."""
    async with conn.transaction():
        row = await challenges.lock_for_action(conn, ref)
        if row is None or (row["state"] == "draft" and actor.collective_id != row["collective_id"]):
            raise NotFound(f"There is no challenge {ref}.")
        _authorise(actor, row["municipality_code"], row["collective_id"])
        if row["version"] != expected_version:
            raise StaleVersion(
                f"The challenge is at version {row['version']}, not {expected_version}:"
                " someone acted on it in the meantime. Reload it and try again.",
                "expected_version",
            )
        await _take(conn, actor, row, action, fields, now, actor_label)


async def _take(
    conn, actor: Actor, row, action: str, fields: Mapping[str, Any], now: datetime, actor_label: str = ""
) -> None:
    """``actor_label`` privately records who acted when there is no token (a
    portal member: ``user:<id>``); it goes to event_actors, never public."""
    state = msgspec.json.decode(row["workflow"], type=workflow.ChallengeState)
    settings = _decode_settings(row["settings"])
    if action == "submit":
        fields = {**_snapshot(row), **fields}
    transition = workflow.take(state, action, actor.role, fields, now, settings)
    if action == "declare_admissible":
        # A municipality may require a minimum support before assessment (the portal's rules).
        await portal_rules.check_minimum_support(conn, row["id"], row["municipality_code"])
    await challenges.apply_transition(conn, row["id"], transition)
    event_id, _, _ = await events.append(
        conn,
        municipality=row["municipality_code"],
        challenge_id=row["id"],
        challenge_ref=row["ref"],
        event=transition.event,
        token_id=actor.token_id,
        actor_label=actor_label,
    )
    # Mail the collective's members and opted-in supporters, in this transaction (outbox).
    await step_notifications.after_step(conn, row, transition.event, event_id)
