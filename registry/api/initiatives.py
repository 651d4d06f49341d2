"""/api/v1 routes of the initiatives area: the directory (search, filters,
keyset pages), one initiative (Popolo Organization), its public care events,
the NDJSON export, and the care actions of a municipality's reviewers/admins."""

# No `from __future__ import annotations`: Litestar reads the types at runtime.
from typing import Annotated, Literal

import msgspec
from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, PathParameter, QueryParameter
from litestar.response import Stream

from registry.api.bodies import strict
from registry.api.problems import responses
from registry.api.responses import json_response, link_header, next_url
from registry.api.routes import EventPage, base_url, now
from registry.db import Db
from registry.errors import NotFound, RegistryError
from registry.initiatives import DOMAINS, RECIPROCITY, care, opendata, popolo, search, store
from registry.inputs import NO_NUL
from registry.store import challenges as challenge_store
from registry.store.tokens import Actor
from registry.workflow.fields import MAX_INT

CODE = r"^GM[0-9]{4}$"
CURSOR = r"^[A-Za-z0-9_-]{1,600}$"

InitiativeId = Annotated[int, PathParameter(ge=1, le=MAX_INT, description="An initiative's id (its collective's id)")]
Domain = Literal[tuple(DOMAINS)]  # type: ignore[valid-type]
Reciprocity = Literal[tuple(RECIPROCITY)]  # type: ignore[valid-type]


class BadCursor(RegistryError):
    status = 400
    type = "invalid-cursor"
    title = "Invalid cursor"


class InitiativePage(msgspec.Struct, frozen=True):
    items: list[popolo.Organization]
    next: str | None


class CareBody(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, frozen=True):
    """The public reason (required to hide, unhide and feature; optional to verify)."""

    reasons: Annotated[str, msgspec.Meta(max_length=2000, pattern=NO_NUL)] | None = None


class ReportView(msgspec.Struct, frozen=True):
    id: int
    initiative: int
    name: str
    reason: str
    created_at: str


@get(
    "/initiatives",
    operation_id="listInitiatives",
    tags=["initiatives"],
    responses=responses(400, 503),
)
async def list_initiatives(
    request: Request,
    db: NamedDependency[Db],
    q: Annotated[str | None, QueryParameter(max_length=200, pattern=NO_NUL, description="Search names, descriptions, offers and needs (Dutch; accents, compounds and typos tolerated)")] = None,
    municipality: Annotated[str | None, QueryParameter(pattern=CODE)] = None,
    neighbourhood: Annotated[str | None, QueryParameter(max_length=100, pattern=NO_NUL)] = None,
    domain: Annotated[Domain | None, QueryParameter()] = None,
    reciprocity: Annotated[Reciprocity | None, QueryParameter()] = None,
    open_challenge: Annotated[bool, QueryParameter(description="Only initiatives with an open challenge")] = False,
    cursor: Annotated[str | None, QueryParameter(pattern=CURSOR, description="The `next` link carries it")] = None,
    limit: Annotated[int, QueryParameter(ge=1, le=100)] = 20,
) -> Response[InitiativePage]:
    """Visible initiatives as Popolo Organizations: best match first when
    searching (``q``), else by name; keyset pages (follow ``next``)."""
    flt = search.Query(q=q, municipality=municipality, neighbourhood=neighbourhood or None, domain=domain,
                       reciprocity=reciprocity, open_challenge=open_challenge)
    try:
        async with db.connection() as conn:
            rows, nxt_cursor = await search.search(conn, flt, cursor, limit)
    except search.BadCursor as exc:
        raise BadCursor(str(exc), "cursor") from None
    base, moment = base_url(request), now(request)
    nxt = next_url(request, base, cursor=nxt_cursor, limit=limit) if nxt_cursor else None
    page = InitiativePage([popolo.organization(r, base, moment) for r in rows], nxt)
    return json_response(request, page, headers=link_header(nxt))


@get(
    "/initiatives/{initiative_id:int}",
    operation_id="getInitiative",
    tags=["initiatives"],
    responses=responses(400, 404, 503),
)
async def get_initiative(request: Request, db: NamedDependency[Db], initiative_id: InitiativeId) -> Response[popolo.OrganizationDetail]:
    """One initiative with all its public challenges. A hidden one answers with
    ``status: hidden`` and the municipality's reason, its text withheld."""
    async with db.connection() as conn:
        row = await store.public_detail(conn, initiative_id)
        if row is None:
            raise NotFound(f"There is no initiative {initiative_id}.")
        challenges = await challenge_store.public_list(
            conn, challenge_store.ListFilter(collective=initiative_id), None, 200
        )
    return json_response(request, popolo.detail(row, challenges, base_url(request), now(request)))


