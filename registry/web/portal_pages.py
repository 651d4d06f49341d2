"""The portal's pages: accounts, collectives, filing in steps, "my
challenges" with the actions a collective can take, support and attachments.
Every form works without JavaScript, posts a CSRF token and, on a problem,
comes back (422) with everything typed kept and the message next to the field.
The work itself is in registry.portal.service."""

# No `from __future__ import annotations`: Litestar reads the types at runtime.
import json
from datetime import datetime, timezone
from typing import Annotated, Any

import msgspec
from litestar import Request, Response, Router, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import PathParameter, QueryParameter
from litestar.response import Template

from registry import accounts, workflow
from registry.accounts import AccountError, RateLimited
from registry.db import Db
from registry.errors import Forbidden, Invalid, NotFound, RegistryError, StaleVersion
from registry.portal import files, service, store
from registry.portal.service import FormErrors
from registry.store import catalog
from registry.web.auth import (
    RESIDENT_IDLE,
    SESSION_COOKIE,
    client_of,
    current_user,
    require_user,
    safe_next,
    see,
    session_cookie,
    sign_out,
)
from registry.web.i18n import N_, locale_of
from registry.workflow import DomainError
from registry.workflow.fields import MAX_INT

REF = r"^GM[0-9]{4}-[0-9]{4}-[0-9]{4,6}$"
Id = Annotated[int, PathParameter(ge=1, le=MAX_INT)]
Ref = Annotated[str, PathParameter(pattern=REF)]
UPLOAD_LIMIT = files.MAX_BYTES + 64 * 1024  # the file and the form around it
MY_PAGE_SIZE = 25
# What a collective's button says for each action it may take.
ACTION_TITLES = {
    "submit": N_("Submit the challenge"),
    "provide_information": N_("Answer the questions"),
    "consent": N_("Agree to the modification"),
    "decline": N_("Decline the modification"),
    "accept_agreement": N_("Accept the agreement"),
    "report_progress": N_("Report progress"),
    "terminate": N_("End the operation early"),
    "withdraw": N_("Withdraw the challenge"),
}
KIND_LABELS = {
    "plan": N_("Plan"),
    "budget": N_("Budget"),
    "support": N_("Proof of support"),
    "signatures": N_("Signature list (never public)"),
    "other": N_("Other"),
}


def now_of(request: Request) -> datetime:
    return request.app.state.clock()


def base_of(request: Request) -> str:
    return request.app.state.settings.base_url.rstrip("/")


async def page(request: Request, name: str, status: int = 200, **context: Any) -> Template:
    user = await current_user(request)
    return Template(
        f"portal/{name}.html", context={"user": user, "kind_labels": KIND_LABELS, "action_titles": ACTION_TITLES, **context}, status_code=status
    )


async def form_of(request: Request) -> dict[str, str]:
    """The posted form as plain strings (files are left out)."""
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str) and k != "_csrf_token"}


async def confirmed_user(request: Request):
    user = await require_user(request)
    if not user.confirmed:
        raise _Unconfirmed()
    return user


class _Unconfirmed(Exception):
    pass


def handle_unconfirmed(request: Request, exc: _Unconfirmed) -> Response:
    return see("/account?confirm=1")


# --- accounts ---------------------------------------------------------------------------------


@get("/register", include_in_schema=False)
async def register_form(request: Request) -> Template:
    return await page(request, "register", form={}, errors={})


@post("/register", include_in_schema=False)
async def register(request: Request, db: NamedDependency[Db]) -> Template:
    form = await form_of(request)
    locale = locale_of(request)
    errors: dict[str, str] = {}
    if form.get("password", "") != form.get("password_again", ""):
        errors["password_again"] = N_("The two passwords are not the same.")
    if not errors:
        try:
            await service.register(
                db, base_of(request), form.get("email", ""), form.get("password", ""),
                form.get("display_name", "").strip(), locale, client_of(request), now_of(request),
            )  # fmt: skip
        except Invalid as exc:
            errors[exc.field or "email"] = exc.detail
        except RateLimited as exc:
            errors["email"] = exc.detail
    if errors:
        form.pop("password", None)
        form.pop("password_again", None)
        return await page(request, "register", 422, form=form, errors=errors)
    return await page(request, "message", title=N_("Check your e-mail"),
                      text=N_("We sent a link to %(email)s. Open it to confirm your address; it works for 3 days."),
                      email=form.get("email", "").strip())  # fmt: skip


