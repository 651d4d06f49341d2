"""JSON responses with ETag / If-None-Match and keyset-pagination links."""

from __future__ import annotations

import hashlib
from typing import Any
from urllib.parse import urlencode

import msgspec
from litestar import Request, Response

_encode = msgspec.json.Encoder().encode


def etag_of(body: bytes) -> str:
    return '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'


def json_response(
    request: Request,
    content: Any,
    headers: dict[str, str] | None = None,
    status: int = 200,
    etag_source: bytes | None = None,
) -> Response:
    """Encode once, tag it, and answer 304 when the client has it already.
    ``etag_source``: something shorter than the body that changes whenever it
    does (for immutable content), to tag instead of the body."""
    body = content if isinstance(content, bytes) else _encode(content)
    etag = etag_of(body if etag_source is None else etag_source)
    all_headers = {"ETag": etag, "Cache-Control": "public, no-cache"}
    if headers:
        all_headers.update(headers)
    if status == 200:
        match = request.headers.get("if-none-match")
        if match and (match.strip() == "*" or etag in (t.strip() for t in match.split(","))):
            return Response(b"", status_code=304, headers=all_headers)
    return Response(body, status_code=status, media_type="application/json", headers=all_headers)


def next_url(request: Request, base: str, **replace: Any) -> str:
    params = {k: v for k, v in request.query_params.items()}
    params.update({k: str(v) for k, v in replace.items()})
    return f"{base}{request.url.path}?{urlencode(params)}"


def link_header(url: str | None) -> dict[str, str]:
    return {"Link": f'<{url}>; rel="next"'} if url else {}
