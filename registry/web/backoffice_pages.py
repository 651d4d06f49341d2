"""The back office for civil servants, under /backoffice: log-in (with an
optional TOTP second factor), the queue, the case page with its action forms,
four-eyes approvals, and the municipality's administration.

Handlers are thin: authorisation and work happen in registry.backoffice.service
(which asks registry.backoffice.authz). Own session cookie (``rtc_staff``,
path /backoffice, 30 minutes idle); CSRF on every form (Litestar's middleware).
"""

# No `from __future__ import annotations`: Litestar reads the types at runtime.
import csv
import io
import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, AsyncIterator
from urllib.parse import quote, urlencode

import msgspec
from litestar import Request, Response, Router, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, PathParameter
from litestar.response import Redirect, Stream, Template

from registry import accounts, workflow
from registry.backoffice import authz, service, totp
from registry.backoffice import store as bo
from registry.backoffice.authz import Staff
from registry.db import Db
from registry.errors import Invalid, NotFound, StaleVersion
from registry.store import catalog
from registry.web.auth import clear_session_cookie, client_of, current_user, safe_next, see, session_cookie, sign_out
from registry.workflow.fields import Day, Grounds, Int, Text
from registry.workflow.grounds import GROUNDS

COOKIE = "rtc_staff"
STEP_COOKIE = "rtc_staff_step"
PATH = "/backoffice"
REF = r"^GM[0-9]{4}-[0-9]{4}-[0-9]{4,6}$"
PAGE_SIZE = 50
Ref = Annotated[str, PathParameter(pattern=REF)]


class StaffLoginRequired(Exception):
    pass


def _login_redirect(request: Request, exc: StaffLoginRequired) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    response = Redirect(f"{PATH}/login?next={quote(target, safe='')}", status_code=303)
    if request.cookies.get(COOKIE):
        response.set_cookie(clear_session_cookie(request, COOKIE, PATH))
    return response


async def staff_of(request: Request) -> Staff | None:
    cache = request.scope.setdefault("state", {})
    if "staff" in cache:
        return cache["staff"]
    staff = None
    if await current_user(request, cookie=COOKIE) is not None:  # live and sliding
        staff = await service.staff_for_session(request.app.state.db, request.cookies.get(COOKIE, ""))
    cache["staff"] = staff
    return staff


async def require_staff(request: Request) -> Staff:
    staff = await staff_of(request)
    if staff is None:
        raise StaffLoginRequired()
    return staff


def now_of(request: Request) -> datetime:
    return request.app.state.clock()


def render(request: Request, name: str, status: int = 200, **context: Any) -> Template:
    """A back-office page; refreshes the session cookie's lifetime (the session
    itself slides on the server)."""
    staff = request.scope.get("state", {}).get("staff")
    context.setdefault("staff", staff)
    context.setdefault("errors", {})
    context.setdefault("form", {})
    cookies = []
    if staff is not None and request.cookies.get(COOKIE):
        cookies.append(session_cookie(request, request.cookies[COOKIE], idle=service.STAFF_IDLE, name=COOKIE, path=PATH))
    return Template(f"backoffice/{name}", context=context, status_code=status, cookies=cookies)


async def form_of(request: Request) -> Any:
    return await request.form()


# --- log-in -----------------------------------------------------------------------------


@get("/login", include_in_schema=False)
async def login_form(request: Request, next: FromQuery[str | None] = None) -> Template:
    return render(request, "login.html", next=safe_next(next, PATH))


@post("/login", include_in_schema=False)
async def login(request: Request, db: NamedDependency[Db]) -> Response:
    form = await form_of(request)
    email, password = (form.get("email") or "").strip(), form.get("password") or ""
    target = safe_next(form.get("next"), PATH)
    if not target.startswith(PATH):
        target = PATH
    try:
        # Not one transaction: a failed try must still count for the rate limit.
        async with db.connection() as conn:
            kind, token = await service.login(conn, email, password, client_of(request), now_of(request))
            if kind == "session":
                row = await bo.staff_of(conn, (await accounts.session_user(conn, token, now_of(request))).id)
                await bo.audit(conn, row["municipality_code"], row["user_id"], "login", None, {}, now_of(request))
    except accounts.RateLimited as exc:
        return render(request, "login.html", 429, next=target, form={"email": email}, message=exc.detail)
    except (accounts.AccountError, Invalid):
        return render(
            request, "login.html", 400, next=target, form={"email": email},
            message="The e-mail address or the password is not right.",
        )  # fmt: skip
    if kind == "code":
        response = see(f"{PATH}/login/code?next={quote(target, safe='')}")
        response.set_cookie(
            session_cookie(request, token, idle=service.LOGIN_STEP_TTL, name=STEP_COOKIE, path=f"{PATH}/login")
        )
        return response
    response = see(target)
    response.set_cookie(session_cookie(request, token, idle=service.STAFF_IDLE, name=COOKIE, path=PATH))
    return response