@get("/confirm", include_in_schema=False)
async def confirm(request: Request, db: NamedDependency[Db], token: Annotated[str, QueryParameter(max_length=200)] = "") -> Template:
    try:
        async with db.connection() as conn:
            await accounts.confirm_email(conn, token, now_of(request))
    except Invalid:
        return await page(request, "message", 400, title=N_("This link does not work"),
                          text=N_("The link was used already or it has expired. Log in and ask for a new one."))  # fmt: skip
    return await page(request, "message", title=N_("Your e-mail address is confirmed"),
                      text=N_("Thank you. You can now log in, create a collective and support challenges."),
                      link=("/login", N_("Log in")))  # fmt: skip


@get("/login", include_in_schema=False)
async def login_form(request: Request, next_: Annotated[str, QueryParameter(name="next", max_length=2000)] = "") -> Template:
    return await page(request, "login", form={"next": safe_next(next_, "")}, errors={})


@post("/login", include_in_schema=False)
async def login(request: Request, db: NamedDependency[Db]) -> Response:
    form = await form_of(request)
    now = now_of(request)
    try:
        async with db.connection() as conn:
            user = await accounts.authenticate(conn, form.get("email", ""), form.get("password", ""), client_of(request), now)
            old = request.cookies.get(SESSION_COOKIE)
            if old:
                await accounts.end_session(conn, old)
            token = await accounts.create_session(conn, user.id, RESIDENT_IDLE, now)
    except (AccountError, RateLimited) as exc:
        form.pop("password", None)
        return await page(request, "login", 429 if isinstance(exc, RateLimited) else 422, form=form,
                          errors={"email": exc.detail})  # fmt: skip
    response = see(safe_next(form.get("next"), "/my/challenges"))
    response.cookies.append(session_cookie(request, token))
    return response


@post("/logout", include_in_schema=False)
async def logout(request: Request) -> Response:
    return await sign_out(request, "/challenges")


@get("/password/forgot", include_in_schema=False)
async def forgot_form(request: Request) -> Template:
    return await page(request, "forgot", form={}, errors={})


@post("/password/forgot", include_in_schema=False)
async def forgot(request: Request, db: NamedDependency[Db]) -> Template:
    form = await form_of(request)
    try:
        await service.request_reset(db, base_of(request), form.get("email", ""), locale_of(request),
                                    client_of(request), now_of(request))  # fmt: skip
    except Invalid as exc:
        return await page(request, "forgot", 422, form=form, errors={"email": exc.detail})
    except RateLimited as exc:
        return await page(request, "forgot", 429, form=form, errors={"email": exc.detail})
    return await page(request, "message", title=N_("Check your e-mail"),
                      text=N_("If %(email)s has an account, we sent it a link to choose a new password. The link works for 2 hours."),
                      email=form.get("email", "").strip())  # fmt: skip


@get("/password/reset", include_in_schema=False)
async def reset_form(request: Request, token: Annotated[str, QueryParameter(max_length=200)] = "") -> Template:
    return await page(request, "reset", form={"token": token}, errors={})


@post("/password/reset", include_in_schema=False)
async def reset(request: Request, db: NamedDependency[Db]) -> Template:
    form = await form_of(request)
    errors: dict[str, str] = {}
    if form.get("password", "") != form.get("password_again", ""):
        errors["password_again"] = N_("The two passwords are not the same.")
    else:
        try:
            async with db.connection() as conn:
                await accounts.reset_password(conn, form.get("token", ""), form.get("password", ""), now_of(request))
        except Invalid as exc:
            errors[exc.field if exc.field == "password" else "token"] = exc.detail
    if errors:
        return await page(request, "reset", 422, form={"token": form.get("token", "")}, errors=errors)
    return await page(request, "message", title=N_("Your password is changed"),
                      text=N_("You are logged out everywhere. Log in with your new password."),
                      link=("/login", N_("Log in")))  # fmt: skip


