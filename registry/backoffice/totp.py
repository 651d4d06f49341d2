"""Time-based one-time passwords (RFC 6238, HMAC-SHA1, 6 digits, 30 s steps),
compatible with every authenticator app."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import struct
from datetime import datetime
from urllib.parse import quote

STEP = 30
DIGITS = 6


def new_secret() -> str:
    """160 random bits, base32 without padding (what authenticator apps expect)."""
    return base64.b32encode(secrets.token_bytes(20)).decode().rstrip("=")


def _key(secret: str) -> bytes:
    cleaned = secret.replace(" ", "").upper()
    return base64.b32decode(cleaned + "=" * (-len(cleaned) % 8))


def hotp(secret: str, counter: int) -> str:
    """RFC 4226."""
    digest = hmac.new(_key(secret), struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(value % 10**DIGITS).zfill(DIGITS)


def code_at(secret: str, moment: datetime) -> str:
    return hotp(secret, int(moment.timestamp()) // STEP)


def verify(secret: str, code: str, moment: datetime, window: int = 1) -> bool:
    """True when ``code`` is valid now or ``window`` steps around (clock drift)."""
    code = "".join(code.split())
    if not code.isdigit() or len(code) != DIGITS:
        return False
    counter = int(moment.timestamp()) // STEP
    return any(hmac.compare_digest(hotp(secret, counter + d), code) for d in range(-window, window + 1))


def grouped(secret: str) -> str:
    """The secret in groups of four, easier to type."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def otpauth_uri(secret: str, account: str, issuer: str = "Uitdaagrecht") -> str:
    return f"otpauth://totp/{quote(issuer)}:{quote(account)}?secret={secret}&issuer={quote(issuer)}&digits={DIGITS}&period={STEP}"
