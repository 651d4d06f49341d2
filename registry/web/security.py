"""Security headers on every response, pages and API alike.

Registered as a Litestar ``before_send`` hook rather than a middleware: hooks
see every response, including 404s for unknown paths and exception-handler
responses, which route middleware never does.

The pages run no inline script or style (no ``<script>`` blocks, no
``style=`` attributes, no ``on*=`` handlers): the CSP would block them.
"""

from __future__ import annotations

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'"
)

# Litestar's OpenAPI browsers (/api/v1/schema, /redoc, /swagger, ...) load
# their scripts and styles from CDNs and run inline bootstrap code. They show
# no user content, so they get a policy that allows exactly that; the
# documents themselves (openapi.json/.yaml) keep the strict one.
SCHEMA_UI_PREFIX = "/api/v1/schema"
SCHEMA_DOCUMENTS = ("/api/v1/schema/openapi.json", "/api/v1/schema/openapi.yaml", "/api/v1/schema/openapi.yml")
_CDNS = "https://cdn.jsdelivr.net https://unpkg.com https://cdn.redoc.ly"
SCHEMA_UI_CSP = (
    f"default-src 'self'; script-src 'self' 'unsafe-inline' {_CDNS}; "
    f"style-src 'self' 'unsafe-inline' {_CDNS} https://fonts.googleapis.com; "
    "font-src 'self' data: https://fonts.gstatic.com; img-src 'self' data: https:; worker-src 'self' blob:; "
    "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'"
)

HEADERS: dict[str, str] = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "strict-origin-when-cross-origin",
    "x-frame-options": "DENY",
    "permissions-policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()",
    "cross-origin-opener-policy": "same-origin",
}


def csp_for(path: str) -> str:
    if path.startswith(SCHEMA_UI_PREFIX) and path not in SCHEMA_DOCUMENTS:
        return SCHEMA_UI_CSP
    return CSP


async def add_security_headers(message: dict, scope: dict) -> None:
    """Litestar ``before_send`` hook. Headers a handler set itself are kept."""
    if message["type"] != "http.response.start":
        return
    headers = list(message.get("headers") or [])
    present = {k.lower() for k, _ in headers}
    wanted = {**HEADERS, "content-security-policy": csp_for(scope.get("path", ""))}
    for name, value in wanted.items():
        if name.encode() not in present:
            headers.append((name.encode(), value.encode()))
    message["headers"] = headers