# --- the account page ---------------------------------------------------------------------------------


@get("/account", include_in_schema=False)
async def account(request: Request, db: NamedDependency[Db]) -> Template:
    user = await require_user(request)
    async with db.connection() as conn:
        collectives = await store.collectives_of(conn, user.id)
        frequency = await store.frequency(conn, user.id)
    return await page(request, "account", collectives=collectives, frequency=frequency,
                      ask_confirm=not user.confirmed, saved=request.query_params.get("saved") == "1")  # fmt: skip


@post("/account/preferences", include_in_schema=False)
async def account_preferences(request: Request, db: NamedDependency[Db]) -> Response:
    user = await require_user(request)
    form = await form_of(request)
    async with db.transaction() as conn:
        if form.get("frequency") in ("each", "daily"):
            await store.set_frequency(conn, user.id, form["frequency"])
        if form.get("locale") in ("nl", "en"):
            await store.set_locale(conn, user.id, form["locale"])
    return see("/account?saved=1")


@post("/account/confirm-again", include_in_schema=False)
async def confirm_again(request: Request, db: NamedDependency[Db]) -> Template:
    user = await require_user(request)
    try:
        await service.resend_confirmation(db, base_of(request), user, client_of(request), now_of(request))
    except RateLimited as exc:
        return await page(request, "message", 429, title=N_("Too many attempts"), text=exc.detail)
    return await page(request, "message", title=N_("Check your e-mail"),
                      text=N_("We sent a link to %(email)s. Open it to confirm your address; it works for 3 days."),
                      email=user.email)  # fmt: skip


# --- collectives -------------------------------------------------------------------------------------


async def _municipalities(db: Db) -> list:
    async with db.connection() as conn:
        return await catalog.list_municipalities(conn)


@get("/collectives/new", include_in_schema=False)
async def collective_form(request: Request, db: NamedDependency[Db]) -> Template:
    await confirmed_user(request)
    return await page(request, "collective_new", form={}, errors={}, municipalities=await _municipalities(db))


@post("/collectives/new", include_in_schema=False)
async def collective_create(request: Request, db: NamedDependency[Db]) -> Response:
    user = await confirmed_user(request)
    form = await form_of(request)
    municipalities = await _municipalities(db)
    try:
        values = service.collective_form(form, {m["code"] for m in municipalities})
    except FormErrors as exc:
        return await page(request, "collective_new", 422, form=form, errors=exc.errors, municipalities=municipalities)
    collective_id = await service.create_collective(db, user, values, now_of(request))
    return see(f"/my/collectives/{collective_id}?created=1")


async def _my_collective(db: Db, user, collective_id: int):
    async with db.connection() as conn:
        collective = await store.membership(conn, user.id, collective_id)
    if collective is None:
        raise NotFoundException("You are not a member of this collective.")
    return collective


@get("/my/collectives/{collective_id:int}", include_in_schema=False)
async def collective_page(request: Request, db: NamedDependency[Db], collective_id: Id) -> Template:
    user = await require_user(request)
    collective = await _my_collective(db, user, collective_id)
    async with db.connection() as conn:
        members = await store.members(conn, collective_id)
        contact = await store.contact(conn, collective_id)
    return await page(request, "collective", c=collective, members=members, contact=contact, form={}, errors={},
                      notice=request.query_params.get("created") and N_("Your collective is created.")
                      or request.query_params.get("invited") and N_("The invitation is sent."))  # fmt: skip


