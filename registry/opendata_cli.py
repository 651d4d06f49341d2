"""``registry export``, ``registry verify`` and ``registry checkpoint``."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path


def _settings():
    from registry.settings import Settings

    return Settings()


async def _connect(url: str | None):
    import asyncpg

    from registry import db as dbmod

    conn = await asyncpg.connect(url or dbmod.resolve_url(_settings()))
    await conn.execute("SET TIME ZONE 'UTC'")
    return conn


def cmd_export(args: argparse.Namespace) -> int:
    from concurrent.futures.process import BrokenProcessPool

    import asyncpg

    from registry import db as dbmod
    from registry.challenges import utcnow
    from registry.opendata import dump

    settings = _settings()
    root = Path(args.directory) if args.directory else settings.data_dir / "exports"
    url = args.database_url or dbmod.resolve_url(settings)

    async def run() -> Path:
        conn = await _connect(url)
        try:
            return await dump.write(
                conn, root, base=settings.base_url.rstrip("/"), prefix=settings.ocid_prefix, now=utcnow(),
                workers=dump.default_workers() if args.workers is None else args.workers, database_url=url,
            )
        finally:
            await conn.close()

    try:
        path = asyncio.run(run())
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, BrokenProcessPool) as e:
        print(f"error: the export failed: {e}", file=sys.stderr)
        return 1
    print(f"wrote {path}")
    return 0


def _at_least(minimum: int):
    """An argparse type: a whole number of processes, at least ``minimum``."""

    def parse(text: str) -> int:
        if not text.isdigit() or int(text) < minimum:
            raise argparse.ArgumentTypeError(f"expected a whole number of processes ({minimum} or more), got {text!r}")
        return int(text)

    return parse


def cmd_verify(args: argparse.Namespace) -> int:
    from concurrent.futures.process import BrokenProcessPool

    import asyncpg

    from registry import db as dbmod
    from registry.opendata import verify

    try:
        trusted = verify.load_trusted_keys(Path(args.trusted_keys)) if args.trusted_keys else None
    except verify.TrustedKeysError as exc:
        print(f"error: --trusted-keys: {exc}", file=sys.stderr)
        return 2
    workers = args.workers or os.cpu_count() or 1
    source = args.source
    try:
        if source and (source.startswith("http://") or source.startswith("https://")):
            report = verify.verify_url(source, workers=workers, trusted=trusted)
        elif source:
            path = Path(source)
            if not path.is_dir():
                print(f"error: {source} is neither a dump directory nor an http(s) URL", file=sys.stderr)
                return 2
            report = verify.verify_dump(path, workers=workers, trusted=trusted)
        else:
            url = args.database_url or dbmod.resolve_url(_settings())

            async def run():
                conn = await _connect(url)
                try:
                    return await verify.verify_database(conn, url=url, workers=workers, trusted=trusted)
                finally:
                    await conn.close()

            report = asyncio.run(run())
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, BrokenProcessPool) as exc:  # URLError is an OSError
        print(f"error: cannot verify {source or 'the database'}: {exc}", file=sys.stderr)
        return 2
    print(report.summary())
    return 0 if report.ok else 1


def cmd_checkpoint(args: argparse.Namespace) -> int:
    from registry.challenges import utcnow
    from registry.opendata import checkpoints

    settings = _settings()
    key = checkpoints.load_or_create_key(checkpoints.key_path(settings))

    async def run():
        conn = await _connect(args.database_url)
        try:
            cid = await checkpoints.make(conn, key, utcnow())
            return (await checkpoints.list_after(conn, cid - 1, 1))[0]
        finally:
            await conn.close()

    cp = asyncio.run(run())
    heads = cp.payload["heads"]
    print(f"checkpoint {cp.id} at {cp.created_at}, key {cp.key_id}, {len(heads)} chain(s):")
    for code, head in heads.items():
        print(f"  {code} #{head['seq']} {head['hash']}")
    return 0


def register_cli(subparsers) -> None:
    e = subparsers.add_parser("export", help="write a complete, dated dump with a manifest of SHA-256 checksums")
    e.add_argument("directory", nargs="?", help="where to write it (default: DATA_DIR/exports, which the API lists)")
    e.add_argument("--database-url", help="default: REGISTRY_DATABASE_URL or the embedded server")
    e.add_argument(
        "--workers", type=_at_least(0), default=None,
        help="processes that write the OCDS packages, each with its own connection in the dump's snapshot, while "
        "this one writes the rest; 0: all in this process (default: the number of CPUs, at most 2)",
    )  # fmt: skip
    e.set_defaults(fn=cmd_export)

    v = subparsers.add_parser(
        "verify", help="recompute every hash, chain link and checkpoint signature; exit 1 and name the first bad event"
    )
    v.add_argument("source", nargs="?", help="a dump directory or a registry URL (default: the database)")
    v.add_argument("--database-url", help="default: REGISTRY_DATABASE_URL or the embedded server")
    v.add_argument(
        "--trusted-keys", metavar="FILE",
        help="a ledger-keys.json (as served at /api/v1/ledger/keys) that you obtained earlier or elsewhere: only "
        "checkpoints signed by its keys count as signed, and one signed by a key that the source serves but FILE "
        "does not list is reported. Without it, the keys are taken from the source itself (docs/ledger.md)",
    )  # fmt: skip
    v.add_argument("--workers", type=_at_least(1), metavar="N", help="processes that check events in parallel (default: one per CPU)")
    v.set_defaults(fn=cmd_verify)

    c = subparsers.add_parser("checkpoint", help="sign a checkpoint of every municipality's chain head now")
    c.add_argument("--database-url", help="default: REGISTRY_DATABASE_URL or the embedded server")
    c.set_defaults(fn=cmd_checkpoint)
