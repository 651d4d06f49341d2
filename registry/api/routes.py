"""Route handlers of /api/v1: thin, each a query or a call into registry.challenges."""

# No `from __future__ import annotations`: Litestar reads the types at runtime.
from datetime import datetime, timezone
from typing import Annotated, Any, Literal

import msgspec
from litestar import Request, Response, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromQuery, JSONBody, PathParameter, QueryParameter

from registry import challenges as handling
from registry import public, workflow
from registry.api.bodies import ACTION_BODIES, Filing, strict
from registry.api.problems import responses
from registry.api.responses import json_response, link_header, next_url
from registry.db import Db
from registry.errors import NotFound, Unauthenticated
from registry.store import catalog, events
from registry.store import challenges as store
from registry.store import tokens
from registry.store.tokens import Actor
from registry.workflow.fields import MAX_INT

REF = r"^GM[0-9]{4}-[0-9]{4}-[0-9]{4,6}$"
CODE = r"^GM[0-9]{4}$"

Ref = Annotated[str, PathParameter(pattern=REF, description="A challenge reference such as GM0363-2026-0001")]
Code = Annotated[str, PathParameter(pattern=CODE, description="A CBS municipality code such as GM0363")]
StateName = Literal[tuple(sorted(workflow.STATES))]  # type: ignore[valid-type]
Category = Literal[catalog.CATEGORIES]  # type: ignore[valid-type]


# --- dependencies -------------------------------------------------------------


def provide_db(state: State) -> Db:
    return state.db


async def provide_actor(request: Request, db: NamedDependency[Db]) -> Actor:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("Send 'Authorization: Bearer <token>'; `registry tokens create` makes one.")
    async with db.connection() as conn:
        actor = await tokens.actor_for(conn, token.strip())
    if actor is None:
        raise Unauthenticated("This token is unknown or revoked.")
    return actor


def base_url(request: Request) -> str:
    return request.app.state.settings.base_url.rstrip("/")


def now(request: Request) -> datetime:
    return request.app.state.clock()


# --- public views ----------------------------------------------------------------


class MunicipalityView(msgspec.Struct, frozen=True):
    code: str
    name: str
    url: str
    settings: dict[str, Any]
    services: int
    challenges: int


class ServiceView(msgspec.Struct, frozen=True):
    id: int
    municipality: str
    name: str
    category: str
    department: str
    annual_budget_cents: int
    description: str
    challengeable: bool
    exclusion_reason: str | None


class CollectiveView(msgspec.Struct, frozen=True):
    """A collective's public profile. Its contacts and members are never published."""

    id: int
    municipality: str
    name: str
    legal_form: str
    registration_number: str | None
    neighbourhood: str
    challenges: int


class ChallengePage(msgspec.Struct, frozen=True):
    items: list[public.ChallengeSummary]
    next: str | None


class PublicEvent(msgspec.Struct, frozen=True):
    """One public event: the hashed body (see docs/ledger.md) plus ``id`` and ``hash``.
    Events about something other than a challenge (an initiative, settings) have
    ``challenge`` null and name their subject in ``data``."""

    id: int
    hash: str
    municipality: str
    seq: int
    challenge: str | None
    action: str
    from_state: str
    to_state: str
    actor_role: str
    occurred_at: str
    data: dict[str, Any]
    due_at: str | None
    waiting_on: str | None
    prev_hash: str


class EventPage(msgspec.Struct, frozen=True):
    items: list[PublicEvent]
    next: str | None


def _municipality(row, base: str) -> MunicipalityView:
    return MunicipalityView(
        code=row["code"],
        name=row["name"],
        url=f"{base}/api/v1/municipalities/{row['code']}",
        settings=msgspec.json.decode(row["settings"]),
        services=row["services"],
        challenges=row["challenges"],
    )


@get("/municipalities", operation_id="listMunicipalities", tags=["public"], responses=responses(503))
async def list_municipalities(request: Request, db: NamedDependency[Db]) -> Response[list[MunicipalityView]]:
    """Every municipality with its procedure settings (deadlines, working days, windows)."""
    async with db.connection() as conn:
        rows = await catalog.list_municipalities(conn)
    base = base_url(request)
    return json_response(request, [_municipality(r, base) for r in rows])


@get("/municipalities/{code:str}", operation_id="getMunicipality", tags=["public"], responses=responses(400, 404, 503))
async def get_municipality(request: Request, db: NamedDependency[Db], code: Code) -> Response[MunicipalityView]:
    """One municipality."""
    async with db.connection() as conn:
        row = await catalog.get_municipality(conn, code)
    if row is None:
        raise NotFound(f"There is no municipality {code}.")
    return json_response(request, _municipality(row, base_url(request)))