@post("/my/collectives/{collective_id:int}/invite", include_in_schema=False)
async def collective_invite(request: Request, db: NamedDependency[Db], collective_id: Id) -> Response:
    user = await confirmed_user(request)
    collective = await _my_collective(db, user, collective_id)
    form = await form_of(request)
    try:
        await service.invite(db, base_of(request), user, collective, form.get("email", ""), locale_of(request),
                             client_of(request), now_of(request))  # fmt: skip
    except (FormErrors, RateLimited) as exc:
        errors = exc.errors if isinstance(exc, FormErrors) else {"email": exc.detail}
        async with db.connection() as conn:
            members = await store.members(conn, collective_id)
            contact = await store.contact(conn, collective_id)
        return await page(request, "collective", 422, c=collective, members=members, contact=contact, form=form, errors=errors)
    return see(f"/my/collectives/{collective_id}?invited=1")


@post("/my/collectives/{collective_id:int}/leave", include_in_schema=False)
async def collective_leave(request: Request, db: NamedDependency[Db], collective_id: Id) -> Response:
    user = await require_user(request)
    try:
        await service.leave(db, user, collective_id)
    except NotFound as exc:
        raise NotFoundException(exc.detail) from None
    return see("/account")


@get("/invite", include_in_schema=False)
async def invite_page(request: Request, token: Annotated[str, QueryParameter(max_length=200)] = "") -> Template:
    await require_user(request)
    return await page(request, "invite", token=token, errors={})


@post("/invite", include_in_schema=False)
async def invite_accept(request: Request, db: NamedDependency[Db]) -> Response:
    user = await require_user(request)
    form = await form_of(request)
    try:
        collective_id = await service.accept_invite(db, user, form.get("token", ""), now_of(request))
    except (Invalid, Forbidden) as exc:
        return await page(request, "invite", 422, token=form.get("token", ""), errors={"token": exc.detail})
    return see(f"/my/collectives/{collective_id}")


@get("/collectives/{collective_id:int}", include_in_schema=False)
async def collective_public(request: Request, db: NamedDependency[Db], collective_id: Id) -> Template:
    """The public profile of a collective: no people, only the legal person."""
    async with db.connection() as conn:
        profile = await store.public_profile(conn, collective_id)
    if profile is None:
        raise NotFoundException("There is no such collective.")
    return await page(request, "collective_public", c=profile)


# --- filing ----------------------------------------------------------------------------------------------


@get("/file", include_in_schema=False)
async def file_start(request: Request, db: NamedDependency[Db]) -> Template:
    user = await confirmed_user(request)
    async with db.connection() as conn:
        collectives = await store.collectives_of(conn, user.id)
        drafts = await store.drafts_of(conn, user.id)
    return await page(request, "file_start", collectives=collectives, drafts=drafts)


def window_status(settings_json: str, today) -> dict[str, Any]:
    """Whether a municipality takes submissions today, and the window that matters."""
    settings = msgspec.json.decode(settings_json, type=workflow.Settings)
    windows = sorted(settings.submission_windows, key=lambda w: w.opens_on)
    if not windows:
        return {"open": True, "window": None, "next": None}
    current = next((w for w in windows if w.opens_on <= today <= w.closes_on), None)
    upcoming = next((w for w in windows if w.opens_on > today), None)
    return {"open": current is not None, "window": current, "next": upcoming}


@get("/file/{collective_id:int}", include_in_schema=False)
async def file_services(request: Request, db: NamedDependency[Db], collective_id: Id) -> Template:
    user = await confirmed_user(request)
    collective = await _my_collective(db, user, collective_id)
    async with db.connection() as conn:
        services = await catalog.list_services(conn, collective["municipality_code"])
        municipality = await catalog.get_municipality(conn, collective["municipality_code"])
    today = now_of(request).astimezone(timezone.utc).date()
    return await page(request, "file_services", c=collective, municipality=municipality,
                      open_services=[s for s in services if s["challengeable"]],
                      excluded=[s for s in services if not s["challengeable"]],
                      window=window_status(municipality["settings"], today))  # fmt: skip