@get("/login/code", include_in_schema=False)
async def code_form(request: Request, next: FromQuery[str | None] = None) -> Template:
    return render(request, "login_code.html", next=safe_next(next, PATH))


@post("/login/code", include_in_schema=False)
async def code(request: Request, db: NamedDependency[Db]) -> Response:
    form = await form_of(request)
    target = safe_next(form.get("next"), PATH)
    if not target.startswith(PATH):
        target = PATH
    step = request.cookies.get(STEP_COOKIE, "")
    try:
        async with db.connection() as conn:
            token = await service.verify_code(conn, step, form.get("code") or "", client_of(request), now_of(request))
    except Invalid as exc:
        return render(request, "login_code.html", 422, next=target, errors={"code": exc.detail})
    except (accounts.AccountError, accounts.RateLimited) as exc:
        return render(request, "login.html", 400, next=target, message=exc.detail)
    response = see(target)
    response.set_cookie(clear_session_cookie(request, STEP_COOKIE, f"{PATH}/login"))
    response.set_cookie(session_cookie(request, token, idle=service.STAFF_IDLE, name=COOKIE, path=PATH))
    return response


@post("/logout", include_in_schema=False)
async def logout(request: Request) -> Response:
    return await sign_out(request, f"{PATH}/login", COOKIE, PATH)


@get("/account", include_in_schema=False)
async def account(request: Request, db: NamedDependency[Db]) -> Template:
    """The second factor: enrol (the secret as text), confirm with a code, or switch off."""
    staff = await require_staff(request)
    async with db.connection() as conn:
        secret, enabled = await bo.totp_secret(conn, staff.user_id)
        if not enabled and not secret:
            secret = totp.new_secret()
            await bo.set_totp(conn, staff.user_id, secret, None)
    return render(
        request, "account.html", enabled=enabled, secret=totp.grouped(secret or ""),
        uri=totp.otpauth_uri(secret or "", staff.email),
    )  # fmt: skip


@post("/account/totp", include_in_schema=False)
async def account_totp(request: Request, db: NamedDependency[Db]) -> Response:
    staff = await require_staff(request)
    form = await form_of(request)
    now = now_of(request)
    async with db.connection() as conn:
        secret, enabled = await bo.totp_secret(conn, staff.user_id)
        if form.get("disable") == "1":
            if enabled and not totp.verify(secret or "", form.get("code") or "", now):
                return render(request, "account.html", 422, enabled=enabled, secret=totp.grouped(secret or ""),
                              uri=totp.otpauth_uri(secret or "", staff.email),
                              errors={"code": "This code is not right. Enter the 6 digits your app shows now."})
            await bo.set_totp(conn, staff.user_id, None, None)
            await bo.audit(conn, staff.municipality, staff.user_id, "totp_off", None, {}, now)
            return see(f"{PATH}/account?done=off")
        if not secret or not totp.verify(secret, form.get("code") or "", now):
            return render(request, "account.html", 422, enabled=enabled, secret=totp.grouped(secret or ""),
                          uri=totp.otpauth_uri(secret or "", staff.email),
                          errors={"code": "This code is not right. Enter the 6 digits your app shows now."})
        await bo.set_totp(conn, staff.user_id, secret, now)
        await bo.audit(conn, staff.municipality, staff.user_id, "totp_on", None, {}, now)
    return see(f"{PATH}/account?done=on")


# --- the queue ------------------------------------------------------------------------------

_CURSOR = re.compile(r"^(inf|\d{10,12}(?:\.\d{1,6})?)~(\d{1,16})$")


def _cursor(value: str | None) -> tuple[datetime | None, int] | None:
    if not value:
        return None
    m = _CURSOR.match(value)
    if not m:
        raise Invalid("This page link is not valid.", "after")
    due = None if m.group(1) == "inf" else datetime.fromtimestamp(float(m.group(1))).astimezone()
    return due, int(m.group(2))


def _cursor_of(row: Any) -> str:
    due = row["due_at"]
    return f"{'inf' if due is None else repr(due.timestamp())}~{row['id']}"


