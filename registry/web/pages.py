"""The public pages: the list of challenges with filters, and a challenge with
its plan, state, deadline and full timeline. No JavaScript needed."""

# No `from __future__ import annotations`: Litestar reads the types at runtime.
import json
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

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
from registry.web.markdown import render as markdown
from registry.workflow.fields import MAX_INT
from registry.workflow.grounds import GROUNDS

HERE = Path(__file__).parent
CODE = r"^GM[0-9]{4}$"
REF = r"^GM[0-9]{4}-[0-9]{4}-[0-9]{4,6}$"
PAGE_SIZE = 50


def euros(cents: int | None) -> str:
    if cents is None:
        return ""
    return "€ {:,.2f}".format(cents / 100)


def day(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00")) if "T" in value else date.fromisoformat(value)
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M UTC")
    return value.isoformat()


def humanise(name: str | None) -> str:
    return (name or "").replace("_", " ")


def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    # Every user-facing string goes through gettext; the catalogues for Dutch
    # and English are installed per request once the portal adds them.
    env.install_null_translations(newstyle=True)  # type: ignore[attr-defined]
    env.filters.update(euros=euros, day=day, markdown=markdown, humanise=humanise)
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
    municipality: Annotated[str | None, QueryParameter(pattern=CODE)] = None,
    state_name: Annotated[Literal[tuple(sorted(workflow.STATES))] | None, QueryParameter(name="state")] = None,  # type: ignore[valid-type]
    category: FromQuery[Literal[catalog.CATEGORIES] | None] = None,  # type: ignore[valid-type]
    cursor: Annotated[int | None, QueryParameter(ge=1, le=MAX_INT)] = None,
) -> Template:
    # An empty <select> submits "", which means "any".
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


ROUTES = [
    home,
    challenge_list,
    challenge_page,
    create_static_files_router(path="/static", directories=[HERE / "static"], include_in_schema=False),
]