@post("/file/{collective_id:int}/{service_id:int}", include_in_schema=False)
async def file_new_draft(request: Request, db: NamedDependency[Db], collective_id: Id, service_id: Id) -> Response:
    user = await confirmed_user(request)
    collective = await _my_collective(db, user, collective_id)
    async with db.transaction() as conn:
        svc = await catalog.get_service(conn, service_id)
        if svc is None or svc["municipality_code"] != collective["municipality_code"] or not svc["challengeable"]:
            raise NotFoundException("This service cannot be challenged by your collective.")
        draft_id = await store.create_draft(conn, collective_id, service_id, user.id, now_of(request))
    return see(f"/drafts/{draft_id}/what")


FIELD_LABELS = {
    "title": N_("Title"),
    "summary": N_("Summary"),
    "area": N_("Area"),
    "proposed_start": N_("Proposed start"),
    "duration_months": N_("Duration in months"),
    "why_better": N_("Why can you do it better or cheaper?"),
    "experience": N_("Your involvement, knowledge and experience"),
    "expected_support": N_("Support in the neighbourhood"),
    "quality_continuity": N_("How do you guarantee quality and continuity?"),
    "help_wanted": N_("Help you want from the municipality"),
    "cost_estimate": N_("Cost estimate"),
    "requested_budget": N_("Requested budget (euros)"),
    "plan": N_("Plan"),
    "file": N_("File"),
    "kind": N_("What is the file?"),
    "revision": N_("Draft"),
}
STEP_TITLES = {
    "what": N_("What you want to take over"),
    "why": N_("Why your collective"),
    "money": N_("Costs and budget"),
    "plan": N_("The plan"),
    "review": N_("Check and submit"),
}


async def _draft_and_collective(db: Db, user, draft_id: int):
    async with db.connection() as conn:
        draft = await store.get_draft(conn, draft_id, user.id)
        if draft is None:
            raise NotFoundException("There is no such draft of your collectives.")
        collective = await store.membership(conn, user.id, draft.collective_id)
        attachments = await store.attachments_of_draft(conn, draft_id)
    return draft, collective, attachments


async def _draft_page(request, draft, collective, attachments, step, values=None, errors=None, status=200, **extra):
    return await page(
        request, "draft", status, draft=draft, c=collective, step=step, steps=service.STEPS, step_titles=STEP_TITLES,
        values=values if values is not None else draft.fields, errors=errors or {}, labels=FIELD_LABELS,
        attachments=attachments, kinds=files.KINDS, **extra,
    )


@get("/drafts/{draft_id:int}/{step:str}", include_in_schema=False)
async def draft_step(request: Request, db: NamedDependency[Db], draft_id: Id, step: Annotated[str, PathParameter(max_length=20)]) -> Response:
    user = await confirmed_user(request)
    if step not in service.STEPS:
        raise NotFoundException("There is no such step.")
    draft, collective, attachments = await _draft_and_collective(db, user, draft_id)
    if draft.challenge_ref:
        return see(f"/my/challenges/{draft.challenge_ref}")
    problems = service.all_errors(draft.fields) if step == "review" else {}
    return await _draft_page(request, draft, collective, attachments, step, problems=problems)


@post("/drafts/{draft_id:int}/{step:str}", include_in_schema=False)
async def draft_save(request: Request, db: NamedDependency[Db], draft_id: Id, step: Annotated[str, PathParameter(max_length=20)]) -> Response:
    user = await confirmed_user(request)
    if step not in service.STEPS or step == "review":
        raise NotFoundException("There is no such step.")
    draft, collective, attachments = await _draft_and_collective(db, user, draft_id)
    form = await form_of(request)
    typed = {name: form.get(name, "") for name in service.STEP_FIELDS[step]}
    values = {**draft.fields, **typed}
    errors: dict[str, str] = {}
    try:
        revision = int(form.get("revision", "0"))
        async with db.transaction() as conn:
            # What was typed is always kept, even with problems in it.
            revision = await store.save_draft(conn, draft.id, revision, typed, now_of(request))
    except (ValueError, StaleVersion):
        errors["revision"] = N_("Another member saved this draft in the meantime. Check the fields and save again.")
        async with db.connection() as conn:
            fresh = await store.get_draft(conn, draft_id, user.id)
        if fresh is None or fresh.challenge_ref:
            raise NotFoundException("This draft was submitted or removed.")
        draft = fresh
        revision = fresh.revision
    draft = msgspec.structs.replace(draft, fields=values, revision=revision)
    errors.update(service.check_fields(values, service.STEP_FIELDS[step]))
    intent = form.get("intent", "next")
    if intent == "preview" and not errors.get("revision"):
        return await _draft_page(request, draft, collective, attachments, step, values, errors,
                                 preview=values.get("plan", ""), saved=True)  # fmt: skip
    if errors:
        return await _draft_page(request, draft, collective, attachments, step, values, errors, status=422)
    if intent == "save":
        return await _draft_page(request, draft, collective, attachments, step, values, saved=True)
    return see(f"/drafts/{draft_id}/{service.STEPS[service.STEPS.index(step) + 1]}")


