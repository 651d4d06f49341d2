"""Atom feeds (RFC 4287) of public events: all, per municipality, per challenge."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from xml.sax.saxutils import escape, quoteattr

import asyncpg
import msgspec

from registry import ledger
from registry.opendata import LICENCE_URL
from registry.store.events import PUBLIC_EVENT_SQL

FEED_SIZE = 50
_decode = msgspec.json.Decoder().decode


async def latest_events(
    conn: asyncpg.Connection, *, municipality: str | None = None, challenge_id: int | None = None, limit: int = FEED_SIZE
) -> list[tuple[dict[str, Any], str | None]]:
    """The newest public events, newest first, with the subject of events
    that are not about a challenge."""
    # One statement per shape, so that each has its own plan: with optional
    # filters in one statement, a generic plan may walk the whole log
    # backwards looking for one old challenge's events.
    if challenge_id is not None:
        where, args = "WHERE challenge_id = $2", [challenge_id]
    elif municipality is not None:
        where, args = "WHERE municipality_code = $2", [municipality]
    else:
        where, args = "", []
    rows = await conn.fetch(
        f"SELECT ({PUBLIC_EVENT_SQL})::text AS doc, subject FROM events {where} ORDER BY id DESC LIMIT $1", limit, *args
    )
    return [(_decode(r["doc"]), r["subject"]) for r in rows]


def _title(event: dict[str, Any], subject: str | None) -> str:
    what = event["challenge"] or subject or event["municipality"]
    action = event["action"].replace("_", " ")
    if event["from_state"] != event["to_state"]:
        return f"{what}: {action} ({event['from_state'].replace('_', ' ')} → {event['to_state'].replace('_', ' ')})"
    return f"{what}: {action}"


def _summary(event: dict[str, Any]) -> str:
    lines = [f"{event['actor_role']} took the action '{event['action']}' on {event['occurred_at']}."]
    if event.get("due_at"):
        lines.append(f"Next deadline: {event['due_at']}, waiting on the {event['waiting_on']}.")
    for key, value in (event.get("data") or {}).items():
        if isinstance(value, list):
            value = ", ".join(map(str, value))
        if key not in ("plan",):
            lines.append(f"{key.replace('_', ' ')}: {value}")
    lines.append(f"Ledger: {event['municipality']} #{event['seq']}, hash {event['hash']}.")
    return "\n".join(lines)


def atom(
    events: list[tuple[dict[str, Any], str | None]], *, base: str, self_url: str, title: str, feed_id: str, now: datetime
) -> bytes:
    updated = events[0][0]["occurred_at"] if events else ledger.format_time(now)
    out = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en">',
        f"<id>{escape(feed_id)}</id>",
        f"<title>{escape(title)}</title>",
        f"<updated>{updated}</updated>",
        f"<link rel=\"self\" type=\"application/atom+xml\" href={quoteattr(self_url)}/>",
        f"<link rel=\"alternate\" type=\"text/html\" href={quoteattr(base + '/challenges')}/>",
        f"<link rel=\"license\" href={quoteattr(LICENCE_URL)}/>",
        "<author><name>Right-to-Challenge Registry</name></author>",
        "<rights>CC0-1.0: no rights reserved</rights>",
    ]
    for event, subject in events:
        ref = event["challenge"]
        link = f"{base}/challenges/{ref}" if ref else f"{base}/api/v1/events?after={event['id'] - 1}&limit=1"
        out += [
            "<entry>",
            f"<id>{escape(entry_id(base, event))}</id>",
            f"<title>{escape(_title(event, subject))}</title>",
            f"<updated>{event['occurred_at']}</updated>",
            f"<published>{event['occurred_at']}</published>",
            f"<link rel=\"alternate\" type=\"text/html\" href={quoteattr(link)}/>",
            f"<category term={quoteattr(event['action'])}/>",
            f"<content type=\"text\">{escape(_summary(event))}</content>",
            "</entry>",
        ]
    out.append("</feed>")
    return ("\n".join(out) + "\n").encode("utf-8")


def entry_id(base: str, event: dict[str, Any]) -> str:
    """Stable and unique: the event's place in its municipality's chain."""
    return f"{base}/api/v1/events#{event['municipality']}-{event['seq']}"
