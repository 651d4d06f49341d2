"""Pages of the initiatives area: the directory (search and filters, no
JavaScript), an initiative's page, the per-municipality overview with an SVG
chart and the featured initiatives, registering and editing a profile (by the
collective's members), the contact relay and its one-time reply, reporting,
confirming an initiative is still active, and the back office's care page.

Forms re-render with everything typed kept and the message next to the field
(422); CSRF is Litestar's middleware (``{{ csrf_input }}`` in every form).
"""

# No `from __future__ import annotations`: Litestar reads the types at runtime.
import json
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from litestar import Request, Response, Router, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import PathParameter, QueryParameter
from litestar.response import Template

from registry.accounts import RateLimited, hit_rate_limit
from registry.db import Db
from registry.errors import Forbidden, Invalid, NotFound
from registry.initiatives import (
    CARE_BUTTONS, CARE_DONE, CARE_EVENTS, DOMAINS, LEGAL_FORMS, RECIPROCITY, RECIPROCITY_EXAMPLES, care, members, popolo,
)
from registry.initiatives import profile as profiles
from registry.initiatives import relay, search, stale, store
from registry.initiatives.charts import bar_chart
from registry.inputs import NO_NUL
from registry.store import catalog
from registry.store import challenges as challenge_store
from registry.web.auth import client_of, current_user, require_user, see
from registry.workflow.fields import MAX_INT

CODE = r"^GM[0-9]{4}$"
CURSOR = r"^[A-Za-z0-9_-]{1,600}$"
PAGE_SIZE = 20
Id = Annotated[int, PathParameter(ge=1, le=MAX_INT)]
Domain = Literal[tuple(DOMAINS)]  # type: ignore[valid-type]
Reciprocity = Literal[tuple(RECIPROCITY)]  # type: ignore[valid-type]
REPORTS_PER_CLIENT = (10, 3600)


def now_of(request: Request) -> Any:
    return request.app.state.clock()


def base_of(request: Request) -> str:
    return request.app.state.settings.base_url.rstrip("/")


def render(name: str, status: int = 200, **context: Any) -> Template:
    context.setdefault("errors", {})
    context.setdefault("form", {})
    context.update(DOMAINS=DOMAINS, RECIPROCITY=RECIPROCITY, RECIPROCITY_EXAMPLES=RECIPROCITY_EXAMPLES,
                   LEGAL_FORMS=LEGAL_FORMS, CARE_BUTTONS=CARE_BUTTONS, CARE_DONE=CARE_DONE, CARE_EVENTS=CARE_EVENTS)
    return Template(f"initiatives/{name}", context=context, status_code=status)


# --- the directory ---------------------------------------------------------------


@get("/initiatives", include_in_schema=False)
async def directory(
    request: Request,
    db: NamedDependency[Db],
    q: Annotated[str | None, QueryParameter(max_length=200, pattern=NO_NUL)] = None,
    municipality: Annotated[str | None, QueryParameter(pattern=r"^(GM[0-9]{4})?$")] = None,
    neighbourhood: Annotated[str | None, QueryParameter(max_length=100, pattern=NO_NUL)] = None,
    domain: Annotated[Domain | Literal[""] | None, QueryParameter()] = None,
    reciprocity: Annotated[Reciprocity | Literal[""] | None, QueryParameter()] = None,
    open_challenge: Annotated[Literal["1", ""] | None, QueryParameter()] = None,
    cursor: Annotated[str | None, QueryParameter(pattern=CURSOR)] = None,
) -> Template:
    # An empty field of the form means "any".
    filters = {"q": (q or "").strip(), "municipality": municipality, "neighbourhood": (neighbourhood or "").strip(),
               "domain": domain, "reciprocity": reciprocity, "open_challenge": open_challenge}
    filters = {k: v for k, v in filters.items() if v}
    flt = search.Query(
        q=filters.get("q"), municipality=filters.get("municipality"), neighbourhood=filters.get("neighbourhood"),
        domain=filters.get("domain"), reciprocity=filters.get("reciprocity"), open_challenge=bool(open_challenge),
    )
    async with db.connection() as conn:
        try:
            rows, next_cursor = await search.search(conn, flt, cursor, PAGE_SIZE)
        except search.BadCursor:
            rows, next_cursor = await search.search(conn, flt, None, PAGE_SIZE)
        municipalities = await catalog.list_municipalities(conn)
    now = now_of(request)
    items = [popolo.organization(r, "", now) for r in rows]
    next_url = f"/initiatives?{urlencode({**filters, 'cursor': next_cursor})}" if next_cursor else None
    return render("directory.html", items=items, municipalities=municipalities, filters=filters, next_url=next_url,
                  user=await current_user(request))