@post("/drafts/{draft_id:int}/submit", include_in_schema=False)
async def draft_submit(request: Request, db: NamedDependency[Db], draft_id: Id) -> Response:
    user = await confirmed_user(request)
    draft, collective, attachments = await _draft_and_collective(db, user, draft_id)
    try:
        ref = await service.submit_draft(db, user, draft, collective, locale_of(request), now_of(request))
    except FormErrors:
        problems = service.all_errors(draft.fields)
        return await _draft_page(request, draft, collective, attachments, "review", problems=problems, status=422)
    except (DomainError, RegistryError) as exc:
        return await _draft_page(request, draft, collective, attachments, "review", status=422,
                                 problems={}, refused=exc.detail)  # fmt: skip
    return see(f"/my/challenges/{ref}?submitted=1")


@post("/drafts/{draft_id:int}/delete", include_in_schema=False)
async def draft_delete(request: Request, db: NamedDependency[Db], draft_id: Id) -> Response:
    user = await confirmed_user(request)
    draft, _, _ = await _draft_and_collective(db, user, draft_id)
    async with db.transaction() as conn:
        await store.delete_draft(conn, draft.id)
    return see("/file")


async def _upload(request: Request) -> tuple[dict[str, str], UploadFile | None]:
    form = await request.form()
    upload = form.get("file")
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    return fields, upload if isinstance(upload, UploadFile) else None


async def _read_upload(upload: UploadFile | None) -> bytes:
    if upload is None:
        return b""
    return await upload.read(files.MAX_BYTES + 1)


@post("/drafts/{draft_id:int}/attachments", include_in_schema=False, request_max_body_size=UPLOAD_LIMIT)
async def draft_upload(request: Request, db: NamedDependency[Db], draft_id: Id) -> Response:
    user = await confirmed_user(request)
    draft, collective, attachments = await _draft_and_collective(db, user, draft_id)
    fields, upload = await _upload(request)
    content = await _read_upload(upload)
    kind = fields.get("kind", "")
    try:
        content_type, name = service.check_upload(upload.filename if upload else "", content, kind)
    except FormErrors as exc:
        return await _draft_page(request, draft, collective, attachments, "review", status=422,
                                 problems=service.all_errors(draft.fields), upload_errors=exc.errors, upload=fields)  # fmt: skip
    async with db.transaction() as conn:
        await store.add_attachment(
            conn, draft_id=draft.id, challenge_id=None, kind=kind, filename=name, content_type=content_type,
            content=content, sha256=files.checksum(content), public=fields.get("public") == "1", user_id=user.id,
            now=now_of(request),
        )  # fmt: skip
    return see(f"/drafts/{draft_id}/review#attachments")


@post("/drafts/{draft_id:int}/attachments/{attachment_id:int}/delete", include_in_schema=False)
async def draft_attachment_delete(request: Request, db: NamedDependency[Db], draft_id: Id, attachment_id: Id) -> Response:
    user = await confirmed_user(request)
    draft, _, _ = await _draft_and_collective(db, user, draft_id)
    async with db.transaction() as conn:
        await store.delete_draft_attachment(conn, attachment_id, draft.id)
    return see(f"/drafts/{draft_id}/review#attachments")


