"""Every error as RFC 9457 problem+json, mapped in this one place."""

from __future__ import annotations

import logging
import re
from typing import Any

import msgspec
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi.datastructures import ResponseSpec
from litestar.response import Template

from registry.db import DatabaseUnavailable
from registry.errors import RegistryError
from registry.workflow import DomainError

log = logging.getLogger("registry.api")

PROBLEM = "application/problem+json"
TYPE_BASE = "https://uitdaagrecht.example/problems/"  # documented in docs/api.md


class Problem(msgspec.Struct, omit_defaults=True):
    """RFC 9457 problem details. ``field`` names the offending input."""

    type: str
    title: str
    status: int
    detail: str
    field: str | None = None
    instance: str | None = None


# Domain error code -> HTTP status. Illegal transitions conflict with the
# challenge's current state; field problems are unprocessable content.
DOMAIN_STATUS = {
    "unknown-action": 404,
    "illegal-transition": 409,
    "forbidden-role": 403,
    "missing-field": 422,
    "invalid-field": 422,
    "unknown-field": 422,
    "outside-submission-window": 422,
    "not-yet-due": 409,
    "insufficient-support": 409,
    "already-accepted": 409,
}


def problem(
    request: Request | None,
    status: int,
    type_: str,
    title: str,
    detail: str,
    field: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response[Problem] | Template:
    if request is not None and not request.url.path.startswith("/api/"):
        # A person in a browser gets a page, not JSON.
        return Template(
            "error.html",
            context={"status": status, "title": title, "detail": detail},
            status_code=status,
            headers=headers or {},
        )
    body = Problem(
        type=TYPE_BASE + type_,
        title=title,
        status=status,
        detail=detail,
        field=field,
        instance=str(request.url.path) if request is not None else None,
    )
    return Response(body, status_code=status, media_type=PROBLEM, headers=headers or {})


_AT = re.compile(r" - at `\$\.?([^`]*)`")


def _validation_field(exc: ValidationException) -> tuple[str, str | None]:
    """Litestar wraps msgspec's message; pull out a readable detail and the field."""
    detail = str(exc.detail or "Invalid request")
    field = None
    extra = exc.extra
    if isinstance(extra, list) and extra and isinstance(extra[0], dict):
        message = str(extra[0].get("message", ""))
        key = extra[0].get("key")
        match = _AT.search(message)
        if match:
            field = match.group(1) or None
            message = _AT.sub("", message)
        elif key and key not in ("body", "data"):
            field = str(key)
        named = re.search(r"(?:unknown|required) field `([^`]+)`", message)
        if named:
            field = named.group(1)
        if message:
            detail = message
    return detail, field


def _is_malformed(exc: BaseException) -> bool:
    """Whether the body was not JSON at all (as opposed to JSON of the wrong shape)."""
    seen: BaseException | None = exc
    for _ in range(5):
        if seen is None:
            return False
        if isinstance(seen, msgspec.DecodeError) and not isinstance(seen, msgspec.ValidationError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def malformed(request: Request, exc: BaseException) -> Response[Problem]:
    cause = exc
    while cause.__cause__ is not None:
        cause = cause.__cause__
    return problem(request, 400, "malformed-json", "Malformed JSON", f"The body is not valid JSON: {cause}.")


def handle_validation(request: Request, exc: ValidationException) -> Response[Problem]:
    if _is_malformed(exc):
        return malformed(request, exc)
    detail, field = _validation_field(exc)
    if "unknown field" in detail:
        return problem(request, 422, "unknown-field", "Unknown field", detail, field)
    return problem(request, 400, "invalid-request", "Invalid request", detail, field)


def validation_problem(request: Request, error: msgspec.ValidationError) -> Response[Problem]:
    """A msgspec validation error of a request body, as a problem naming the field."""
    message = str(error)
    match = _AT.search(message)
    field = match.group(1) if match else None
    named = re.search(r"(?:unknown|required) field `([^`]+)`", message)
    if named:
        field = named.group(1)
    detail = _AT.sub("", message)
    if "unknown field" in message:
        return problem(request, 422, "unknown-field", "Unknown field", detail, field)
    return problem(request, 400, "invalid-request", "Invalid request", detail, field)


def handle_registry(request: Request, exc: RegistryError) -> Response[Problem]:
    return problem(request, exc.status, exc.type, exc.title, exc.detail, exc.field, headers=exc.headers)


def handle_domain(request: Request, exc: DomainError) -> Response[Problem]:
    status = DOMAIN_STATUS.get(exc.code, 422)
    return problem(request, status, exc.code, "The procedure does not allow this", exc.detail, exc.field)


def handle_unavailable(request: Request, exc: DatabaseUnavailable) -> Response[Problem]:
    log.warning("database unavailable: %s", exc)
    retry = str(request.app.state.settings.retry_after)
    return problem(
        request,
        503,
        "unavailable",
        "Temporarily unavailable",
        "The registry cannot reach its database right now. Please try again shortly.",
        headers={"Retry-After": retry},
    )


_HTTP_TYPES = {
    400: ("invalid-request", "Invalid request"),
    401: ("unauthenticated", "Authentication required"),
    403: ("forbidden", "Not allowed"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    413: ("too-large", "Request too large"),
    415: ("unsupported-media-type", "Unsupported media type"),
    429: ("too-many-requests", "Too many requests"),
}


def handle_http(request: Request, exc: HTTPException) -> Response[Problem]:
    if _is_malformed(exc):
        return malformed(request, exc)
    status = exc.status_code
    type_, title = _HTTP_TYPES.get(status, ("error", "Error"))
    if status >= 500:
        log.error("server error on %s: %s", request.url.path, exc.detail)
        type_, title = "server-error", "Server error"
    return problem(request, status, type_, title, str(exc.detail or title), headers=exc.headers)


def handle_unexpected(request: Request, exc: Exception) -> Response[Problem]:
    log.exception("unexpected error on %s", request.url.path)
    return problem(request, 500, "server-error", "Server error", "Something went wrong on our side; it has been logged.")


EXCEPTION_HANDLERS: dict[Any, Any] = {
    ValidationException: handle_validation,
    msgspec.ValidationError: validation_problem,
    RegistryError: handle_registry,
    DomainError: handle_domain,
    DatabaseUnavailable: handle_unavailable,
    HTTPException: handle_http,
    Exception: handle_unexpected,
}


def _spec(description: str) -> ResponseSpec:
    return ResponseSpec(data_container=Problem, description=description, media_type=PROBLEM)


_DESCRIPTIONS = {
    304: None,
    400: "Malformed JSON or a parameter of the wrong type",
    401: "Missing or unknown bearer token",
    403: "The token's role or municipality may not do this",
    404: "No such resource",
    409: "Stale version, or the procedure does not allow this action now",
    429: "Too many attempts; retry after the Retry-After seconds",
    422: "A field is missing, unknown or invalid",
    503: "The database is unreachable; retry after the Retry-After seconds",
}


def responses(*statuses: int) -> dict[int, ResponseSpec]:
    """OpenAPI response specs for the problems a route can answer with."""
    return {s: _spec(_DESCRIPTIONS[s]) for s in statuses if _DESCRIPTIONS.get(s)}
