"""The contact relay: a logged-in resident writes to an initiative; the
registry mails the message to the initiative's private contact address. The
mail carries neither the resident's address nor name; the contact may answer
once through a one-time link, and that answer is mailed to the resident the
same way. Neither side ever learns the other's address.

Rate-limited per resident and per initiative; residents need a confirmed
address (so that an answer cannot be steered to someone else's mailbox).
Messages are private rows (initiative_messages)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

import asyncpg

from registry.accounts import SessionUser, hit_rate_limit
from registry.web.i18n import N_
from registry.errors import Forbidden, Invalid, NotFound
from registry.initiatives import store

MAX_MESSAGE = 5000
REPLY_TTL = timedelta(days=30)
PER_SENDER = (5, 3600)  # messages per window (s) per resident
PER_INITIATIVE = (30, 86400)  # messages per window (s) per initiative


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def _body(value: str) -> str:
    text = (value or "").replace("\x00", "").strip()
    if not text:
        raise Invalid(N_("Write your message."), "message")
    if len(text) > MAX_MESSAGE:
        raise Invalid(N_("Use at most 5,000 characters."), "message")
    return text


async def send(
    conn: asyncpg.Connection, collective_id: int, sender: SessionUser, message: str, base: str, now: datetime
) -> int:
    """Queue the relayed mail (in the caller's transaction); returns the message id."""
    from registry.notifications.outbox import enqueue

    text = _body(message)
    if not sender.confirmed:
        raise Forbidden(N_("Confirm your e-mail address first; the link is in the mail we sent when you registered."))
    await hit_rate_limit(conn, f"initiative-relay:user:{sender.id}", PER_SENDER[0], PER_SENDER[1], now)
    await hit_rate_limit(conn, f"initiative-relay:to:{collective_id}", PER_INITIATIVE[0], PER_INITIATIVE[1], now)
    row = await conn.fetchrow(
        "SELECT i.name, cc.email FROM initiatives i JOIN collective_contacts cc ON cc.collective_id = i.collective_id"
        " WHERE i.collective_id = $1 AND i.hidden_at IS NULL",
        collective_id,
    )
    if row is None:
        raise NotFound(f"Initiative {collective_id} cannot be reached through the registry.")
    token = secrets.token_urlsafe(32)
    async with conn.transaction():
        message_id = await conn.fetchval(
            "INSERT INTO initiative_messages (collective_id, sender_user_id, body, reply_token_hash, created_at)"
            " VALUES ($1, $2, $3, $4, $5) RETURNING id",
            collective_id,
            sender.id,
            text,
            _digest(token),
            now,
        )
        link = f"{base}/initiatives/replies/{token}"
        await enqueue(
            conn,
            to=row["email"],
            subject=f"Bericht via het register voor {row['name']} / Message for {row['name']}",
            text=(
                f"Een bewoner stuurt {row['name']} dit bericht via het Uitdaagrecht-register:\n\n"
                f"----\n{text}\n----\n\n"
                "Het e-mailadres van de afzender delen we niet, en het uwe ook niet.\n"
                f"Antwoorden kan één keer, binnen 30 dagen, via: {link}\n\n"
                f"A resident sent {row['name']} the message above through the registry. Neither address is shared;\n"
                f"answer once, within 30 days, at: {link}\n"
            ),
            dedupe_key=f"initiative-message:{message_id}",
        )
    return message_id


async def reply_target(conn: asyncpg.Connection, token: str, now: datetime) -> asyncpg.Record:
    """The message a reply link belongs to (for the reply form); Invalid when spent or expired."""
    if not token or len(token) > 200:
        raise Invalid(N_("This link is not valid."), "token")
    row = await conn.fetchrow(
        "SELECT m.id, m.collective_id, i.name, m.body, m.created_at FROM initiative_messages m"
        " JOIN initiatives i ON i.collective_id = m.collective_id"
        " WHERE m.reply_token_hash = $1 AND m.replied_at IS NULL AND m.created_at > $2",
        _digest(token),
        now - REPLY_TTL,
    )
    if row is None:
        raise Invalid(N_("This link is not valid any more: it was used already or it has expired."), "token")
    return row


async def reply(conn: asyncpg.Connection, token: str, message: str, base: str, now: datetime) -> None:
    """Relay the contact's one answer to the resident, by the resident's account address."""
    from registry.notifications.outbox import enqueue

    text = _body(message)
    async with conn.transaction():
        row = await conn.fetchrow(
            "UPDATE initiative_messages m SET replied_at = $2 FROM initiatives i, users u"
            " WHERE m.reply_token_hash = $1 AND m.replied_at IS NULL AND m.created_at > $3"
            " AND i.collective_id = m.collective_id AND u.id = m.sender_user_id"
            " RETURNING m.id, m.collective_id, i.name, u.email, u.locale",
            _digest(token),
            now,
            now - REPLY_TTL,
        )
        if row is None:
            raise Invalid(N_("This link is not valid any more: it was used already or it has expired."), "token")
        page = f"{base}/initiatives/{row['collective_id']}"
        if row["locale"] == "en":
            subject = f"{row['name']} answered your message"
            body = (f"{row['name']} answered the message you sent through the registry:\n\n----\n{text}\n----\n\n"
                    f"Your address was not shared. To write again, use the contact form: {page}/contact\n")
        else:
            subject = f"{row['name']} heeft uw bericht beantwoord"
            body = (f"{row['name']} antwoordt op het bericht dat u via het register stuurde:\n\n----\n{text}\n----\n\n"
                    f"Uw adres is niet gedeeld. Opnieuw schrijven kan via het contactformulier: {page}/contact\n")
        await enqueue(conn, to=row["email"], subject=subject, text=body, locale=row["locale"],
                      dedupe_key=f"initiative-reply:{row['id']}")


async def contact_known(conn: asyncpg.Connection, collective_id: int) -> bool:
    return (await store.contact_of(conn, collective_id)) is not None