# --- one initiative -------------------------------------------------------------------


async def _initiative(conn, collective_id: int):
    row = await store.public_detail(conn, collective_id)
    if row is None:
        raise NotFoundException(f"There is no initiative {collective_id}.")
    return row


@get("/initiatives/{initiative_id:int}", include_in_schema=False)
async def initiative_page(request: Request, db: NamedDependency[Db], initiative_id: Id) -> Template:
    user = await current_user(request)
    async with db.connection() as conn:
        row = await _initiative(conn, initiative_id)
        challenges = await challenge_store.public_list(
            conn, challenge_store.ListFilter(collective=initiative_id), None, 200
        )
        timeline = [json.loads(d) for d in await care.initiative_events(conn, initiative_id)]
        editable = user is not None and await members.may_edit(conn, user.id, initiative_id)
    org = popolo.detail(row, challenges, "", now_of(request))
    return render("initiative.html", org=org, timeline=timeline, editable=editable, user=user)


# --- the municipality's overview ---------------------------------------------------------


@get("/municipalities/{code:str}/initiatives", include_in_schema=False)
async def overview(request: Request, db: NamedDependency[Db], code: Annotated[str, PathParameter(pattern=CODE)]) -> Template:
    async with db.connection() as conn:
        municipality = await catalog.get_municipality(conn, code)
        if municipality is None:
            raise NotFoundException(f"There is no municipality {code}.")
        counts = await store.overview(conn, code)
        featured = await store.featured(conn, code)
    now = now_of(request)
    return render(
        "overview.html",
        municipality=municipality,
        counts=counts,
        featured=[popolo.organization(r, "", now) for r in featured],
        domain_chart=counts["domains"],
        neighbourhood_chart=counts["neighbourhoods"][:15],
        bar_chart=bar_chart,
    )


# --- registering and editing ---------------------------------------------------------------


def _form_values(form) -> dict[str, Any]:
    values = {k: form.get(k, "") for k in (
        "name", "legal_form", "registration_number", "neighbourhoods", "founded_year", "website", "description",
        "reciprocity", "members_count", "offers", "needs", "contact_email", "municipality", "collective")}
    try:
        values["domains"] = list(form.getall("domains"))
    except KeyError:  # no box ticked
        values["domains"] = []
    return values


def _form_of_row(row, contact_email: str) -> dict[str, Any]:
    return {
        "name": row["name"], "legal_form": row["legal_form"], "registration_number": row["registration_number"] or "",
        "neighbourhoods": "\n".join(row["neighbourhoods"]), "founded_year": row["founded_year"] or "",
        "website": row["website"] or "", "description": row["description"], "domains": list(row["domains"]),
        "reciprocity": row["reciprocity"] or "", "members_count": "" if row["members_count"] is None else row["members_count"],
        "offers": "\n".join(row["offers"]), "needs": "\n".join(row["needs"]), "contact_email": contact_email,
    }


@get("/initiatives/new", include_in_schema=False)
async def new_form(
    request: Request, db: NamedDependency[Db],
    collective: Annotated[int | None, QueryParameter(ge=1, le=MAX_INT)] = None,
) -> Template:
    user = await require_user(request)
    form: dict[str, Any] = {"contact_email": user.email, "domains": []}
    async with db.connection() as conn:
        municipalities = await catalog.list_municipalities(conn)
        mine = [c for c in await members.collectives_of(conn, user.id) if not c["has_profile"]]
        if collective is not None:
            row = next((c for c in mine if c["id"] == collective), None)
            existing = await store.collective_without_profile(conn, collective) if row else None
            if existing is not None:
                form.update(collective=str(collective), name=existing["name"], legal_form=existing["legal_form"],
                            registration_number=existing["registration_number"] or "",
                            neighbourhoods=existing["neighbourhood"], municipality=existing["municipality_code"])
    return render("edit.html", form=form, municipalities=municipalities, mine=mine, new=True)