# --- my challenges ------------------------------------------------------------------------------------------


def _view(row, full: bool = False) -> dict[str, Any]:
    """A challenge of the user's collectives and what they may do now. Which
    actions are allowed depends on the state's name only; the full workflow
    state (the decision) and the last step are read for one challenge's page."""
    if full:
        state = msgspec.json.decode(row["workflow"], type=workflow.ChallengeState)
        last = json.loads(row["last_event"]) if row["last_event"] else None
    else:
        state, last = workflow.ChallengeState(state=row["state"]), None
    actions = [a for a in workflow.allowed_actions(state, "collective") if a in service.COLLECTIVE_ACTIONS]
    return {"row": row, "state": state, "last": last, "actions": actions}


@get("/my/challenges", include_in_schema=False)
async def my_challenges(
    request: Request, db: NamedDependency[Db], cursor: Annotated[int | None, QueryParameter(ge=1, le=MAX_INT)] = None
) -> Template:
    user = await require_user(request)
    async with db.connection() as conn:
        rows = await store.my_challenges(conn, user.id, cursor, MY_PAGE_SIZE + 1)
        drafts = await store.drafts_of(conn, user.id)
        collectives = await store.collectives_of(conn, user.id)
    more = len(rows) > MY_PAGE_SIZE
    rows = rows[:MY_PAGE_SIZE]
    return await page(request, "my_challenges", items=[_view(r) for r in rows], drafts=drafts, collectives=collectives,
                      next_cursor=rows[-1]["id"] if more else None)  # fmt: skip


async def _my_challenge_page(request, db, user, ref, status=200, **extra) -> Template:
    async with db.connection() as conn:
        row = await store.my_challenge(conn, user.id, ref)
        if row is None:
            raise NotFoundException(f"There is no challenge {ref} of your collectives.")
        attachments = await store.attachments_of_challenge(conn, row["id"], public_only=False)
    extra.setdefault("errors", {})
    extra.setdefault("form", {})
    return await page(request, "my_challenge", status, item=_view(row, full=True), attachments=attachments, kinds=files.KINDS,
                      action_fields={a: service.action_fields(a) for a in service.COLLECTIVE_ACTIONS},
                      submitted=request.query_params.get("submitted") == "1", **extra)  # fmt: skip


@get("/my/challenges/{ref:str}", include_in_schema=False)
async def my_challenge(request: Request, db: NamedDependency[Db], ref: Ref) -> Template:
    user = await require_user(request)
    return await _my_challenge_page(request, db, user, ref)


@post("/my/challenges/{ref:str}/actions/{action:str}", include_in_schema=False)
async def my_challenge_act(request: Request, db: NamedDependency[Db], ref: Ref, action: Annotated[str, PathParameter(max_length=40)]) -> Response:
    user = await confirmed_user(request)
    form = await form_of(request)
    try:
        version = int(form.get("expected_version", ""))
    except ValueError:
        version = 0
    try:
        await service.act(db, user, ref, action, version, form, now_of(request))
    except FormErrors as exc:
        return await _my_challenge_page(request, db, user, ref, 422, errors={action: exc.errors}, form={action: form})
    except NotFound as exc:
        raise NotFoundException(exc.detail) from None
    except (DomainError, RegistryError) as exc:
        field = getattr(exc, "field", None) or "_"
        return await _my_challenge_page(request, db, user, ref, 409 if isinstance(exc, StaleVersion) else 422,
                                        errors={action: {field: exc.detail}}, form={action: form})  # fmt: skip
    return see(f"/my/challenges/{ref}?done={action}")


