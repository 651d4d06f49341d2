"""The registry's areas beyond the foundation, each wired in one place.

An area may contribute:
- ``API_ROUTES``: handlers mounted under /api/v1 (see registry.api.<area>),
- ``PAGE_ROUTES``: page handlers (see registry.web.<area>_pages),
- ``register_cli(subparsers)``: subcommands of the ``registry`` command,
- ``async def seed(conn) -> list[str]`` in ``registry.<area>_demo``: the area's
  part of ``registry seed --demo`` (runs after the foundation's demo data;
  returns lines to print, e.g. demo log-ins),
- ``BACKGROUND``: coroutine functions ``async def task(app) -> None`` run for the
  app's lifetime (each must survive database outages and be safe to run in
  several worker processes at once).
"""

from __future__ import annotations

import importlib
from types import ModuleType

AREAS = ("opendata", "portal", "backoffice", "initiatives")


def modules(kind: str) -> list[ModuleType]:
    """The modules of every area for ``kind`` ('api', 'web', 'cli', 'tasks') that exist."""
    found = []
    for area in AREAS:
        name = {
            "api": f"registry.api.{area}",
            "web": f"registry.web.{area}_pages",
            "cli": f"registry.{area}_cli",
            "tasks": f"registry.{area}_tasks",
            "demo": f"registry.{area}_demo",
        }[kind]
        try:
            found.append(importlib.import_module(name))
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
    return found


def api_routes() -> list:
    return [r for m in modules("api") for r in getattr(m, "ROUTES", [])]


def page_routes() -> list:
    return [r for m in modules("web") for r in getattr(m, "ROUTES", [])]


def background_tasks() -> list:
    return [t for m in modules("tasks") for t in getattr(m, "BACKGROUND", [])]


def demo_seeders() -> list:
    return [m.seed for m in modules("demo")]


def register_cli(subparsers) -> None:
    for m in modules("cli"):
        m.register_cli(subparsers)
