"""The mail outbox against a real SMTP server on loopback: mail arrives; with
the server down nothing is lost and it is retried later; nothing is sent twice,
not even by concurrent workers."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import datetime, timedelta, timezone

from registry.notifications import delivery, outbox

from .conftest import Inbox, address

def _now() -> datetime:
    return datetime.now(timezone.utc) + timedelta(seconds=2)  # just after what the test queues


async def _queue(db, n: int, **kw) -> list[str]:
    to = [address("mail") for _ in range(n)]
    async with db.transaction() as conn:
        for i, a in enumerate(to):
            assert await outbox.enqueue(conn, to=a, subject=f"Onderwerp {i}", text=f"Tekst {i}", **kw)
    return to


async def _drain(db, settings, now) -> None:
    while (await delivery.deliver_pending(db, settings, now)).sent:
        pass


async def test_mail_arrives_once(db, mail_settings, smtp_server):
    NOW = _now()
    to = await _queue(db, 3, html="<p>HTML</p>", locale="en")
    await _drain(db, mail_settings, NOW)
    for a in to:
        [msg] = smtp_server.inbox.to(a)
        assert msg["From"] == "Registry <noreply@registry.test>"
        assert msg["Message-ID"].startswith("<outbox-")
        assert Inbox.text(msg).startswith("Tekst")
        assert msg["Content-Language"] == "en"
        assert "<p>HTML</p>" in msg.get_body(("html",)).get_content()
    async with db.connection() as conn:
        rows = await conn.fetch("SELECT sent_at, attempts FROM outbox WHERE to_address = ANY($1)", to)
    assert all(r["sent_at"] is not None and r["attempts"] == 1 for r in rows)
    # Running the worker again sends nothing again.
    await _drain(db, mail_settings, NOW + timedelta(days=3))
    assert all(len(smtp_server.inbox.to(a)) == 1 for a in to)


async def test_server_down_loses_nothing_and_retries_later(db, mail_settings, smtp_server):
    NOW = _now()
    smtp_server.stop()
    to = await _queue(db, 2)
    report = await delivery.deliver_pending(db, mail_settings, NOW)
    assert report.sent == 0 and report.failed >= 2
    async with db.connection() as conn:
        rows = await conn.fetch(
            "SELECT attempts, next_attempt_at, last_error, sent_at FROM outbox WHERE to_address = ANY($1)", to
        )
    assert all(r["sent_at"] is None and r["attempts"] == 1 and r["last_error"] for r in rows)
    assert all(r["next_attempt_at"] >= NOW + delivery.backoff(1) for r in rows)
    # Not yet due: the back-off holds even when the server is back.
    smtp_server.start()
    await delivery.deliver_pending(db, mail_settings, NOW + timedelta(seconds=10))
    assert not any(smtp_server.inbox.to(a) for a in to)
    # Later, it goes out, once.
    await _drain(db, mail_settings, NOW + timedelta(minutes=10))
    assert all(len(smtp_server.inbox.to(a)) == 1 for a in to)


async def test_concurrent_workers_never_send_twice(db, mail_settings, smtp_server):
    NOW = _now()
    to = await _queue(db, 40)
    later = NOW + timedelta(hours=1)
    await asyncio.gather(*[delivery.deliver_pending(db, mail_settings, later, limit=7) for _ in range(6)])
    await _drain(db, mail_settings, later)
    assert sorted(len(smtp_server.inbox.to(a)) for a in to) == [1] * 40


async def test_dedupe_key_and_rollback(db, mail_settings, smtp_server):
    NOW = _now()
    key = f"test:{address()}"
    a = address("dedupe")
    async with db.transaction() as conn:
        first = await outbox.enqueue(conn, to=a, subject="Een", text="x", dedupe_key=key)
        again = await outbox.enqueue(conn, to=a, subject="Twee", text="y", dedupe_key=key)
    assert isinstance(first, int) and again is None
    b = address("rolledback")
    try:
        async with db.transaction() as conn:
            await outbox.enqueue(conn, to=b, subject="Nooit", text="z")
            raise RuntimeError("the change fails")
    except RuntimeError:
        pass
    await _drain(db, mail_settings, NOW + timedelta(hours=2))
    assert [m["Subject"] for m in smtp_server.inbox.to(a)] == ["Een"]
    assert smtp_server.inbox.to(b) == []


async def test_subject_is_one_line(db, mail_settings, smtp_server):
    NOW = _now()
    a = address("inject")
    async with db.transaction() as conn:
        await outbox.enqueue(conn, to=a, subject="Hallo\r\nBcc: victim@example.nl", text="x")
    await _drain(db, mail_settings, NOW + timedelta(hours=3))
    [msg] = smtp_server.inbox.to(a)
    assert msg["Bcc"] is None and msg["Subject"] == "Hallo Bcc: victim@example.nl"


async def test_without_smtp_mail_goes_to_a_folder(db, settings, tmp_path):
    NOW = _now()
    offline = dataclasses.replace(settings, smtp_host="", data_dir=tmp_path)
    to = await _queue(db, 1)
    await _drain(db, offline, NOW + timedelta(hours=4))
    files = list((tmp_path / "mail").glob("*.eml"))
    assert any(f"To: {to[0]}" in f.read_text() for f in files)


async def test_permanent_refusal_gives_up(db, mail_settings, smtp_server):
    NOW = _now()
    class Refuse(Inbox):
        async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
            return "550 no such user"

    smtp_server.stop()
    smtp_server.inbox = Refuse()
    smtp_server.start()
    to = await _queue(db, 1)
    await delivery.deliver_pending(db, mail_settings, NOW + timedelta(hours=5))
    async with db.connection() as conn:
        row = await conn.fetchrow("SELECT failed_at, last_error FROM outbox WHERE to_address = $1", to[0])
    assert row["failed_at"] is not None and "550" in row["last_error"]
