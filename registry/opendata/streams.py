"""Constant-memory reads of large result sets.

Two ways out of PostgreSQL, both with back-pressure, neither with OFFSET:

- ``copy_lines``: ``COPY (query) TO STDOUT`` of one text column, each row one
  line. Used for JSON that PostgreSQL builds itself (events), so Python only
  moves bytes; as fast as COPY itself.
- ``rows``: a server-side cursor inside the caller's transaction, fetched in
  batches, for rows that go through the public serializer in Python.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import asyncpg

# A download may legitimately take hours on a slow line; the pool's
# command_timeout (seconds) must not cut it off.
COPY_TIMEOUT = 24 * 3600
_END = object()


async def copy_lines(conn: asyncpg.Connection, query: str, *args, queue_size: int = 16) -> AsyncIterator[bytes]:
    """Yield the output of ``COPY (query) TO STDOUT`` in chunks of whole or
    partial lines. ``query`` must select one column of text containing no raw
    control characters (JSON as PostgreSQL prints it qualifies): CSV format
    with control characters as quote and delimiter then writes each value
    verbatim, one per line, with no escaping to undo."""
    queue: asyncio.Queue = asyncio.Queue(maxsize=queue_size)

    async def sink(chunk: bytes) -> None:
        await queue.put(bytes(chunk))  # blocks when the reader is slow: back-pressure

    async def produce() -> None:
        try:
            await conn.copy_from_query(
                query, *args, output=sink, format="csv", quote="\x01", delimiter="\x02", timeout=COPY_TIMEOUT
            )
        finally:
            await queue.put(_END)

    task = asyncio.create_task(produce())
    try:
        while True:
            item = await queue.get()
            if item is _END:
                break
            yield item
        await task  # re-raise what went wrong, if anything
    finally:
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


async def lines(chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """Re-cut a byte stream into lines (without the newline)."""
    rest = b""
    async for chunk in chunks:
        parts = (rest + chunk).split(b"\n")
        rest = parts.pop()
        for part in parts:
            yield part
    if rest:
        yield rest


async def rows(conn: asyncpg.Connection, query: str, *args, batch: int = 1000) -> AsyncIterator[list[asyncpg.Record]]:
    """Batches of rows from a server-side cursor; the caller holds a transaction."""
    cursor = await conn.cursor(query, *args)
    while True:
        found = await cursor.fetch(batch, timeout=COPY_TIMEOUT)
        if not found:
            return
        yield found
