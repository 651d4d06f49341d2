"""Sessions in the browser: the cookie, the current user, and "log in first".

Pages get the user with ``await current_user(request)``; pages that need one
raise ``LoginRequired``, which sends the browser to /login and back."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import quote

from litestar import Request, Response
from litestar.datastructures import Cookie
from litestar.response import Redirect

from registry.accounts import SessionUser, end_session, session_user

SESSION_COOKIE = "rtc_session"
RESIDENT_IDLE = timedelta(days=14)


class LoginRequired(Exception):
    """Raised by a page that needs a logged-in user."""


async def current_user(request: Request, cookie: str = SESSION_COOKIE) -> SessionUser | None:
    """The logged-in user of this request, looked up once per request. The back
    office keeps its own session under another cookie (``cookie``)."""
    cache = request.scope.setdefault("state", {}).setdefault("users", {})
    if cookie in cache:
        return cache[cookie]
    token = request.cookies.get(cookie, "")
    user = None
    if token:
        async with request.app.state.db.connection() as conn:
            user = await session_user(conn, token, request.app.state.clock())
    cache[cookie] = user
    return user


async def require_user(request: Request) -> SessionUser:
    user = await current_user(request)
    if user is None:
        raise LoginRequired()
    return user


def session_cookie(
    request: Request, token: str, idle: timedelta = RESIDENT_IDLE, name: str = SESSION_COOKIE, path: str = "/"
) -> Cookie:
    return Cookie(
        key=name,
        value=token,
        path=path,
        httponly=True,
        samesite="lax",
        secure=request.app.state.settings.secure_cookies,
        max_age=int(idle.total_seconds()),
    )


def clear_session_cookie(request: Request, name: str = SESSION_COOKIE, path: str = "/") -> Cookie:
    return Cookie(key=name, value="", path=path, httponly=True, samesite="lax",
                  secure=request.app.state.settings.secure_cookies, max_age=0)


def see(url: str) -> Redirect:
    """After a form: the browser GETs ``url`` (303 See Other)."""
    return Redirect(url, status_code=303)


async def sign_out(request: Request, to: str, name: str = SESSION_COOKIE, path: str = "/") -> Response:
    """End the session in cookie ``name`` (if any), clear the cookie, go to ``to``."""
    token = request.cookies.get(name)
    if token:
        async with request.app.state.db.connection() as conn:
            await end_session(conn, token)
    response = see(to)
    response.set_cookie(clear_session_cookie(request, name, path))
    return response


def client_of(request: Request) -> str:
    """The client's address for rate limits (the peer; put a trusted proxy's
    X-Forwarded-For handling here if the registry runs behind one)."""
    return request.client.host if request.client else "unknown"


def handle_login_required(request: Request, exc: LoginRequired) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return Redirect(f"/login?next={quote(target, safe='')}", status_code=303)


def safe_next(target: str | None, default: str = "/") -> str:
    """Only local paths: never redirect to another site after login."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target