def _queue_filter(request: Request) -> tuple[bo.QueueFilter, dict[str, str]]:
    q = request.query_params
    raw = {k: (q.get(k) or "").strip() for k in ("state", "service", "department", "assignee", "overdue")}
    state = raw["state"] if raw["state"] in workflow.STATES else None
    service_id = int(raw["service"]) if raw["service"].isdigit() and len(raw["service"]) < 16 else None
    assignee = None
    if raw["assignee"] == "none":
        assignee = 0
    elif raw["assignee"].isdigit() and len(raw["assignee"]) < 16:
        assignee = int(raw["assignee"])
    department = raw["department"][:200] or None
    f = bo.QueueFilter(state=state, service=service_id, department=department, assignee=assignee, overdue=raw["overdue"] == "1")
    return f, {k: v for k, v in raw.items() if v}


@get("", include_in_schema=False)
async def queue(request: Request, db: NamedDependency[Db], after: FromQuery[str | None] = None) -> Template:
    staff = await require_staff(request)
    authz.require(staff, "view_queue")
    f, filters = _queue_filter(request)
    now = now_of(request)
    async with db.connection() as conn:
        rows = await bo.queue(conn, staff.municipality, staff.departments, f, now, _cursor(after), PAGE_SIZE + 1)
        services = await catalog.list_services(conn, staff.municipality)
        departments = await bo.departments(conn, staff.municipality)
        people = await bo.handlers(conn, staff.municipality)
        pending = len(await bo.pending_list(conn, staff.municipality)) if staff.role == "coordinator" else 0
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    next_url = f"{PATH}?{urlencode({**filters, 'after': _cursor_of(rows[-1])})}" if more else None
    return render(
        request, "queue.html", rows=rows, filters=filters, services=services, departments=departments,
        people=people, now=now, next_url=next_url, csv_url=f"{PATH}/queue.csv?{urlencode(filters)}",
        may_assign=authz.may(staff, "assign"), pending=pending,
        done=request.query_params.get("done"),
    )  # fmt: skip


@get("/queue.csv", include_in_schema=False)
async def queue_csv(request: Request, db: NamedDependency[Db]) -> Stream:
    """The current view (every page of it), streamed."""
    staff = await require_staff(request)
    authz.require(staff, "export_queue")
    f, _ = _queue_filter(request)
    now = now_of(request)

    async def lines() -> AsyncIterator[bytes]:
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(["ref", "title", "state", "service", "department", "collective", "due_at", "overdue", "waiting_on", "assignee"])
        async with db.transaction() as conn:
            async for r in bo.queue_stream(conn, staff.municipality, staff.departments, f, now):
                writer.writerow([
                    r["ref"], _csv_safe(r["title"]), r["state"], _csv_safe(r["service_name"]), _csv_safe(r["department"]),
                    _csv_safe(r["collective_name"]), r["due_at"].isoformat() if r["due_at"] else "",
                    "yes" if r["due_at"] and r["due_at"] <= now else "no", r["waiting_on"] or "",
                    r["assignee_email"] or "",
                ])  # fmt: skip
                if buf.tell() > 32_768:
                    yield buf.getvalue().encode()
                    buf.seek(0)
                    buf.truncate()
        async with db.connection() as conn:
            await bo.audit(conn, staff.municipality, staff.user_id, "export_queue", None, {"filters": msgspec.to_builtins(f)}, now)
        yield buf.getvalue().encode()

    return Stream(
        lines(), media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="queue-{staff.municipality}-{now.date().isoformat()}.csv"'},
    )  # fmt: skip


def _csv_safe(value: str | None) -> str:
    """No formula injection when the file is opened in a spreadsheet."""
    value = value or ""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


@post("/assign", include_in_schema=False)
async def assign(request: Request, db: NamedDependency[Db]) -> Response:
    """Assign one or many challenges (the queue's checkboxes, or the case page)."""
    staff = await require_staff(request)
    form = await form_of(request)
    refs = [r for r in form.getall("ref") if re.match(REF, r or "")] if "ref" in form else []
    raw = (form.get("assignee") or "").strip()
    assignee = None if raw in ("", "none") else int(raw) if raw.isdigit() and len(raw) < 16 else -1
    back = safe_next(form.get("back"), PATH)
    if not back.startswith(PATH):
        back = PATH
    if assignee == -1:
        raise Invalid("Choose a civil servant.", "assignee")
    try:
        n = await service.assign(db, staff, refs, assignee, now_of(request))
    except Invalid as exc:
        sep = "&" if "?" in back else "?"
        return see(f"{back}{sep}{urlencode({'problem': exc.detail})}")
    sep = "&" if "?" in back else "?"
    return see(f"{back}{sep}done=assigned&n={n}")


# --- the case --------------------------------------------------------------------------------


async def _case_page(request: Request, db: Db, staff: Staff, ref: str, status: int = 200, **extra: Any) -> Template:
    view = await service.case_view(db, staff, ref, now_of(request))
    return render(request, "case.html", status, **view, **extra, now=now_of(request),
                  done=request.query_params.get("done"), problem=request.query_params.get("problem"))


