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

    @property
    def embedded(self) -> bool:
        return self.database_url is None
