"""Portal fixtures: a real SMTP server on loopback (aiosmtpd) that keeps what
arrives, and helpers for pages with CSRF-protected forms."""

from __future__ import annotations

import dataclasses
import email
import email.policy
import re
import socket
import uuid
from html import unescape

import pytest
from aiosmtpd.controller import Controller


class Inbox:
    """What the SMTP server received, as parsed messages."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd handler hook
        msg = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        self.messages.append(msg)
        return "250 OK"

    def to(self, address: str) -> list[email.message.EmailMessage]:
        return [m for m in self.messages if m["To"] == address]

    @staticmethod
    def text(msg) -> str:
        return msg.get_body(("plain",)).get_content()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SmtpServer:
    def __init__(self) -> None:
        self.inbox = Inbox()
        self.port = free_port()
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


# --- a database of the portal's own -------------------------------------------------
# Any live server of the session (tests/browser) runs the mail worker on the
# session's database; the portal's tests deliver mail themselves, so they get
# a database no other worker reads.


async def _create_database(server_url: str, name: str) -> str:
    import asyncpg

    from registry import db as dbmod
    from tests.conftest import _with_database

    conn = await asyncpg.connect(server_url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    url = _with_database(server_url, name)
    await dbmod.migrate_url(url)
    return url


async def _drop_database(server_url: str, name: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(server_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture(scope="session")
async def portal_database_url(server_url):
    name = f"registry_portal_{uuid.uuid4().hex[:10]}"
    url = await _create_database(server_url, name)
    yield url
    await _drop_database(server_url, name)


@pytest.fixture(scope="session")
def settings(portal_database_url):
    from registry.settings import Settings
    from tests.conftest import BASE

    return Settings(database_url=portal_database_url, base_url=BASE, pool_max=10, db_timeout=5)


@pytest.fixture(scope="session")
async def db(settings, portal_database_url):
    from registry import db as dbmod

    pool = await dbmod.create_pool(portal_database_url, settings)
    yield dbmod.Db(pool, settings.db_timeout)
    await pool.close()


@pytest.fixture
def smtp_server():
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def mail_settings(settings, smtp_server, tmp_path):
    return dataclasses.replace(
        settings, smtp_host="127.0.0.1", smtp_port=smtp_server.port, smtp_starttls=False,
        smtp_from="Registry <noreply@registry.test>", data_dir=tmp_path,
    )


def address(prefix: str = "resident") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}@example.nl"


_CSRF = re.compile(r'name="_csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    m = _CSRF.search(html)
    assert m, "the page has no CSRF field"
    return unescape(m.group(1))


async def form_post(client, form_url: str, data: dict, post_url: str | None = None, **kw):
    """GET the form (for the CSRF cookie and field), then POST ``data`` with it."""
    page = await client.get(form_url)
    assert page.status_code == 200, (form_url, page.status_code, page.text[:500])
    return await client.post(post_url or form_url, data={**data, "_csrf_token": csrf_of(page.text)}, **kw)


PASSWORD = "correct horse battery"
_LINK = re.compile(r"https?://[^\s]+?(/(?:confirm|invite|password/reset)\?token=[A-Za-z0-9_\-]+)")


@pytest.fixture
async def app(settings, db, clock):
    from registry.app import create_app

    return create_app(settings, db=db, clock=clock, run_background=False)


def _browser(app, lang: str = "nl"):
    """A client from an address of its own, so that per-client rate limits
    (registration, login) do not add up across tests."""
    import random

    import httpx

    from tests.conftest import BASE

    ip = f"10.{random.randrange(256)}.{random.randrange(256)}.{random.randrange(1, 255)}"
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(ip, 40000)), base_url=BASE,
                             headers={"Accept-Language": lang})


@pytest.fixture
async def client(app):
    async with _browser(app) as c:
        yield c


@pytest.fixture
async def new_client(app):
    """Another browser: its own cookies, the same app."""
    clients = []

    def make(lang: str = "nl"):
        c = _browser(app, lang)
        clients.append(c)
        return c

    yield make
    for c in clients:
        await c.aclose()


async def last_mail(db, to: str):
    async with db.connection() as conn:
        return await conn.fetchrow(
            "SELECT id, subject, body_text, locale FROM outbox WHERE to_address = $1 ORDER BY id DESC LIMIT 1", to
        )


def link_in(text: str) -> str:
    m = _LINK.search(text)
    assert m, text
    return m.group(1)


async def sign_up(client, db, email: str | None = None, name: str = "Bewoner", confirm: bool = True) -> str:
    """Register, confirm through the mailed link, log in. Returns the address."""
    email = email or address()
    r = await form_post(client, "/register", {"display_name": name, "email": email, "password": PASSWORD,
                                              "password_again": PASSWORD})
    assert r.status_code == 200, r.text
    if confirm:
        mail = await last_mail(db, email)
        r = await client.get(link_in(mail["body_text"]))
        assert r.status_code == 200, r.text
    r = await form_post(client, "/login", {"email": email, "password": PASSWORD})
    assert r.status_code == 303, r.text
    return email
