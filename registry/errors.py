"""Application errors, each with a stable problem type. Mapped to HTTP in one
place (registry.api.problems)."""

from __future__ import annotations


class RegistryError(Exception):
    status = 400
    type = "bad-request"
    title = "Bad request"

    headers: dict[str, str] | None = None

    def __init__(self, detail: str, field: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field


class NotFound(RegistryError):
    status = 404
    type = "not-found"
    title = "Not found"


class Unauthenticated(RegistryError):
    status = 401
    type = "unauthenticated"
    title = "Authentication required"


class Forbidden(RegistryError):
    status = 403
    type = "forbidden"
    title = "Not allowed"


class StaleVersion(RegistryError):
    status = 409
    type = "stale-version"
    title = "The challenge has changed"


class Invalid(RegistryError):
    status = 422
    type = "invalid-field"
    title = "Invalid input"