@post("/initiatives/new", include_in_schema=False)
async def create(request: Request, db: NamedDependency[Db]) -> Response:
    user = await require_user(request)
    form = _form_values(await request.form())
    now = now_of(request)
    p, errors = profiles.validate(form, now.year)
    email, problem = profiles.validate_email(form["contact_email"])
    if problem:
        errors["contact_email"] = problem
    async with db.connection() as conn:
        municipalities = await catalog.list_municipalities(conn)
        existing = None
        if str(form.get("collective") or "").isdigit():
            cid = int(form["collective"])
            if cid <= MAX_INT and await members.may_edit(conn, user.id, cid):
                existing = await store.collective_without_profile(conn, cid)
            if existing is None:
                errors["collective"] = profiles.N_("You can add a profile only for your own collective, once.")
        elif form["municipality"] not in {m["code"] for m in municipalities}:
            errors["municipality"] = profiles.N_("Choose the municipality.")
        if errors:
            mine = [c for c in await members.collectives_of(conn, user.id) if not c["has_profile"]]
            return render("edit.html", 422, form=form, errors=errors, municipalities=municipalities, mine=mine, new=True)
        if existing is not None:
            async with conn.transaction():
                await store.insert_profile(conn, existing["id"], p, now)
                await store.update(conn, existing["id"], p, email, now)
            ident = existing["id"]
        else:
            ident = await store.create(conn, municipality=form["municipality"], profile=p, contact_name=user.display_name,
                                       contact_email=email, member_user_id=user.id, now=now)
    return see(f"/initiatives/{ident}?saved=1")


async def _editable(conn, request: Request, initiative_id: int):
    user = await require_user(request)
    if not await members.may_edit(conn, user.id, initiative_id):
        raise Forbidden("Only members of this collective may edit its profile.")
    row = await store.profile_for_edit(conn, initiative_id)
    if row is None:
        raise NotFound(f"There is no initiative {initiative_id}.")
    return row


@get("/initiatives/{initiative_id:int}/edit", include_in_schema=False)
async def edit_form(request: Request, db: NamedDependency[Db], initiative_id: Id) -> Template:
    await require_user(request)
    async with db.connection() as conn:
        row = await _editable(conn, request, initiative_id)
    return render("edit.html", form=_form_of_row(row, row["contact_email"] or ""), org_id=initiative_id, new=False)


@post("/initiatives/{initiative_id:int}/edit", include_in_schema=False)
async def edit(request: Request, db: NamedDependency[Db], initiative_id: Id) -> Response:
    await require_user(request)
    form = _form_values(await request.form())
    now = now_of(request)
    p, errors = profiles.validate(form, now.year)
    email, problem = profiles.validate_email(form["contact_email"])
    if problem:
        errors["contact_email"] = problem
    async with db.connection() as conn:
        await _editable(conn, request, initiative_id)
        if errors:
            return render("edit.html", 422, form=form, errors=errors, org_id=initiative_id, new=False)
        await store.update(conn, initiative_id, p, email, now)
    return see(f"/initiatives/{initiative_id}?saved=1")


# --- contact relay ---------------------------------------------------------------------------


@get("/initiatives/{initiative_id:int}/contact", include_in_schema=False)
async def contact_form(request: Request, db: NamedDependency[Db], initiative_id: Id) -> Template:
    user = await require_user(request)
    async with db.connection() as conn:
        row = await _initiative(conn, initiative_id)
    return render("contact.html", org=popolo.organization(row, "", now_of(request)), user=user)