@get("/challenges/{ref:str}", include_in_schema=False)
async def case(request: Request, db: NamedDependency[Db], ref: Ref) -> Template:
    staff = await require_staff(request)
    return await _case_page(request, db, staff, ref)


@get("/challenges/{ref:str}/attachments/{attachment_id:int}", include_in_schema=False)
async def case_attachment(
    request: Request, db: NamedDependency[Db], ref: Ref, attachment_id: Annotated[int, PathParameter(ge=1, le=2**53 - 1)]
) -> Response:
    """A challenge's file, private ones included; served as a download (images
    inline), never sniffed, and logged as a read of private data."""
    from registry.portal import files

    staff = await require_staff(request)
    row = await service.attachment(db, staff, ref, attachment_id, now_of(request))
    image = row["content_type"] in files.IMAGES
    return Response(
        content=bytes(row["content"]),
        media_type=row["content_type"],
        headers={
            "Content-Disposition": files.content_disposition(row["filename"], inline=image),
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
            "Cache-Control": "private, no-store",
        },
    )


@post("/challenges/{ref:str}/notes", include_in_schema=False)
async def add_note(request: Request, db: NamedDependency[Db], ref: Ref) -> Response:
    staff = await require_staff(request)
    form = await form_of(request)
    body = form.get("body") or ""
    try:
        await service.add_note(db, staff, ref, body, now_of(request))
    except Invalid as exc:
        return await _case_page(request, db, staff, ref, 422, errors={"body": exc.detail}, form={"body": body})
    return see(f"{PATH}/challenges/{ref}?done=note#notes")


@post("/challenges/{ref:str}/assessment", include_in_schema=False)
async def assessment(request: Request, db: NamedDependency[Db], ref: Ref) -> Response:
    staff = await require_staff(request)
    form = await form_of(request)
    values = {k: form.get(k) for k in form.keys() if k.startswith(("score_", "motivation_"))}
    async with db.connection() as conn:
        criteria = await bo.criteria(conn, staff.municipality)
    items, errors = service.parse_scores(criteria, values)
    if errors:
        return await _case_page(request, db, staff, ref, 422, errors=errors, form=values)
    await service.save_assessment(db, staff, ref, items, now_of(request))
    return see(f"{PATH}/challenges/{ref}?done=assessment#assessment")


# --- action forms ----------------------------------------------------------------------------

# The kinds of field a form shows, from the procedure table: exactly the
# fields the workflow needs.
def field_specs(action: str, settings: workflow.Settings) -> list[dict[str, Any]]:
    specs = []
    spec = workflow.ACTIONS[action]
    for name, kind in spec.fields.items():
        if isinstance(kind, Grounds):
            codes = list(GROUNDS) + [g for g in settings.extra_grounds if g not in GROUNDS]
            specs.append({"name": name, "kind": "grounds", "choices": codes})
        elif isinstance(kind, Day):
            specs.append({"name": name, "kind": "date"})
        elif isinstance(kind, Int):
            specs.append({"name": name, "kind": "money" if name.endswith("_cents") else "int"})
        elif isinstance(kind, Text):
            specs.append({"name": name, "kind": "text"})
    # Optional whole numbers (the agreement's reporting frequency); the
    # assessment's scores have their own form.
    for name, kind in spec.optional.items():
        if isinstance(kind, Int):
            specs.append({"name": name, "kind": "int", "optional": True})
    return specs


def parse_money(raw: str) -> int:
    """'12.345,67', '12345.67', '€ 12 345' -> cents."""
    text = raw.replace("€", "").replace(" ", "").replace("\u00a0", "").strip()
    if "," in text:
        text = text.replace(".", "").replace(",", ".")
    try:
        value = Decimal(text) * 100
    except InvalidOperation:
        raise ValueError("Enter an amount in euros, like 12500 or 12.500,00.") from None
    if value != value.to_integral_value() or value < 0 or value > 2**53 - 1:
        raise ValueError("Enter an amount in euros, with at most two decimals.")
    return int(value)


