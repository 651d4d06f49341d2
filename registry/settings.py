"""One settings object, read from ``REGISTRY_*`` environment variables."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _env(name: str, default: str) -> str:
    return os.environ.get(f"REGISTRY_{name}", default)


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str | None = field(default_factory=lambda: _env("DATABASE_URL", "") or None)
    """A PostgreSQL URL (``postgresql://user@host:5432/db``). Empty: start the embedded server."""

    data_dir: Path = field(default_factory=lambda: Path(_env("DATA_DIR", str(ROOT / "var"))))
    """Where the embedded PostgreSQL keeps its data (survives restarts)."""

    base_url: str = field(default_factory=lambda: _env("BASE_URL", "http://127.0.0.1:8000"))
    """The public address, used in absolute links (``next``, ``Link`` headers)."""

    pool_min: int = field(default_factory=lambda: int(_env("POOL_MIN", "2")))
    pool_max: int = field(default_factory=lambda: int(_env("POOL_MAX", "10")))
    """Connections per worker process."""

    db_timeout: float = field(default_factory=lambda: float(_env("DB_TIMEOUT", "3")))
    """Seconds to wait for a connection or a query before answering 503."""

    retry_after: int = field(default_factory=lambda: int(_env("RETRY_AFTER", "5")))
    """The ``Retry-After`` (seconds) sent with a 503 when the database is unreachable."""

    migrate_on_start: bool = field(default_factory=lambda: _env("MIGRATE_ON_START", "1") == "1")
    """Apply pending migrations when the server starts (under an advisory lock)."""

    secret_key: str = field(default_factory=lambda: _env("SECRET_KEY", ""))
    """Signs CSRF tokens. Empty: a random key kept in DATA_DIR/secret_key (shared by the workers)."""

    ledger_key_file: Path | None = field(
        default_factory=lambda: Path(_env("LEDGER_KEY_FILE", "")) if _env("LEDGER_KEY_FILE", "") else None
    )
    """The Ed25519 private key (PEM) that signs ledger checkpoints. Empty: ``DATA_DIR/ledger-key.pem``,
    created on first use."""

    ocid_prefix: str = field(default_factory=lambda: _env("OCID_PREFIX", "ocds-r2c0nl"))
    """The OCDS ocid prefix (``ocds-`` + 6 characters, registered with the OCDS helpdesk)."""

    smtp_host: str = field(default_factory=lambda: _env("SMTP_HOST", ""))
    """The mail server for outgoing mail. Empty: mails are written as .eml files into DATA_DIR/mail/."""

    smtp_port: int = field(default_factory=lambda: int(_env("SMTP_PORT", "587")))
    smtp_user: str = field(default_factory=lambda: _env("SMTP_USER", ""))
    smtp_password: str = field(default_factory=lambda: _env("SMTP_PASSWORD", ""))
    """Log-in at the mail server; empty: no AUTH."""

    smtp_from: str = field(default_factory=lambda: _env("SMTP_FROM", "Uitdaagrecht <noreply@uitdaagrecht.example>"))
    """The From: of every mail the registry sends."""

    smtp_starttls: bool = field(default_factory=lambda: _env("SMTP_STARTTLS", "1") == "1")
    """Upgrade the SMTP connection with STARTTLS (1) or not (0, e.g. a relay on localhost)."""

    @property
    def embedded(self) -> bool:
        return self.database_url is None

    @property
    def secure_cookies(self) -> bool:
        """Cookies are marked Secure when the registry is served over HTTPS."""
        return self.base_url.startswith("https://")

    def resolved_secret_key(self) -> str:
        if self.secret_key:
            return self.secret_key
        path = self.data_dir / "secret_key"
        if not path.exists():
            import secrets

            self.data_dir.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(secrets.token_urlsafe(48))
            tmp.chmod(0o600)
            try:
                os.link(tmp, path)  # fails if another process won: then both use its key
            except FileExistsError:
                pass
            finally:
                tmp.unlink()
        return path.read_text().strip()


