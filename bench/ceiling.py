"""The practical ceiling: a bare Litestar app, one endpoint, one single-row
asyncpg SELECT, JSON by msgspec. Same stack as the registry (granian, Litestar,
asyncpg pool of the same size), none of its work.

    REGISTRY_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/registry_bench \
        granian --interface asgi --working-dir bench ceiling:app
    curl http://127.0.0.1:8000/c/42
"""

from __future__ import annotations

import os
from contextlib import asynccontextmanager
from typing import AsyncIterator

import asyncpg
import msgspec
from litestar import Litestar, Response, get
from litestar.datastructures import State

URL = os.environ.get("REGISTRY_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/registry_bench")


class Row(msgspec.Struct, frozen=True):
    id: int
    ref: str
    title: str


_encode = msgspec.json.Encoder().encode


@get("/c/{challenge_id:int}")
async def one(state: State, challenge_id: int) -> Response:
    async with state.pool.acquire() as conn:
        row = await conn.fetchrow("SELECT id, ref, title FROM challenges WHERE id = $1", challenge_id)
    if row is None:
        return Response(b'{"detail":"not found"}', status_code=404, media_type="application/json")
    return Response(_encode(Row(row["id"], row["ref"], row["title"])), media_type="application/json")


@asynccontextmanager
async def lifespan(app: Litestar) -> AsyncIterator[None]:
    # The registry's defaults: REGISTRY_POOL_MIN=2, REGISTRY_POOL_MAX=10.
    app.state.pool = await asyncpg.create_pool(
        URL,
        min_size=int(os.environ.get("REGISTRY_POOL_MIN", "2")),
        max_size=int(os.environ.get("REGISTRY_POOL_MAX", "10")),
    )
    try:
        yield
    finally:
        await app.state.pool.close()


app = Litestar(route_handlers=[one], lifespan=[lifespan], openapi_config=None, debug=False)