@get(
    "/initiatives/{initiative_id:int}/events",
    operation_id="getInitiativeEvents",
    tags=["initiatives"],
    responses=responses(400, 404, 503),
)
async def get_initiative_events(request: Request, db: NamedDependency[Db], initiative_id: InitiativeId) -> Response[EventPage]:
    """The public care events of one initiative (verified, hidden, featured …),
    as they stand in the municipality's hash chain."""
    async with db.connection() as conn:
        if await store.public_detail(conn, initiative_id) is None:
            raise NotFound(f"There is no initiative {initiative_id}.")
        docs = await care.initiative_events(conn, initiative_id)
    return json_response(request, b'{"items":[' + ",".join(docs).encode() + b'],"next":null}')


@get(
    "/exports/initiatives.ndjson",
    operation_id="exportInitiatives",
    tags=["initiatives"],
    responses=responses(400, 503),
    response_description="One Popolo Organization per line (the same as GET /initiatives/{id} without challenges)",
    media_type="application/x-ndjson",
)
async def export_initiatives(
    request: Request,
    db: NamedDependency[Db],
    municipality: Annotated[str | None, QueryParameter(pattern=CODE)] = None,
) -> Stream:
    """Every initiative as NDJSON, streamed from one consistent snapshot (CC0)."""
    base, moment = base_url(request), now(request)
    # Acquire the connection before streaming starts, so that an outage is a
    # 503 and not a broken stream.
    manager = db.connection()
    conn = await manager.__aenter__()

    async def body():
        try:
            async for chunk in opendata.ndjson(conn, base, moment, municipality):
                yield chunk
        finally:
            await manager.__aexit__(None, None, None)

    return Stream(
        body(),
        media_type="application/x-ndjson",
        headers={"Content-Disposition": 'inline; filename="initiatives.ndjson"', "Cache-Control": "public, max-age=60"},
    )


def _care_route(action: str):
    required = action in ("hide", "unhide", "feature")

    async def handler(
        request: Request, db: NamedDependency[Db], actor: NamedDependency[Actor], initiative_id: InitiativeId, data: JSONBody[CareBody]
    ) -> Response[popolo.Organization]:
        data = await strict(request, CareBody)
        carer = care.Carer(actor.role, actor.municipality, actor.token_id)
        async with db.connection() as conn:
            await care.act(conn, carer, initiative_id, action, data.reasons, now(request))
            row = await store.public_detail(conn, initiative_id)
        return json_response(request, popolo.organization(row, base_url(request), now(request)))

    handler.__name__ = handler.__qualname__ = f"{action}_initiative"
    return post(
        f"/initiatives/{{initiative_id:int}}/actions/{action}",
        operation_id=f"{action}Initiative",
        tags=["initiatives"],
        status_code=200,
        summary=f"{action.capitalize()} an initiative (reviewer, admin)",
        description=(
            f"A reviewer or admin of the initiative's municipality {action}s it; the change and its "
            "public reason become an event in the municipality's chain, in the same transaction. "
            + ("`reasons` is required." if required else "`reasons` is optional.")
        ),
        responses=responses(400, 401, 403, 404, 409, 422, 503),
        security=[{"bearer": []}],
    )(handler)


@get(
    "/initiative-reports",
    operation_id="listInitiativeReports",
    tags=["initiatives"],
    responses=responses(401, 403, 503),
    security=[{"bearer": []}],
)
async def list_reports(request: Request, db: NamedDependency[Db], actor: NamedDependency[Actor]) -> Response[list[ReportView]]:
    """Private: open reports about your municipality's initiatives (reviewer, admin)."""
    if actor.role not in care.CARE_ROLES:
        from registry.errors import Forbidden

        raise Forbidden("Only a reviewer or an admin of the municipality may read reports.")
    async with db.connection() as conn:
        rows = await care.open_reports(conn, actor.municipality)
    views = [ReportView(r["id"], r["collective_id"], r["name"], r["reason"], r["created_at"].isoformat()) for r in rows]
    response = json_response(request, views)
    response.headers["Cache-Control"] = "private, no-store"
    return response


@post(
    "/initiative-reports/{report_id:int}/dismiss",
    operation_id="dismissInitiativeReport",
    tags=["initiatives"],
    status_code=204,
    responses=responses(400, 401, 403, 404, 503),
    security=[{"bearer": []}],
)
async def dismiss_report(
    request: Request, db: NamedDependency[Db], actor: NamedDependency[Actor],
    report_id: Annotated[int, PathParameter(ge=1, le=MAX_INT)],
) -> None:
    """Close a report without action (it stays private)."""
    async with db.connection() as conn:
        await care.dismiss_report(conn, care.Carer(actor.role, actor.municipality, actor.token_id), report_id, now(request))


ROUTES = [
    list_initiatives,
    get_initiative,
    get_initiative_events,
    export_initiatives,
    *(_care_route(a) for a in care.ACTIONS),
    list_reports,
    dismiss_report,
]