@get("/services", operation_id="listServices", tags=["public"], responses=responses(400, 503))
async def list_services(
    request: Request, db: NamedDependency[Db], municipality: Annotated[str | None, QueryParameter(pattern=CODE)] = None
) -> Response[list[ServiceView]]:
    """The service catalogue, optionally of one municipality; excluded services say why."""
    async with db.connection() as conn:
        rows = await catalog.list_services(conn, municipality)
    return json_response(
        request,
        [
            ServiceView(
                r["id"], r["municipality_code"], r["name"], r["category"], r["department"],
                r["annual_budget_cents"], r["description"], r["challengeable"], r["exclusion_reason"],
            )
            for r in rows
        ],
    )


@get("/collectives/{collective_id:int}", operation_id="getCollective", tags=["public"], responses=responses(400, 404, 503))
async def get_collective(
    request: Request, db: NamedDependency[Db], collective_id: Annotated[int, PathParameter(ge=1, le=MAX_INT)]
) -> Response[CollectiveView]:
    """A collective's public profile (never its members or contacts)."""
    async with db.connection() as conn:
        row = await catalog.get_collective(conn, collective_id)
    if row is None:
        raise NotFound(f"There is no collective {collective_id}.")
    return json_response(
        request,
        CollectiveView(
            row["id"], row["municipality_code"], row["name"], row["legal_form"],
            row["registration_number"], row["neighbourhood"], row["challenges"],
        ),
    )


@get("/challenges", operation_id="listChallenges", tags=["public"], responses=responses(400, 503))
async def list_challenges(
    request: Request,
    db: NamedDependency[Db],
    municipality: Annotated[str | None, QueryParameter(pattern=CODE)] = None,
    state_name: Annotated[StateName | None, QueryParameter(name="state")] = None,
    category: FromQuery[Category | None] = None,
    updated_since: FromQuery[datetime | None] = None,
    cursor: Annotated[int | None, QueryParameter(ge=1, le=MAX_INT, description="The `next` link carries it")] = None,
    limit: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
) -> Response[ChallengePage]:
    """Public challenges, newest first, in pages (keyset pagination: follow ``next``)."""
    if updated_since is not None and updated_since.tzinfo is None:
        updated_since = updated_since.replace(tzinfo=timezone.utc)
    flt = store.ListFilter(municipality=municipality, state=state_name, category=category, updated_since=updated_since)
    async with db.connection() as conn:
        rows = await store.public_list(conn, flt, cursor, limit + 1)
    base, moment = base_url(request), now(request)
    more = len(rows) > limit
    rows = rows[:limit]
    nxt = next_url(request, base, cursor=rows[-1]["id"], limit=limit) if more else None
    page = ChallengePage([public.summary(r, base, moment) for r in rows], nxt)
    return json_response(request, page, headers=link_header(nxt))


@get("/challenges/{ref:str}", operation_id="getChallenge", tags=["public"], responses=responses(400, 404, 503))
async def get_challenge(request: Request, db: NamedDependency[Db], ref: Ref) -> Response[public.Challenge]:
    """One challenge: state, open/closed, deadline and whom it waits on, decision with
    grounds and reasons, agreement terms, support count and version."""
    async with db.connection() as conn:
        row = await store.public_detail(conn, ref)
    if row is None:
        raise NotFound(f"There is no public challenge {ref}.")
    return json_response(request, public.challenge(row, base_url(request), now(request)))


def _event_page(docs: bytes, nxt: str | None) -> bytes:
    # The event documents come from PostgreSQL as JSON text: splice, don't re-encode.
    return b'{"items":[' + docs + b'],"next":' + msgspec.json.encode(nxt) + b"}"


@get("/challenges/{ref:str}/events", operation_id="getChallengeEvents", tags=["public"], responses=responses(400, 404, 503))
async def get_challenge_events(request: Request, db: NamedDependency[Db], ref: Ref) -> Response[EventPage]:
    """The public timeline of one challenge, with sequence numbers and hashes."""
    async with db.connection() as conn:
        row = await store.public_detail(conn, ref)
        if row is None:
            raise NotFound(f"There is no public challenge {ref}.")
        docs = await events.challenge_events(conn, row["id"])
    return json_response(request, _event_page(",".join(docs).encode(), None))