def parse_action_form(action: str, settings: workflow.Settings, form: Any) -> tuple[dict[str, Any], dict[str, Any], dict[str, str]]:
    """(fields for the engine, what was typed, errors per field)."""
    fields: dict[str, Any] = {}
    typed: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for spec in field_specs(action, settings):
        name = spec["name"]
        if spec["kind"] == "grounds":
            chosen = [g for g in form.getall(name)] if name in form else []
            typed[name] = chosen
            if not chosen:
                errors[name] = "Choose at least one ground."
            fields[name] = chosen
            continue
        raw = (form.get(name) or "").strip()
        typed[name] = raw
        if not raw:
            if not spec.get("optional"):
                errors[name] = "This field is required."
            continue
        try:
            if spec["kind"] == "money":
                fields[name] = parse_money(raw)
            elif spec["kind"] == "int":
                fields[name] = int(raw)
            else:
                fields[name] = raw
        except ValueError as exc:
            errors[name] = str(exc) if spec["kind"] == "money" else "Enter a whole number."
    return fields, typed, errors


async def _action_context(db: Db, staff: Staff, ref: str, action: str, now: datetime) -> dict[str, Any]:
    if action not in workflow.ACTIONS:
        raise NotFound(f"There is no action {action}.")
    view = await service.case_view(db, staff, ref, now)
    authz.require_act(staff, action, view["case"])
    async with db.connection() as conn:
        settings_json = await conn.fetchval("SELECT settings::text FROM municipalities WHERE code = $1", staff.municipality)
    settings = msgspec.json.decode(settings_json, type=workflow.Settings)
    return {
        **view, "action": action, "settings": settings, "specs": field_specs(action, settings),
        "decision": action in authz.DECISIONS, "scored": action in authz.SCORED,
    }  # fmt: skip


STALE = (
    "Someone else acted on this challenge in the meantime; your action was not taken. "
    "Check the current state below and decide again if still needed."
)


@get("/challenges/{ref:str}/actions/{action:str}", include_in_schema=False)
async def action_form(request: Request, db: NamedDependency[Db], ref: Ref, action: FromPath[str]) -> Template:
    staff = await require_staff(request)
    ctx = await _action_context(db, staff, ref, action, now_of(request))
    return render(request, "action.html", **ctx, version=ctx["row"]["version"])


@post("/challenges/{ref:str}/actions/{action:str}", include_in_schema=False)
async def take_action(request: Request, db: NamedDependency[Db], ref: Ref, action: FromPath[str]) -> Response:
    """Two steps: 'review' checks the fields and shows a confirmation; 'confirm' acts."""
    staff = await require_staff(request)
    now = now_of(request)
    ctx = await _action_context(db, staff, ref, action, now)
    form = await form_of(request)
    version_raw = (form.get("expected_version") or "").strip()
    version = int(version_raw) if version_raw.isdigit() and len(version_raw) < 10 else 0
    if version != ctx["row"]["version"]:
        # Someone acted since this form was shown: say so, don't judge the fields
        # against a state the civil servant has not seen.
        return await _case_page(request, db, staff, ref, 409, conflict=STALE)
    fields, typed, errors = parse_action_form(action, ctx["settings"], form)
    if not errors:
        try:  # the engine's own checks, before anyone confirms
            workflow.take(ctx["state"], action, authz.engine_role(staff), fields, now, ctx["settings"])
        except workflow.DomainError as exc:
            errors[exc.field or "_form"] = exc.detail
    if errors:
        return render(request, "action.html", 422, **ctx, version=version, form=typed, errors=errors)
    if form.get("step") != "confirm":
        return render(request, "action_confirm.html", **ctx, version=version, form=typed, fields=fields)
    try:
        outcome = await service.take_action(db, staff, ref, action, version, fields, now)
    except StaleVersion:
        return await _case_page(request, db, staff, ref, 409, conflict=STALE)
    except service.Conflict as exc:
        return await _case_page(request, db, staff, ref, 409, conflict=exc.detail)
    except Invalid as exc:
        return render(request, "action.html", 422, **ctx, version=version, form=typed, errors={exc.field or "_form": exc.detail})
    except workflow.DomainError as exc:
        return render(request, "action.html", 422, **ctx, version=version, form=typed, errors={exc.field or "_form": exc.detail})
    return see(f"{PATH}/challenges/{ref}?done={'pending' if outcome == 'pending' else action}")


# --- four eyes ---------------------------------------------------------------------------------


@get("/approvals", include_in_schema=False)
async def approvals(request: Request, db: NamedDependency[Db]) -> Template:
    staff = await require_staff(request)
    authz.require(staff, "approve")
    async with db.connection() as conn:
        rows = await bo.pending_list(conn, staff.municipality)
    rows = [r for r in rows if authz.in_scope(staff, authz.Case(r["municipality_code"], r["department"], None))]
    items = [{"row": r, "fields": msgspec.json.decode(r["fields"])} for r in rows]
    return render(request, "approvals.html", items=items, done=request.query_params.get("done"),
                  problem=request.query_params.get("problem"))


