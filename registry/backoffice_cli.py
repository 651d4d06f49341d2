"""`registry staff create`: the first admin of a municipality (and any other
civil servant) from the command line."""

from __future__ import annotations

import argparse
import asyncio

from registry.backoffice.authz import ROLES


def cmd_staff_create(args: argparse.Namespace) -> int:
    from registry.backoffice import service
    from registry.cli import _with_conn
    from registry.errors import Invalid

    departments = tuple(d.strip() for d in (args.department or []) if d.strip())

    async def run(conn):
        return await service.create_staff(
            conn, args.email, args.role, args.municipality, args.password, args.name, departments
        )

    try:
        user_id, password = asyncio.run(_with_conn(run))
    except Invalid as exc:
        raise SystemExit(f"error: {exc.detail}") from None
    print(f"civil servant {args.email} ({args.role}, {args.municipality}) is user {user_id}")
    if args.password is None and password:
        print(f"password: {password}")
    elif args.password is None:
        print("an existing account: its password is unchanged")
    print("log in at /backoffice/login")
    return 0


def register_cli(subparsers) -> None:
    staff = subparsers.add_parser("staff", help="civil servants of the back office")
    sub = staff.add_subparsers(dest="staff_command", required=True)
    create = sub.add_parser("create", help="create a civil servant; prints a generated password unless one is given")
    create.add_argument("--email", required=True)
    create.add_argument("--role", required=True, choices=ROLES)
    create.add_argument("--municipality", required=True, metavar="CODE")
    create.add_argument("--password", help="at least 10 characters (default: generate one and print it)")
    create.add_argument("--name", default="", help="display name")
    create.add_argument("--department", action="append", help="limit to a department (repeatable)")
    create.set_defaults(fn=cmd_staff_create)