@get("/events", operation_id="listEvents", tags=["public"], responses=responses(400, 503))
async def list_events(
    request: Request,
    db: NamedDependency[Db],
    after: Annotated[int, QueryParameter(ge=0, le=MAX_INT, description="The last event id you have")] = 0,
    limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 100,
    municipality: Annotated[str | None, QueryParameter(pattern=CODE)] = None,
) -> Response[EventPage]:
    """Every event of every municipality in one global order: mirror the registry
    by following ``next`` (``after`` = the last id you have)."""
    async with db.connection() as conn:
        page = await events.events_after(conn, after, limit, municipality)
    nxt = next_url(request, base_url(request), after=page.last_id, limit=limit) if page.count == limit else None
    # Events never change, so the ids on the page and the links name its content:
    # no need to hash 600 kB to make an ETag.
    version = f"{request.url}|{page.count}|{page.last_id}|{nxt}"
    return json_response(request, _event_page(page.docs, nxt), headers=link_header(nxt), etag_source=version.encode())


# --- writes -----------------------------------------------------------------------

WRITE_ERRORS = responses(400, 401, 403, 404, 409, 422, 503)


@post(
    "/challenges",
    operation_id="fileChallenge",
    tags=["collectives"],
    status_code=201,
    responses=WRITE_ERRORS,
    security=[{"bearer": []}],
)
async def file_challenge(request: Request, db: NamedDependency[Db], actor: NamedDependency[Actor], data: JSONBody[Filing]) -> Response[public.Challenge]:
    """A collective files a challenge: a draft, or submitted at once with ``submit: true``."""
    data = await strict(request, Filing)
    ref = await handling.file(db, actor, data, now(request))
    return await _detail_after_write(request, db, actor, ref, status=201)


async def _detail_after_write(request: Request, db: NamedDependency[Db], actor: NamedDependency[Actor], ref: str, status: int = 200) -> Response:
    async with db.connection() as conn:
        row = await store.public_detail(conn, ref, include_draft_of=actor.collective_id)
    view = public.challenge(row, base_url(request), now(request))
    return json_response(request, view, status=status, headers={"Location": view.url})


def _action_route(name: str, body: type[msgspec.Struct]) -> Any:
    action = workflow.ACTIONS[name]
    roles = ", ".join(sorted(r for r in action.roles if r != "system"))

    async def handler(request: Request, db: NamedDependency[Db], actor: NamedDependency[Actor], ref: Ref, data: JSONBody[body]) -> Response[public.Challenge]:  # type: ignore[valid-type]
        data = await strict(request, body)
        fields = {k: getattr(data, k) for k in data.__struct_fields__ if k != "expected_version"}
        # One connection for the write and the read-back that answers it.
        async with db.connection() as conn:
            await handling.act_on(conn, actor, ref, name, data.expected_version, fields, now(request))
            row = await store.public_detail(conn, ref, include_draft_of=actor.collective_id)
        view = public.challenge(row, base_url(request), now(request))
        return json_response(request, view, headers={"Location": view.url})

    handler.__name__ = handler.__qualname__ = f"act_{name}"
    return post(
        f"/challenges/{{ref:str}}/actions/{name}",
        operation_id=f"act_{name}",
        tags=["actions"],
        status_code=200,
        summary=f"{name.replace('_', ' ').capitalize()} (by {roles})",
        description=f"Take the action '{name}' from {', '.join(sorted(action.sources))}. Send the version you "
        "last saw as `expected_version`; a stale one is refused with 409 and nothing changes.",
        responses=WRITE_ERRORS,
        security=[{"bearer": []}],
    )(handler)


def _openapi(app: Any) -> bytes:
    """The document, built once. Request bodies refuse unknown fields; say so."""
    cached = app.state.get("openapi_json")
    if cached is None:
        doc = app.openapi_schema.to_schema()
        names = {b.__name__ for b in ACTION_BODIES.values()} | {Filing.__name__}
        for name, schema in doc.get("components", {}).get("schemas", {}).items():
            if name in names:
                schema["additionalProperties"] = False
        cached = app.state.openapi_json = msgspec.json.encode(doc)
    return cached


@get("/openapi.json", operation_id="getOpenAPI", tags=["public"], include_in_schema=False)
async def openapi_document(request: Request) -> Response:
    """The OpenAPI 3.1 document of this API."""
    return json_response(request, _openapi(request.app))


ROUTES = [
    openapi_document,
    list_municipalities,
    get_municipality,
    list_services,
    get_collective,
    list_challenges,
    get_challenge,
    get_challenge_events,
    list_events,
    file_challenge,
    *(_action_route(n, b) for n, b in ACTION_BODIES.items()),
]