@post("/initiatives/{initiative_id:int}/contact", include_in_schema=False)
async def contact(request: Request, db: NamedDependency[Db], initiative_id: Id) -> Template:
    user = await require_user(request)
    form = await request.form()
    message = form.get("message", "")
    async with db.connection() as conn:
        row = await _initiative(conn, initiative_id)
        org = popolo.organization(row, "", now_of(request))
        try:
            await relay.send(conn, initiative_id, user, message, base_of(request), now_of(request))
        except RateLimited as exc:
            return render("contact.html", 429, org=org, user=user, form={"message": message},
                          errors={"message": profiles.N_("You have sent several messages in a short time. Please wait an hour and try again.")},
                          retry_after=exc.retry_after)
        except (Invalid, Forbidden, NotFound) as exc:
            return render("contact.html", 422, org=org, user=user, form={"message": message},
                          errors={"message": exc.detail})
    return render("contact_sent.html", org=org)


@get("/initiatives/replies/{token:str}", include_in_schema=False)
async def reply_form(request: Request, db: NamedDependency[Db], token: Annotated[str, PathParameter(pattern=r"^[A-Za-z0-9_-]{10,200}$")]) -> Template:
    async with db.connection() as conn:
        try:
            message = await relay.reply_target(conn, token, now_of(request))
        except Invalid as exc:
            return render("reply.html", 410, invalid=exc.detail)
    return render("reply.html", message=message, token=token)


@post("/initiatives/replies/{token:str}", include_in_schema=False)
async def reply(request: Request, db: NamedDependency[Db], token: Annotated[str, PathParameter(pattern=r"^[A-Za-z0-9_-]{10,200}$")]) -> Template:
    form = await request.form()
    text = form.get("message", "")
    async with db.connection() as conn:
        try:
            message = await relay.reply_target(conn, token, now_of(request))
        except Invalid as exc:
            return render("reply.html", 410, invalid=exc.detail)
        try:
            await relay.reply(conn, token, text, base_of(request), now_of(request))
        except Invalid as exc:
            return render("reply.html", 422, message=message, token=token, form={"message": text},
                          errors={"message": exc.detail})
    return render("reply.html", sent=True, message=message)


# --- reports -----------------------------------------------------------------------------------


@get("/initiatives/{initiative_id:int}/report", include_in_schema=False)
async def report_form(request: Request, db: NamedDependency[Db], initiative_id: Id) -> Template:
    async with db.connection() as conn:
        row = await _initiative(conn, initiative_id)
    return render("report.html", org=popolo.organization(row, "", now_of(request)))


@post("/initiatives/{initiative_id:int}/report", include_in_schema=False)
async def report(request: Request, db: NamedDependency[Db], initiative_id: Id) -> Template:
    form = await request.form()
    reason = form.get("reason", "")
    user = await current_user(request)
    async with db.connection() as conn:
        row = await _initiative(conn, initiative_id)
        org = popolo.organization(row, "", now_of(request))
        try:
            await hit_rate_limit(conn, f"initiative-report:client:{client_of(request)}", *REPORTS_PER_CLIENT, now_of(request))
            await care.report(conn, initiative_id, reason, user.id if user else None, now_of(request))
        except RateLimited:
            return render("report.html", 429, org=org, form={"reason": reason},
                          errors={"reason": profiles.N_("You have sent several reports in a short time. Please wait an hour and try again.")})
        except Invalid as exc:
            return render("report.html", 422, org=org, form={"reason": reason}, errors={"reason": exc.detail})
    return render("report.html", org=org, sent=True)


# --- still active? ---------------------------------------------------------------------------------


@get("/initiatives/{initiative_id:int}/confirm", include_in_schema=False)
async def confirm_form(
    request: Request, db: NamedDependency[Db], initiative_id: Id,
    token: Annotated[str, QueryParameter(pattern=r"^[A-Za-z0-9_-]{10,200}$")],
) -> Template:
    # A GET never confirms: mail scanners follow links.
    async with db.connection() as conn:
        row = await _initiative(conn, initiative_id)
        pending = await stale.confirmation_pending(conn, initiative_id, token, now_of(request))
    return render("confirm.html", 200 if pending else 410, org=popolo.organization(row, "", now_of(request)),
                  token=token, invalid=not pending)


