"""Public statistics pages: one per municipality and one comparing them.
Charts are server-rendered SVG with a data table beside each; no JavaScript."""

# No `from __future__ import annotations`: Litestar reads the types at runtime.
from typing import Annotated, Any, Literal

from litestar import Request, get
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import PathParameter, QueryParameter
from litestar.response import Template

from registry.db import Db
from registry.opendata import stats
from registry.store import catalog
from registry.web.i18n import N_

CODE = r"^GM[0-9]{4}$"
STAGE_ORDER = (
    "submitted", "under_assessment", "information_requested", "accepted", "modification_proposed", "agreed",
    "in_operation", "evaluated", "inadmissible", "lapsed", "rejected", "ended", "returned", "withdrawn",
)  # fmt: skip
BAR_WIDTH = 360  # px of the longest bar


def bars(rows: list[tuple[str, float | None, str]]) -> list[dict[str, Any]]:
    """Rows of (label, value, text) with each bar's width scaled to the largest value."""
    top = max((v or 0 for _, v, _ in rows), default=0) or 1
    return [
        {"label": label, "value": value, "text": text, "width": round(BAR_WIDTH * (value or 0) / top, 1), "y": 8 + 28 * i}
        for i, (label, value, text) in enumerate(rows)
    ]


def _pct(share: float | None) -> str:
    return "–" if share is None else f"{share * 100:.0f} %"


def _days(value: float | None) -> str:
    return "–" if value is None else f"{value:.0f}"


def charts(s: stats.Stats) -> dict[str, list[dict[str, Any]]]:
    stages = sorted(s.states.items(), key=lambda kv: STAGE_ORDER.index(kv[0]) if kv[0] in STAGE_ORDER else 99)
    d, c = s.days_to_decision, s.deadline_compliance
    return {
        "stages": bars([(state, n, str(n)) for state, n in stages]),
        "decision": bars([(N_("Median"), d.median, _days(d.median)), (N_("90th percentile"), d.p90, _days(d.p90))]),
        "compliance": bars([(N_("Within the deadline"), c.within, str(c.within)), (N_("Late"), c.late, str(c.late))]),
        "grounds": bars([(code, n, str(n)) for code, n in s.rejection_grounds.items()]),
    }


Category = Literal[catalog.CATEGORIES]  # type: ignore[valid-type]


@get("/statistics", include_in_schema=False)
async def comparison(request: Request, db: NamedDependency[Db]) -> Template:
    now = request.app.state.clock()
    async with db.connection() as conn:
        municipalities = await catalog.municipality_names(conn)
        each, total = await stats.cached_by_municipality(request.app.state, conn, now)
        rows = [{"code": m["code"], "name": m["name"], "s": each[m["code"]]} for m in municipalities]
    with_decisions = [r for r in rows if r["s"].days_to_decision.decided]
    return Template(
        "opendata/comparison.html",
        context={
            "rows": rows,
            "total": total,
            "pct": _pct,
            "days": _days,
            "median_chart": bars([(r["name"], r["s"].days_to_decision.median, _days(r["s"].days_to_decision.median)) for r in with_decisions]),
            "compliance_chart": bars([
                (r["name"], r["s"].deadline_compliance.within_share, _pct(r["s"].deadline_compliance.within_share))
                for r in rows if r["s"].deadline_compliance.decisions
            ]),  # fmt: skip
        },
    )


@get("/statistics/{code:str}", include_in_schema=False)
async def municipality_page(
    request: Request,
    db: NamedDependency[Db],
    code: Annotated[str, PathParameter(pattern=CODE)],
    category: Annotated[Category | None, QueryParameter()] = None,
    year: Annotated[int | None, QueryParameter(ge=2000, le=2200)] = None,
) -> Template:
    now = request.app.state.clock()
    async with db.connection() as conn:
        m = await catalog.get_municipality(conn, code)
        if m is None:
            raise NotFoundException(f"There is no municipality {code}.")
        s = await stats.cached(request.app.state, conn, code, category or None, year, now)
    return Template(
        "opendata/municipality.html",
        context={"m": m, "s": s, "charts": charts(s), "pct": _pct, "days": _days, "category": category, "year": year},
    )


ROUTES = [comparison, municipality_page]
