"""Delivering the outbox: over SMTP (the standard library's smtplib, in a
thread), or — without REGISTRY_SMTP_HOST — into DATA_DIR/mail/ as .eml files
so that the demo works offline.

At most once per worker claim, retried with exponential back-off: a row is
claimed (its next attempt moved ahead by a lease) before it is sent and marked
sent right after, so a mail server that is down loses nothing and a second
worker never sends the same row. Only a crash between the server's "250 OK"
and the mark could repeat a mail; its stable Message-ID lets mail systems drop
the duplicate."""

from __future__ import annotations

import asyncio
import logging
import os
import smtplib
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from pathlib import Path

from registry.db import Db
from registry.notifications import outbox
from registry.settings import Settings

log = logging.getLogger("registry.mail")

BATCH = 50
LEASE_S = 300  # a claimed mail is someone's for 5 minutes
MAX_ATTEMPTS = 12  # about 2 days with the back-off below
PERMANENT = (550, 551, 552, 553, 554)


def backoff(attempts: int) -> timedelta:
    """1, 2, 4, … minutes after the n-th failed attempt, at most 6 hours."""
    return timedelta(seconds=min(60 * 2 ** max(attempts - 1, 0), 6 * 3600))


@dataclass
class Report:
    sent: int = 0
    failed: int = 0
    gave_up: int = 0


def build_message(row, settings: Settings) -> EmailMessage:
    msg = EmailMessage()
    sender = settings.smtp_from
    domain = parseaddr(sender)[1].rpartition("@")[2] or "registry.invalid"
    msg["From"] = sender
    msg["To"] = row["to_address"]
    msg["Subject"] = row["subject"]
    msg["Date"] = format_datetime(row["created_at"] or datetime.now(timezone.utc))
    # Stable per outbox row: a repeated delivery is recognisable as the same mail.
    msg["Message-ID"] = f"<outbox-{row['id']}@{domain}>"
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(row["body_text"])
    if row["body_html"]:
        msg.add_alternative(row["body_html"], subtype="html")
    msg["Content-Language"] = row["locale"]  # after the body: set_content drops Content-* headers
    return msg


class _SmtpBatch:
    """One SMTP connection for a batch of mails (runs in a thread)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.smtp: smtplib.SMTP | None = None

    def open(self) -> None:
        s = self.settings
        smtp = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=20)
        try:
            smtp.ehlo()
            if s.smtp_starttls:
                smtp.starttls()
                smtp.ehlo()
            if s.smtp_user:
                smtp.login(s.smtp_user, s.smtp_password)
        except BaseException:
            smtp.close()
            raise
        self.smtp = smtp

    def send(self, msg: EmailMessage) -> None:
        assert self.smtp is not None
        self.smtp.send_message(msg)

    def close(self) -> None:
        if self.smtp is not None:
            try:
                self.smtp.quit()
            except (smtplib.SMTPException, OSError):
                self.smtp.close()


def write_eml(directory: Path, mail_id: int, msg: EmailMessage) -> Path:
    """Write atomically; a file that exists already means it was delivered."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{mail_id:08d}.eml"
    if not path.exists():
        tmp = directory / f".{mail_id}.{os.getpid()}.tmp"
        tmp.write_bytes(bytes(msg))
        os.replace(tmp, path)
    return path


def mail_dir(settings: Settings) -> Path:
    return settings.data_dir / "mail"


def _permanent(exc: BaseException) -> bool:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(code in PERMANENT for code, _ in exc.recipients.values())
    code = getattr(exc, "smtp_code", None)
    return code in PERMANENT


async def deliver_pending(db: Db, settings: Settings, now: datetime | None = None, limit: int = BATCH) -> Report:
    """Send what is due now, one batch. Returns what happened."""
    now = now or datetime.now(timezone.utc)
    report = Report()
    async with db.connection() as conn:
        rows = await outbox.claim(conn, now, limit, LEASE_S)
    if not rows:
        return report

    async def failed(row, exc: BaseException) -> None:
        error = f"{type(exc).__name__}: {exc}"
        give_up = _permanent(exc) or row["attempts"] >= MAX_ATTEMPTS
        next_at = None if give_up else now + backoff(row["attempts"])
        async with db.connection() as conn:
            await outbox.mark_failed_attempt(conn, row["id"], error, next_at, now)
        report.gave_up += give_up
        report.failed += not give_up
        log.warning("mail %s to the outbox's recipient failed (attempt %s): %s", row["id"], row["attempts"], error)

    async def sent(row) -> None:
        async with db.connection() as conn:
            await outbox.mark_sent(conn, row["id"], datetime.now(timezone.utc))
        report.sent += 1

    if not settings.smtp_host:
        for row in rows:
            try:
                await asyncio.to_thread(write_eml, mail_dir(settings), row["id"], build_message(row, settings))
            except OSError as exc:
                await failed(row, exc)
            else:
                await sent(row)
        return report

    batch = _SmtpBatch(settings)
    try:
        await asyncio.to_thread(batch.open)
    except (smtplib.SMTPException, OSError) as exc:
        for row in rows:
            await failed(row, exc)
        return report
    try:
        for row in rows:
            try:
                await asyncio.to_thread(batch.send, build_message(row, settings))
            except (smtplib.SMTPException, OSError) as exc:
                await failed(row, exc)
                if isinstance(exc, (smtplib.SMTPServerDisconnected, OSError)):
                    # The connection is gone: the rest waits for the next round.
                    for rest in rows[rows.index(row) + 1 :]:
                        await failed(rest, exc)
                    break
            else:
                await sent(row)
    finally:
        await asyncio.to_thread(batch.close)
    return report