@post("/initiatives/{initiative_id:int}/confirm", include_in_schema=False)
async def confirm(request: Request, db: NamedDependency[Db], initiative_id: Id) -> Template:
    form = await request.form()
    async with db.connection() as conn:
        row = await _initiative(conn, initiative_id)
        try:
            await stale.confirm(conn, initiative_id, str(form.get("token", "")), now_of(request))
        except Invalid:
            return render("confirm.html", 410, org=popolo.organization(row, "", now_of(request)), invalid=True)
        row = await _initiative(conn, initiative_id)
    return render("confirm.html", org=popolo.organization(row, "", now_of(request)), done=True)


# --- the back office's care page -------------------------------------------------------------------


async def _carer(request: Request) -> care.Carer:
    """A civil servant (back-office session, cookie path /backoffice) as a carer:
    a reviewer or coordinator acts as 'reviewer', an admin as 'admin'."""
    from registry.web.backoffice_pages import require_staff

    staff = await require_staff(request)
    role = "admin" if staff.role == "admin" else "reviewer"
    return care.Carer(role, staff.municipality, None, f"staff:{staff.user_id}")


@get("/", include_in_schema=False)
async def care_page(
    request: Request, db: NamedDependency[Db],
    q: Annotated[str | None, QueryParameter(max_length=200, pattern=NO_NUL)] = None,
    cursor: Annotated[str | None, QueryParameter(pattern=CURSOR)] = None,
) -> Template:
    carer = await _carer(request)
    async with db.connection() as conn:
        reports = await care.open_reports(conn, carer.municipality)
        try:
            rows, next_cursor = await search.search(conn, search.Query(q=q, municipality=carer.municipality), cursor, 50)
        except search.BadCursor:
            rows, next_cursor = await search.search(conn, search.Query(q=q, municipality=carer.municipality), None, 50)
        hidden = await conn.fetch(
            "SELECT collective_id AS id, name, hidden_reason FROM initiatives WHERE municipality_code = $1"
            " AND hidden_at IS NOT NULL ORDER BY name LIMIT 200", carer.municipality)
    now = now_of(request)
    return render("care.html", reports=reports, items=[popolo.organization(r, "", now) for r in rows],
                  hidden=hidden, q=q or "", next_cursor=next_cursor, message=request.query_params.get("done"))


@post("/{initiative_id:int}/{action:str}", include_in_schema=False)
async def care_action(
    request: Request, db: NamedDependency[Db], initiative_id: Id,
    action: Annotated[Literal[care.ACTIONS], PathParameter()],  # type: ignore[valid-type]
) -> Response:
    carer = await _carer(request)
    form = await request.form()
    try:
        async with db.connection() as conn:
            await care.act(conn, carer, initiative_id, action, form.get("reasons"), now_of(request))
    except (Invalid, care.CareConflict) as exc:
        return see(f"/backoffice/initiatives?{urlencode({'done': exc.detail})}")
    return see(f"/backoffice/initiatives?{urlencode({'done': action})}")


@post("/reports/{report_id:int}/dismiss", include_in_schema=False)
async def care_dismiss(request: Request, db: NamedDependency[Db], report_id: Id) -> Response:
    carer = await _carer(request)
    async with db.connection() as conn:
        await care.dismiss_report(conn, carer, report_id, now_of(request))
    return see("/backoffice/initiatives?done=dismissed")


def _care_router() -> Router:
    # Under /backoffice so that the staff cookie (path /backoffice) comes along;
    # "log in first" is answered the back office's way.
    from registry.web.backoffice_pages import StaffLoginRequired, _login_redirect

    return Router(
        path="/backoffice/initiatives",
        route_handlers=[care_page, care_action, care_dismiss],
        exception_handlers={StaffLoginRequired: _login_redirect},
        include_in_schema=False,
    )


ROUTES = [
    directory, new_form, create, initiative_page, overview, edit_form, edit, contact_form, contact,
    reply_form, reply, report_form, report, confirm_form, confirm, _care_router(),
]
