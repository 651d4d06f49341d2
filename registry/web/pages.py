"""The public pages: the list of challenges with filters, a challenge with
its plan, state, deadline and full timeline, and the accessibility statement.
No JavaScript needed; every page in Dutch and English (registry.web.i18n)."""

# No `from __future__ import annotations`: Litestar reads the types at runtime.
import json
from datetime import date
from pathlib import Path
from typing import Annotated, Literal

from jinja2 import Environment, FileSystemLoader, select_autoescape
from litestar import Request, get
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.exceptions import NotFoundException
from litestar.di import NamedDependency
from litestar.params import FromQuery, PathParameter, QueryParameter
from litestar.response import Redirect, Template
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig

from registry import public, workflow
from registry.db import Db
from registry.store import catalog, events
from registry.store import challenges as store
from registry.web import i18n
from registry.web.markdown import render as markdown
from registry.workflow.fields import MAX_INT
from registry.workflow.grounds import GROUNDS

HERE = Path(__file__).parent
CODE = r"^GM[0-9]{4}$"
ANY_CODE = r"^(GM[0-9]{4})?$"
REF = r"^GM[0-9]{4}-[0-9]{4}-[0-9]{4,6}$"
PAGE_SIZE = 50
# Update the date whenever the statement (templates/accessibility.html) changes.
ACCESSIBILITY_STATEMENT_DATE = date(2026, 11, 22)
ACCESSIBILITY_CONTACT = "toegankelijkheid@uitdaagrecht.example"


def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    # gettext per request (Dutch or English), `lang`, and the locale-aware
    # filters (money, date, datetime, day, number, label, ground).
    i18n.install(env)
    env.filters.update(markdown=markdown)
    env.globals.update(GROUNDS=GROUNDS, STATES=sorted(workflow.STATES), CATEGORIES=catalog.CATEGORIES)
    return env


def template_config() -> TemplateConfig:
    return TemplateConfig(instance=JinjaTemplateEngine.from_environment(environment()))


@get("/", include_in_schema=False)
async def home() -> Redirect:
    return Redirect("/challenges")


@get("/challenges", include_in_schema=False)
async def challenge_list(
    request: Request,
    db: NamedDependency[Db],
    # The filter form's empty options submit "", which means "any".
    municipality: Annotated[str | None, QueryParameter(pattern=ANY_CODE)] = None,
    state_name: Annotated[Literal[("", *sorted(workflow.STATES))] | None, QueryParameter(name="state")] = None,  # type: ignore[valid-type]
    category: FromQuery[Literal[("", *catalog.CATEGORIES)] | None] = None,  # type: ignore[valid-type]
    cursor: Annotated[int | None, QueryParameter(ge=1, le=MAX_INT)] = None,
) -> Template:
    flt = store.ListFilter(municipality=municipality or None, state=state_name or None, category=category or None)
    async with db.connection() as conn:
        rows = await store.public_list(conn, flt, cursor, PAGE_SIZE + 1)
        municipalities = await catalog.list_municipalities(conn)
    now = request.app.state.clock()
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    items = [public.summary(r, "", now) for r in rows]
    query = {k: v for k, v in (("municipality", municipality), ("state", state_name), ("category", category)) if v}
    next_cursor = rows[-1]["id"] if more else None
    return Template(
        "challenges.html",
        context={
            "items": items,
            "municipalities": municipalities,
            "filters": query,
            "next_cursor": next_cursor,
        },
    )


@get("/challenges/{ref:str}", include_in_schema=False)
async def challenge_page(request: Request, db: NamedDependency[Db], ref: Annotated[str, PathParameter(pattern=REF)]) -> Template:
    async with db.connection() as conn:
        row = await store.public_detail(conn, ref)
        if row is None:
            raise NotFoundException(f"There is no public challenge {ref}.")
        docs = await events.challenge_events(conn, row["id"])
    challenge = public.challenge(row, "", request.app.state.clock())
    timeline = [json.loads(d) for d in docs]
    return Template("challenge.html", context={"c": challenge, "timeline": timeline})


@get("/accessibility", include_in_schema=False)
async def accessibility() -> Template:
    """The accessibility statement, after the Dutch government's model."""
    return Template(
        "accessibility.html",
        context={"statement_date": ACCESSIBILITY_STATEMENT_DATE, "contact": ACCESSIBILITY_CONTACT},
    )


@get("/toegankelijkheid", include_in_schema=False)
async def toegankelijkheid() -> Redirect:
    return Redirect("/accessibility?lang=nl")


ROUTES = [
    home,
    accessibility,
    toegankelijkheid,
    challenge_list,
    challenge_page,
    create_static_files_router(path="/static", directories=[HERE / "static"], include_in_schema=False),
]