@post("/approvals/{approval_id:int}", include_in_schema=False)
async def decide_approval(request: Request, db: NamedDependency[Db], approval_id: Annotated[int, PathParameter(ge=1, le=2**53 - 1)]) -> Response:
    staff = await require_staff(request)
    form = await form_of(request)
    approve = form.get("decision") == "approve"
    try:
        outcome = await service.decide_approval(db, staff, approval_id, approve, now_of(request))
    except (StaleVersion, service.Conflict, workflow.DomainError) as exc:
        detail = exc.detail
        return see(f"{PATH}/approvals?{urlencode({'problem': detail})}")
    return see(f"{PATH}/approvals?done={outcome}")


# --- administration ------------------------------------------------------------------------------

SETTING_DAYS = ("admissibility_days", "decision_days", "information_days", "agreement_days")
_GROUND_CODE = re.compile(r"^[A-Z][A-Z0-9-]{0,39}$")
_WINDOW = re.compile(r"^(\d{4}-\d{2}-\d{2})\s*(?:/|–|-{1,2}|\s)\s*(\d{4}-\d{2}-\d{2})$")


async def _settings_context(db: Db, staff: Staff) -> dict[str, Any]:
    async with db.connection() as conn:
        settings_json = await conn.fetchval("SELECT settings::text FROM municipalities WHERE code = $1", staff.municipality)
        policy = await bo.policy(conn, staff.municipality)
        criteria = await bo.criteria(conn, staff.municipality, include_inactive=True)
    s = msgspec.json.decode(settings_json, type=workflow.Settings)
    form = {
        **{k: str(getattr(s, k)) for k in SETTING_DAYS},
        "working_days": "1" if s.working_days else "",
        "submission_windows": "\n".join(f"{w.opens_on.isoformat()} {w.closes_on.isoformat()}" for w in s.submission_windows),
        "extra_grounds": "\n".join(s.extra_grounds),
        "minimum_support": str(policy["minimum_support"]),
        "four_eyes": "1" if policy["four_eyes"] else "",
    }
    return {"form": form, "criteria": criteria}


@get("/admin/settings", include_in_schema=False)
async def settings_page(request: Request, db: NamedDependency[Db]) -> Template:
    staff = await require_staff(request)
    authz.require(staff, "manage_settings")
    return render(request, "settings.html", **await _settings_context(db, staff), done=request.query_params.get("done"))


def parse_settings(form: Any) -> tuple[workflow.Settings | None, int, bool, dict[str, str], dict[str, str]]:
    typed = {k: (form.get(k) or "").strip() for k in (*SETTING_DAYS, "submission_windows", "extra_grounds", "minimum_support")}
    typed["working_days"] = "1" if form.get("working_days") == "1" else ""
    typed["four_eyes"] = "1" if form.get("four_eyes") == "1" else ""
    errors: dict[str, str] = {}
    days = {}
    for k in SETTING_DAYS:
        v = typed[k]
        if not v.isdigit() or not 1 <= int(v) <= 3650:
            errors[k] = "Enter a number of days from 1 to 3650."
        else:
            days[k] = int(v)
    windows = []
    for line in typed["submission_windows"].splitlines():
        line = line.strip()
        if not line:
            continue
        m = _WINDOW.match(line)
        try:
            if not m:
                raise ValueError
            opens, closes = date.fromisoformat(m.group(1)), date.fromisoformat(m.group(2))
            if closes < opens:
                raise ValueError
            windows.append(workflow.Window(opens, closes))
        except ValueError:
            errors["submission_windows"] = "Write one window per line: the first and the last day, like 2027-01-01 2027-03-31."
            break
    grounds = [g.strip().upper() for g in re.split(r"[\s,]+", typed["extra_grounds"]) if g.strip()]
    bad = [g for g in grounds if not _GROUND_CODE.match(g)]
    if bad:
        errors["extra_grounds"] = "Ground codes are capitals, digits and hyphens, like GM-PARKING."
    elif any(g in GROUNDS for g in grounds) or len(set(grounds)) != len(grounds):
        errors["extra_grounds"] = "Use new codes, each once: the standard grounds are always available."
    support = typed["minimum_support"] or "0"
    if not support.isdigit() or int(support) > 1_000_000:
        errors["minimum_support"] = "Enter a whole number of supporters (0 for none)."
    if errors:
        return None, 0, False, typed, errors
    settings = workflow.Settings(
        **days, working_days=typed["working_days"] == "1", submission_windows=tuple(windows), extra_grounds=tuple(grounds)
    )
    return settings, int(support), typed["four_eyes"] == "1", typed, errors


