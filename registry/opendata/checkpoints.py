"""Signed checkpoints of the ledger.

A checkpoint states every municipality's chain head (last ``seq`` and its
``hash``) at one moment, signed with the registry's Ed25519 key. Anyone who
keeps a checkpoint can later prove that an event it covers was removed or
changed. The signed bytes are documented in docs/ledger.md.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg
import msgspec
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from registry import ledger
from registry.settings import Settings

log = logging.getLogger("registry.checkpoints")

PAYLOAD_TYPE = "rtc-registry-ledger-checkpoint"
PAYLOAD_VERSION = 1
# Held while deciding whether a checkpoint is due and making it, so that
# several worker processes make one, not one each.
CHECKPOINT_LOCK = 0x52_43_43_50  # "RCCP"


def key_path(settings: Settings) -> Path:
    return settings.ledger_key_file or settings.data_dir / "ledger-key.pem"


def load_or_create_key(path: Path) -> Ed25519PrivateKey:
    """The signing key, created (mode 0600) on first use. Several processes
    may start at once: the file is created exclusively and the losers read it."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "wb") as f:
                f.write(pem)
            log.info("created a new ledger signing key in %s", path)
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} does not hold an Ed25519 private key")
    return key


def raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(public_raw: bytes) -> str:
    return hashlib.sha256(public_raw).hexdigest()[:16]


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


async def register_key(conn: asyncpg.Connection, key: Ed25519PrivateKey) -> str:
    raw = raw_public(key.public_key())
    kid = key_id(raw)
    await conn.execute(
        "INSERT INTO ledger_keys (key_id, public_key) VALUES ($1, $2) ON CONFLICT (key_id) DO NOTHING", kid, b64(raw)
    )
    return kid


def payload(created_at: datetime, kid: str, heads: list[asyncpg.Record]) -> dict[str, Any]:
    return {
        "type": PAYLOAD_TYPE,
        "version": PAYLOAD_VERSION,
        "created_at": ledger.format_time(created_at),
        "key_id": kid,
        "heads": {h["municipality_code"]: {"seq": h["seq"], "hash": h["hash"]} for h in heads},
    }


async def make(conn: asyncpg.Connection, key: Ed25519PrivateKey, now: datetime, *, if_older_than_s: float | None = None) -> int | None:
    """Make a checkpoint of the current heads; returns its id. With
    ``if_older_than_s``, only when the latest one is older than that (and
    None otherwise, or when another process holds the lock right now)."""
    async with conn.transaction():
        if not await conn.fetchval("SELECT pg_try_advisory_xact_lock($1)", CHECKPOINT_LOCK):
            if if_older_than_s is not None:
                return None
            await conn.execute("SELECT pg_advisory_xact_lock($1)", CHECKPOINT_LOCK)
        if if_older_than_s is not None:
            due = await conn.fetchval(
                "SELECT coalesce(max(created_at) < $1::timestamptz - make_interval(secs => $2), true)"
                " FROM ledger_checkpoints",
                now,
                if_older_than_s,
            )
            if not due:
                return None
        kid = await register_key(conn, key)
        # One statement: a consistent snapshot of every head (a writer updates
        # its head in the same transaction as it inserts the event).
        heads = await conn.fetch("SELECT municipality_code, seq, hash FROM ledger_heads ORDER BY municipality_code")
        signed = ledger.canonical(payload(now, kid, heads))
        signature = key.sign(signed)
        return await conn.fetchval(
            "INSERT INTO ledger_checkpoints (created_at, key_id, signed, signature) VALUES ($1, $2, $3, $4) RETURNING id",
            now,
            kid,
            signed.decode(),
            b64(signature),
        )


class CheckpointView(msgspec.Struct, frozen=True):
    """A checkpoint: ``payload`` is ``signed`` parsed; the signature is over
    the UTF-8 bytes of ``signed`` (which is the canonical JSON of ``payload``)."""

    id: int
    created_at: str
    key_id: str
    algorithm: str
    payload: dict[str, Any]
    signed: str
    signature: str


class KeyView(msgspec.Struct, frozen=True):
    key_id: str
    algorithm: str
    public_key: str
    public_key_pem: str
    first_used_at: str
    current: bool


CHECKPOINT_COLUMNS = "id, created_at, key_id, signed, signature"


def view(row) -> CheckpointView:
    return CheckpointView(
        id=row["id"],
        created_at=ledger.format_time(row["created_at"]),
        key_id=row["key_id"],
        algorithm="Ed25519",
        payload=msgspec.json.decode(row["signed"]),
        signed=row["signed"],
        signature=row["signature"],
    )


async def list_after(conn: asyncpg.Connection, after: int, limit: int) -> list[CheckpointView]:
    rows = await conn.fetch(
        f"SELECT {CHECKPOINT_COLUMNS} FROM ledger_checkpoints WHERE id > $1 ORDER BY id LIMIT $2", after, limit
    )
    return [view(r) for r in rows]


async def latest(conn: asyncpg.Connection) -> CheckpointView | None:
    row = await conn.fetchrow(f"SELECT {CHECKPOINT_COLUMNS} FROM ledger_checkpoints ORDER BY id DESC LIMIT 1")
    return view(row) if row else None


def pem_of(public_raw: bytes) -> str:
    return (
        Ed25519PublicKey.from_public_bytes(public_raw)
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


async def keys(conn: asyncpg.Connection, current: str | None) -> list[KeyView]:
    rows = await conn.fetch("SELECT key_id, algorithm, public_key, first_used_at FROM ledger_keys ORDER BY first_used_at, key_id")
    return [
        KeyView(
            key_id=r["key_id"],
            algorithm=r["algorithm"],
            public_key=r["public_key"],
            public_key_pem=pem_of(base64.b64decode(r["public_key"])),
            first_used_at=ledger.format_time(r["first_used_at"]),
            current=r["key_id"] == current,
        )
        for r in rows
    ]


def signature_ok(public_key_b64: str, signed: str, signature_b64: str) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key_b64)).verify(
            base64.b64decode(signature_b64), signed.encode("utf-8")
        )
        return True
    except (InvalidSignature, ValueError, TypeError):
        return False


def current_key(app_state) -> Ed25519PrivateKey:
    """The app's key, loaded (or created) once per process."""
    key = app_state.get("ledger_key")
    if key is None:
        key = app_state.ledger_key = load_or_create_key(key_path(app_state.settings))
    return key