@post("/my/challenges/{ref:str}/attachments", include_in_schema=False, request_max_body_size=UPLOAD_LIMIT)
async def my_challenge_upload(request: Request, db: NamedDependency[Db], ref: Ref) -> Response:
    user = await confirmed_user(request)
    async with db.connection() as conn:
        row = await store.my_challenge(conn, user.id, ref)
    if row is None:
        raise NotFoundException(f"There is no challenge {ref} of your collectives.")
    fields, upload = await _upload(request)
    content = await _read_upload(upload)
    kind = fields.get("kind", "")
    try:
        content_type, name = service.check_upload(upload.filename if upload else "", content, kind)
    except FormErrors as exc:
        return await _my_challenge_page(request, db, user, ref, 422, upload_errors=exc.errors, upload=fields)
    async with db.transaction() as conn:
        await store.add_attachment(
            conn, draft_id=None, challenge_id=row["id"], kind=kind, filename=name, content_type=content_type,
            content=content, sha256=files.checksum(content), public=fields.get("public") == "1", user_id=user.id,
            now=now_of(request),
        )  # fmt: skip
    return see(f"/my/challenges/{ref}#attachments")


# --- support and public attachments --------------------------------------------------------------------------


async def _support_page(request, db, ref, status=200, **extra) -> Template:
    user = await current_user(request)
    async with db.connection() as conn:
        row = await store.supportable(conn, ref)
        if row is None:
            raise NotFoundException(f"There is no public challenge {ref}.")
        mine = await store.support_of(conn, row["id"], user.id) if user else None
        member = bool(user and await store.membership(conn, user.id, row["collective_id"]))
        attachments = await store.attachments_of_challenge(conn, row["id"], public_only=True)
    return await page(request, "support", status, c=row, mine=mine, member=member, attachments=attachments,
                      open_for_support=row["state"] in store.SUPPORTABLE, **extra)  # fmt: skip


@get("/challenges/{ref:str}/support", include_in_schema=False)
async def support_page(request: Request, db: NamedDependency[Db], ref: Ref) -> Template:
    return await _support_page(request, db, ref)


@post("/challenges/{ref:str}/support", include_in_schema=False)
async def support(request: Request, db: NamedDependency[Db], ref: Ref) -> Response:
    user = await confirmed_user(request)
    form = await form_of(request)
    try:
        if form.get("intent") == "withdraw":
            await service.withdraw_support(db, user, ref, client_of(request), now_of(request))
        else:
            await service.support(db, user, ref, form.get("notify") == "1", client_of(request), now_of(request))
    except NotFound as exc:
        raise NotFoundException(exc.detail) from None
    except (Invalid, RateLimited) as exc:
        return await _support_page(request, db, ref, 429 if isinstance(exc, RateLimited) else 422, error=exc.detail)
    return see(f"/challenges/{ref}/support?done=1")


@get("/attachments/{attachment_id:int}", include_in_schema=False)
async def attachment(request: Request, db: NamedDependency[Db], attachment_id: Id) -> Response:
    user = await current_user(request)
    async with db.connection() as conn:
        row = await store.attachment_for(conn, attachment_id, user.id if user else None)
    if row is None:
        raise NotFoundException("There is no such file, or it is not public.")
    image = row["content_type"] in files.IMAGES
    return Response(
        content=bytes(row["content"]),
        media_type=row["content_type"],
        headers={
            "Content-Disposition": files.content_disposition(row["filename"], inline=image),
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
            "Cache-Control": "public, max-age=3600" if row["public"] else "private, no-store",
        },
    )


HANDLERS = [
    register_form, register, confirm, login_form, login, logout, forgot_form, forgot, reset_form, reset,
    account, account_preferences, confirm_again,
    collective_form, collective_create, collective_page, collective_invite, collective_leave,
    invite_page, invite_accept, collective_public,
    file_start, file_services, file_new_draft, draft_submit, draft_delete, draft_upload, draft_attachment_delete,
    draft_step, draft_save,
    my_challenges, my_challenge, my_challenge_act, my_challenge_upload,
    support_page, support, attachment,
]  # fmt: skip

# One router so that "confirm your address first" is handled for these pages only.
ROUTES = [Router(path="/", route_handlers=HANDLERS, exception_handlers={_Unconfirmed: handle_unconfirmed})]