@post("/admin/settings", include_in_schema=False)
async def save_settings(request: Request, db: NamedDependency[Db]) -> Response:
    staff = await require_staff(request)
    authz.require(staff, "manage_settings")
    form = await form_of(request)
    settings, support, four_eyes, typed, errors = parse_settings(form)
    if errors or settings is None:
        ctx = await _settings_context(db, staff)
        return render(request, "settings.html", 422, criteria=ctx["criteria"], form=typed, errors=errors)
    diff = await service.change_settings(db, staff, settings, four_eyes, support, now_of(request))
    return see(f"{PATH}/admin/settings?done={'changed' if diff else 'unchanged'}")


_CRITERION = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


@post("/admin/criteria", include_in_schema=False)
async def save_criteria(request: Request, db: NamedDependency[Db]) -> Response:
    staff = await require_staff(request)
    authz.require(staff, "manage_settings")
    form = await form_of(request)
    rows, errors = [], {}
    codes = form.getall("code") if "code" in form else []
    for i, code in enumerate(codes):
        label = (form.get(f"label_{code}") or "").strip()
        weight = (form.get(f"weight_{code}") or "").strip()
        if not label or len(label) > 200:
            errors[f"label_{code}"] = "Give the criterion a name (at most 200 characters)."
        if not weight.isdigit() or int(weight) > 100:
            errors[f"weight_{code}"] = "Enter a weight from 0 to 100."
        if _CRITERION.match(code) and not errors:
            rows.append((code, label, int(weight), i, form.get(f"active_{code}") == "1"))
    new_code = (form.get("new_code") or "").strip()
    new_label = (form.get("new_label") or "").strip()
    if new_code or new_label:
        new_weight = (form.get("new_weight") or "1").strip()
        if not _CRITERION.match(new_code):
            errors["new_code"] = "A code is lower-case letters, digits and underscores, like local_economy."
        elif new_code in codes:
            errors["new_code"] = "This code is in use already."
        if not new_label or len(new_label) > 200:
            errors["new_label"] = "Give the criterion a name (at most 200 characters)."
        if not new_weight.isdigit() or int(new_weight) > 100:
            errors["new_weight"] = "Enter a weight from 0 to 100."
        if not errors:
            rows.append((new_code, new_label, int(new_weight), len(codes), True))
    if errors:
        ctx = await _settings_context(db, staff)
        typed = {k: form.get(k) for k in form.keys()}
        return render(request, "settings.html", 422, form={**ctx["form"], **typed}, criteria=ctx["criteria"],
                      errors=errors, criteria_typed=True)
    await service.save_criteria(db, staff, rows, now_of(request))
    return see(f"{PATH}/admin/settings?done=criteria#criteria")


@get("/admin/services", include_in_schema=False)
async def services_page(request: Request, db: NamedDependency[Db], edit: FromQuery[int | None] = None) -> Template:
    staff = await require_staff(request)
    authz.require(staff, "manage_services")
    async with db.connection() as conn:
        rows = await catalog.list_services(conn, staff.municipality)
    form: dict[str, Any] = {"challengeable": "1", "category": "other"}
    editing = next((r for r in rows if r["id"] == edit), None)
    if editing is not None:
        form = {
            "name": editing["name"], "category": editing["category"], "department": editing["department"],
            "budget": f"{editing['annual_budget_cents'] / 100:.2f}", "description": editing["description"],
            "challengeable": "1" if editing["challengeable"] else "", "exclusion_reason": editing["exclusion_reason"] or "",
        }  # fmt: skip
    return render(request, "services.html", rows=rows, form=form, editing=editing, done=request.query_params.get("done"))


@post("/admin/services", include_in_schema=False)
async def save_service(request: Request, db: NamedDependency[Db]) -> Response:
    staff = await require_staff(request)
    authz.require(staff, "manage_services")
    form = await form_of(request)
    typed = {k: (form.get(k) or "").strip() for k in ("name", "category", "department", "budget", "description", "exclusion_reason", "service_id")}
    typed["challengeable"] = "1" if form.get("challengeable") == "1" else ""
    errors: dict[str, str] = {}
    if not typed["name"] or len(typed["name"]) > 200:
        errors["name"] = "Give the service a name (at most 200 characters)."
    if len(typed["department"]) > 200:
        errors["department"] = "At most 200 characters."
    try:
        budget = parse_money(typed["budget"] or "")
    except ValueError as exc:
        errors["budget"] = str(exc)
        budget = 0
    service_id = int(typed["service_id"]) if typed["service_id"].isdigit() and len(typed["service_id"]) < 16 else None
    if not errors:
        try:
            await service.save_service(db, staff, service_id, {
                "name": typed["name"], "category": typed["category"], "department": typed["department"],
                "annual_budget_cents": budget, "description": typed["description"][:5000],
                "challengeable": typed["challengeable"] == "1", "exclusion_reason": typed["exclusion_reason"][:2000],
            }, now_of(request))  # fmt: skip
        except Invalid as exc:
            errors[exc.field or "name"] = exc.detail
    if errors:
        async with db.connection() as conn:
            rows = await catalog.list_services(conn, staff.municipality)
        editing = next((r for r in rows if r["id"] == service_id), None)
        return render(request, "services.html", 422, rows=rows, form=typed, editing=editing, errors=errors)
    return see(f"{PATH}/admin/services?done=saved")


