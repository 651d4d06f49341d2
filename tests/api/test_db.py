"""The connection layer: timestamps at the edges of the calendar come back
exact and timezone-aware (a naive value once made every list answer 500)."""

from datetime import datetime, timezone


async def test_extreme_timestamps_round_trip_aware(db):
    async with db.connection() as conn:
        for text in ("0001-01-01 00:00:00+00", "9999-12-31 23:59:59.999999+00", "2026-11-23 10:00:00+00"):
            value = await conn.fetchval("SELECT $1::text::timestamptz", text)
            assert value.tzinfo is not None, text
            assert await conn.fetchval("SELECT $1::timestamptz = $2::text::timestamptz", value, text), text
        assert await conn.fetchval("SELECT $1::timestamptz", datetime(1, 1, 1, tzinfo=timezone.utc)) == datetime(
            1, 1, 1, tzinfo=timezone.utc
        )
