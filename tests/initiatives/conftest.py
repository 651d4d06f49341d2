"""Helpers for the initiatives tests: profiles in a municipality of the test's own."""

from __future__ import annotations

import dataclasses
import email
import email.policy
import re
import socket
import uuid
from html import unescape
from datetime import datetime, timezone

import httpx
import pytest

from registry.initiatives import store
from registry.initiatives.profile import Profile

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=timezone.utc)
CONTACT = "marker-initiative-contact@example.invalid"


async def make_initiative(conn, municipality: str, name: str, *, contact: str = CONTACT, user_id=None, now=NOW, **fields) -> int:
    fields.setdefault("domains", ["other"])
    profile = Profile(name=name, **fields)
    return await store.create(
        conn, municipality=municipality, profile=profile, contact_name="MARKER-INITIATIVE-PERSON",
        contact_email=contact, member_user_id=user_id, now=now,
    )


def csrf_of(html: str) -> str:
    match = re.search(r'name="_csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF field on the page"
    return unescape(match.group(1))


async def post_form(client: httpx.AsyncClient, form_url: str, data: dict, post_url: str | None = None) -> httpx.Response:
    """GET the form (for the CSRF cookie and field), then POST it back."""
    page = await client.get(form_url)
    assert page.status_code == 200, page.text[:500]
    body = {**data, "_csrf_token": csrf_of(page.text)}
    return await client.post(post_url or form_url, data=body)


async def log_in(client: httpx.AsyncClient, db, *, confirmed: bool = True) -> tuple[int, str]:
    """A resident with a session cookie on ``client``; returns (user id, e-mail)."""
    from registry import accounts
    from registry.web.auth import SESSION_COOKIE
    from datetime import timedelta

    email = f"resident-{uuid.uuid4().hex[:8]}@example.nl"
    async with db.connection() as conn:
        user_id, token = await accounts.register(conn, email, "correct horse battery", "MARKER-RESIDENT-NAME", "nl", NOW)
        if confirmed:
            await accounts.confirm_email(conn, token, NOW)
        session = await accounts.create_session(conn, user_id, timedelta(days=1), datetime.now(timezone.utc))
    client.cookies.set(SESSION_COOKIE, session)
    return user_id, email


class Inbox:
    """What the loopback SMTP server received."""

    def __init__(self) -> None:
        self.messages: list = []

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd hook
        self.messages.append(email.message_from_bytes(envelope.original_content, policy=email.policy.default))
        return "250 OK"

    def to(self, address: str) -> list:
        return [m for m in self.messages if m["To"] == address]


@pytest.fixture
def smtp_inbox():
    from aiosmtpd.controller import Controller

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    inbox.port = port
    yield inbox
    controller.stop()


@pytest.fixture
def mail_settings(settings, smtp_inbox, tmp_path):
    return dataclasses.replace(settings, smtp_host="127.0.0.1", smtp_port=smtp_inbox.port, smtp_starttls=False,
                               smtp_from="Registry <noreply@registry.test>", data_dir=tmp_path)


async def deliver(db, mail_settings) -> None:
    from registry.notifications import delivery

    while (await delivery.deliver_pending(db, mail_settings, datetime.now(timezone.utc) + __import__("datetime").timedelta(minutes=1))).sent:
        pass