@get("/admin/staff", include_in_schema=False)
async def staff_page(request: Request, db: NamedDependency[Db]) -> Template:
    staff = await require_staff(request)
    authz.require(staff, "manage_staff")
    async with db.connection() as conn:
        rows = await bo.list_staff(conn, staff.municipality)
        departments = await bo.departments(conn, staff.municipality)
    return render(request, "staff.html", rows=rows, departments=departments, form={"role": "reviewer"},
                  done=request.query_params.get("done"))


@post("/admin/staff", include_in_schema=False)
async def save_staff(request: Request, db: NamedDependency[Db]) -> Response:
    staff = await require_staff(request)
    authz.require(staff, "manage_staff")
    form = await form_of(request)
    if form.get("disable"):
        raw = form.get("disable") or ""
        if not raw.isdigit() or len(raw) > 15:
            raise Invalid("Choose a civil servant.", "disable")
        await service.disable_staff_member(db, staff, int(raw), now_of(request))
        return see(f"{PATH}/admin/staff?done=disabled")
    typed = {k: (form.get(k) or "").strip() for k in ("email", "role", "display_name")}
    chosen = form.getall("departments") if "departments" in form else []
    typed["departments"] = chosen
    password = None
    try:
        _, password = await service.save_staff_member(
            db, staff, typed["email"], typed["role"], tuple(d for d in chosen if d), typed["display_name"], now_of(request)
        )
    except Invalid as exc:
        async with db.connection() as conn:
            rows = await bo.list_staff(conn, staff.municipality)
            departments = await bo.departments(conn, staff.municipality)
        return render(request, "staff.html", 422, rows=rows, departments=departments, form=typed,
                      errors={exc.field or "email": exc.detail})
    async with db.connection() as conn:
        rows = await bo.list_staff(conn, staff.municipality)
        departments = await bo.departments(conn, staff.municipality)
    # The new password is shown once, on this page only (never in a URL).
    return render(request, "staff.html", rows=rows, departments=departments, form={"role": "reviewer"},
                  created={"email": typed["email"], "password": password})


@get("/admin/audit", include_in_schema=False)
async def audit_page(request: Request, db: NamedDependency[Db], before: FromQuery[int | None] = None) -> Template:
    staff = await require_staff(request)
    authz.require(staff, "view_audit")
    async with db.connection() as conn:
        rows = await bo.audit_page(conn, staff.municipality, before, PAGE_SIZE + 1)
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    items = [{"row": r, "detail": msgspec.json.decode(r["detail"])} for r in rows]
    return render(request, "audit.html", items=items, next_url=f"{PATH}/admin/audit?before={rows[-1]['id']}" if more else None)


@get("/admin/audit.csv", include_in_schema=False)
async def audit_csv(request: Request, db: NamedDependency[Db]) -> Stream:
    staff = await require_staff(request)
    authz.require(staff, "view_audit")

    async def lines() -> AsyncIterator[bytes]:
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(["id", "occurred_at", "civil_servant", "operation", "challenge", "detail"])
        async with db.transaction() as conn:
            async for r in bo.audit_stream(conn, staff.municipality):
                writer.writerow([r["id"], r["occurred_at"].isoformat(), r["email"] or "", r["operation"], r["ref"] or "", r["detail"]])
                if buf.tell() > 32_768:
                    yield buf.getvalue().encode()
                    buf.seek(0)
                    buf.truncate()
        yield buf.getvalue().encode()

    return Stream(
        lines(), media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="audit-{staff.municipality}.csv"'},
    )  # fmt: skip


ROUTES = [
    Router(
        path=PATH,
        route_handlers=[
            login_form, login, code_form, code, logout, account, account_totp,
            queue, queue_csv, assign, case, case_attachment, add_note, assessment, action_form, take_action,
            approvals, decide_approval, settings_page, save_settings, save_criteria,
            services_page, save_service, staff_page, save_staff, audit_page, audit_csv,
        ],
        exception_handlers={StaffLoginRequired: _login_redirect},
        include_in_schema=False,
    )
]  # fmt: skip
