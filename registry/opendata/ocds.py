"""The Open Contracting Data Standard view of the registry (docs/ocds-mapping.md).

A challenge is a contracting process (``ocid`` = prefix + reference); each
public event about a challenge is one release. Events about something else
(an initiative, settings) are not contracting processes and are left out.
What OCDS lacks goes into the local extension below, served by the registry.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import asyncpg
import msgspec

from registry import ledger
from registry.opendata import LICENCE_URL, streams

VERSION = "1.1"
CURRENCY = "EUR"
_decode = msgspec.json.Decoder().decode
_encode = msgspec.json.Encoder().encode

OPEN_STATES = {"submitted", "under_assessment", "information_requested", "accepted", "modification_proposed"}
CONTRACTED_STATES = {"agreed", "in_operation", "evaluated", "ended", "returned"}

TAGS = {
    "submit": ["planning"],
    "conclude_agreement": ["award", "contract"],
    "start_operation": ["contractUpdate"],
    "report_progress": ["implementation"],
    "evaluate": ["implementationUpdate"],
    "renew": ["contractAmendment"],
    "end": ["contractTermination"],
    "terminate": ["contractTermination"],
}  # everything else (the assessment and decisions) is a planningUpdate

DECISIONS = {
    "declare_admissible": "admissible",
    "declare_inadmissible": "inadmissible",
    "accept": "accepted",
    "propose_modification": "modification_proposed",
    "consent": "accepted",
    "decline": "rejected",
    "reject": "rejected",
}


def extension_url(base: str) -> str:
    return f"{base}/api/v1/ocds/extension/extension.json"


def ocid(prefix: str, ref: str) -> str:
    return f"{prefix}-{ref}"


def _amount(cents: int) -> dict[str, Any]:
    return {"amount": cents / 100, "currency": CURRENCY}


def _day(iso_date: str) -> str:
    return f"{iso_date}T00:00:00Z"


def tender_status(from_state: str, to_state: str) -> str:
    if to_state in CONTRACTED_STATES or (to_state == "withdrawn" and from_state == "agreed"):
        return "complete"
    if to_state in OPEN_STATES:
        return "planning"
    return "withdrawn"  # inadmissible, lapsed, rejected, withdrawn before an agreement


# The columns a release needs besides the event: all public. The event is read
# from its served copy (events.doc: the body plus id and hash, stored as text),
# so PostgreSQL does not render the jsonb body for every release.
RELEASE_COLUMNS = """
    e.id, e.hash, e.doc AS body, m.name AS municipality_name,
    c.collective_id, co.name AS collective_name, co.legal_form,
    c.service_id, s.name AS service_name, s.category, s.department, c.support_count
"""
RELEASE_JOINS = """
    FROM events e
    JOIN challenges c ON c.id = e.challenge_id
    JOIN municipalities m ON m.code = e.municipality_code
    JOIN collectives co ON co.id = c.collective_id
    JOIN services s ON s.id = c.service_id
"""


def release(row: Any, prefix: str) -> dict[str, Any]:
    """One event as an OCDS release."""
    body = _decode(row["body"])
    ref, action, data = body["challenge"], body["action"], body["data"]
    frm, to, at = body["from_state"], body["to_state"], body["occurred_at"]
    code = body["municipality"]
    challenger = f"collective-{row['collective_id']}"
    supplier = to in CONTRACTED_STATES or (to == "withdrawn" and frm == "agreed")
    rel: dict[str, Any] = {
        "ocid": ocid(prefix, ref),
        "id": f"{code}-{body['seq']}",
        "date": at,
        "tag": TAGS.get(action, ["planningUpdate"]),
        "initiationType": "tender",
        "language": "nl",
        "parties": [
            {"id": code, "name": row["municipality_name"], "roles": ["buyer"]},
            {
                "id": challenger,
                "name": row["collective_name"],
                "roles": ["challenger", "supplier"] if supplier else ["challenger"],
                "details": {"legalForm": row["legal_form"]},
            },
        ],
        "buyer": {"id": code, "name": row["municipality_name"]},
        "tender": {"id": ref, "status": tender_status(frm, to), "statusDetails": to},
    }
    ext: dict[str, Any] = {
        "reference": ref,
        "action": action,
        "previousState": frm,
        "state": to,
        "status": "open" if to in OPEN_STATES or to in {"agreed", "in_operation", "evaluated"} else "closed",
        "actorRole": body["actor_role"],
        "deadline": {"dueDate": body["due_at"], "waitingOn": body["waiting_on"]},
        "supportCount": row["support_count"],
        "service": {
            "id": str(row["service_id"]),
            "name": row["service_name"],
            "category": row["category"],
            "department": row["department"],
        },
        "ledger": {"municipality": code, "seq": body["seq"], "hash": row["hash"], "eventId": row["id"]},
    }
    award_id, contract_id = f"{ref}-award", f"{ref}-agreement"
    tender = rel["tender"]

    if action == "submit":
        tender["title"] = data["title"]
        tender["description"] = data["summary"]
        tender["value"] = _amount(data["requested_budget_cents"])
        tender["mainProcurementCategory"] = "services"
        tender["contractPeriod"] = {"startDate": _day(data["proposed_start"])}
        rel["planning"] = {"rationale": data["plan"]}
        ext["area"] = data["area"]
        ext["durationMonths"] = data["duration_months"]
    if action in DECISIONS:
        decision: dict[str, Any] = {"outcome": DECISIONS[action], "decidedAt": at}
        if action == "consent":
            decision["consentToModification"] = True  # the proposed modification stays on record
        elif action == "decline":
            decision.update(groundCodes=None, reasons=data.get("reasons"), consentToModification=False)
        else:
            decision.update(
                groundCodes=data.get("grounds"),
                reasons=data.get("reasons"),
                modification=data.get("modification"),
                consentToModification=None,
            )
        ext["decision"] = decision
    if action == "request_information":
        ext["informationRequest"] = {"questions": data.get("questions"), "answer": None, "requestedAt": at}
    elif action == "provide_information":
        ext["informationRequest"] = {"answer": data.get("answer"), "answeredAt": at}
    if action in ("withdraw", "terminate", "lapse"):
        ext["closingReasons"] = data.get("reasons")

    if action == "conclude_agreement":
        value = _amount(data["budget_cents"])
        period = {"startDate": _day(data["starts_on"]), "endDate": _day(data["ends_on"])}
        rel["awards"] = [{
            "id": award_id, "status": "active", "date": at, "value": value,
            "suppliers": [{"id": challenger, "name": row["collective_name"]}], "contractPeriod": period,
        }]  # fmt: skip
        rel["contracts"] = [{
            "id": contract_id, "awardID": award_id, "status": "pending", "value": value, "period": period,
            "dateSigned": at, "description": data.get("conditions"),
        }]  # fmt: skip
    elif action == "start_operation":
        rel["contracts"] = [{"id": contract_id, "awardID": award_id, "status": "active"}]
    elif action in ("report_progress", "evaluate"):
        report = action == "report_progress"
        milestone = {
            "id": rel["id"],
            "title": "Progress report" if report else "Evaluation",
            "type": "reporting" if report else "assessment",
            "description": data.get("report" if report else "evaluation"),
            "status": "met",
            "dateMet": at,
        }
        rel["contracts"] = [{"id": contract_id, "awardID": award_id, "implementation": {"milestones": [milestone]}}]
    elif action == "renew":
        rel["contracts"] = [{
            "id": contract_id, "awardID": award_id, "period": {"endDate": _day(data["ends_on"])},
            "amendments": [{"id": rel["id"], "date": at, "rationale": "Renewal after evaluation",
                            "description": f"The agreement now ends on {data['ends_on']}."}],
        }]  # fmt: skip
    elif action in ("end", "terminate"):
        rel["contracts"] = [{"id": contract_id, "awardID": award_id, "status": "terminated"}]
    elif action == "withdraw" and frm == "agreed":
        rel["tag"] = ["awardCancellation", "contractTermination"]
        rel["awards"] = [{"id": award_id, "status": "cancelled"}]
        rel["contracts"] = [{"id": contract_id, "awardID": award_id, "status": "cancelled"}]
    # Explicit nulls appear only in the extension (a cleared deadline, a
    # decision field that no longer applies): merging removes those fields.
    rel["challenge"] = ext
    return rel


# --- merging (the OCDS merge routine, enough for the releases above) ------------


def _merge(into: dict[str, Any], src: dict[str, Any]) -> dict[str, Any]:
    # This runs for every field of every release in a dump, so: ``type(x) is``
    # rather than isinstance (the releases are plain decoded JSON), and an
    # object or list equal to what is already there is left as it is (merging
    # it would change nothing; no field of a release is a number in one
    # release and a boolean in another, where == would not tell them apart).
    for key, value in src.items():
        kind = type(value)
        if value is None:
            into.pop(key, None)
        elif kind is dict:
            old = into.get(key)
            if old != value:
                into[key] = _merge(old if type(old) is dict else {}, value)
        elif kind is list and value and all(type(v) is dict and "id" in v for v in value):
            old = into.get(key, ())
            if old != value:
                by_id = {item["id"]: item for item in old if type(item) is dict}
                for item in value:
                    by_id[item["id"]] = _merge(by_id.get(item["id"], {}), item)
                into[key] = list(by_id.values())
        else:
            # Scalars, and lists of strings: nothing below them is ever mutated.
            into[key] = list(value) if kind is list else value
    return into


def compile_releases(releases: list[dict[str, Any]]) -> dict[str, Any]:
    """The compiled release: releases merged in date order, later values winning."""
    out: dict[str, Any] = {}
    for r in sorted(releases, key=lambda r: r["date"]):
        _merge(out, {k: v for k, v in r.items() if k not in ("id", "tag", "date")})
    last = max(r["date"] for r in releases)
    return {"ocid": out.pop("ocid"), "id": f"{releases[0]['ocid']}-{last}", "date": last, "tag": ["compiled"], **out}


# --- packages -------------------------------------------------------------------


def package_header(base: str, uri: str, published: datetime) -> dict[str, Any]:
    return {
        "uri": uri,
        "version": VERSION,
        "extensions": [extension_url(base)],
        "publishedDate": ledger.format_time(published),
        "publisher": {"name": "Right-to-Challenge Registry", "uri": base},
        "license": LICENCE_URL,
        "publicationPolicy": f"{base}/api/v1/ocds/extension/docs",
    }


async def releases_after(conn: asyncpg.Connection, after: int, limit: int, municipality: str | None) -> list[asyncpg.Record]:
    return await conn.fetch(
        f"SELECT {RELEASE_COLUMNS} {RELEASE_JOINS}"
        " WHERE e.challenge_id IS NOT NULL AND e.id > $1 AND ($3::text IS NULL OR e.municipality_code = $3)"
        " ORDER BY e.id LIMIT $2",
        after,
        limit,
        municipality,
    )


async def challenge_releases(conn: asyncpg.Connection, challenge_id: int, prefix: str) -> list[dict[str, Any]]:
    rows = await conn.fetch(f"SELECT {RELEASE_COLUMNS} {RELEASE_JOINS} WHERE e.challenge_id = $1 ORDER BY e.id", challenge_id)
    return [release(r, prefix) for r in rows]


def record(releases: list[dict[str, Any]]) -> dict[str, Any]:
    return {"ocid": releases[0]["ocid"], "releases": releases, "compiledRelease": compile_releases(releases)}


def package_open(header: dict[str, Any], key: str) -> bytes:
    """The package's JSON up to the opening bracket of its ``key`` list."""
    text = _encode({**header, key: []})
    return text[:-2]  # drop the closing ']}'


PACKAGE_CLOSE = b"]}"


def process_json(releases: list[dict[str, Any]]) -> tuple[list[bytes], bytes]:
    """One contracting process's releases, each encoded once, and its record
    built around those same bytes: equal to ``_encode(record(releases))``."""
    encoded = [_encode(r) for r in releases]
    rec = (
        b'{"ocid":' + _encode(releases[0]["ocid"]) + b',"releases":[' + b",".join(encoded)
        + b'],"compiledRelease":' + _encode(compile_releases(releases)) + b"}"
    )  # fmt: skip
    return encoded, rec


async def process_batches(conn: asyncpg.Connection, prefix: str, after: int, upto: int, batch: int = 500) -> AsyncIterator[tuple[list[bytes], list[bytes]]]:
    """The contracting processes of the challenges with ``after < id <= upto``,
    in challenge order, events in id order within each: batches of (encoded
    releases, encoded records), each batch whole processes only. One pass
    builds each release once for both packages; the caller holds a transaction.
    A batch of 500 events is a few MB in memory, and as fast as bigger ones."""
    sql = (
        f"SELECT e.challenge_id, {RELEASE_COLUMNS} {RELEASE_JOINS}"
        " WHERE e.challenge_id > $1 AND e.challenge_id <= $2 ORDER BY e.challenge_id, e.id"
    )
    current, pending = None, []
    async for rows in streams.rows(conn, sql, after, upto, batch=batch):
        releases: list[bytes] = []
        records: list[bytes] = []
        for r in rows:
            if r["challenge_id"] != current and pending:
                encoded, rec = process_json(pending)
                releases += encoded
                records.append(rec)
                pending = []
            current = r["challenge_id"]
            pending.append(release(r, prefix))
        if records:
            yield releases, records
    if pending:
        encoded, rec = process_json(pending)
        yield encoded, [rec]


# --- the local extension ----------------------------------------------------------


def extension_json(base: str) -> dict[str, Any]:
    return {
        "name": {"en": "Right to Challenge", "nl": "Uitdaagrecht"},
        "description": {
            "en": "What OCDS lacks for a Right-to-Challenge (uitdaagrecht) procedure: the challenge's precise "
            "state, deadline and whom it waits on, decisions with ground codes and reasons, consent to a "
            "proposed modification, support count, criteria scores, and the event's place in the signed ledger; "
            "and the 'challenger' party role.",
        },
        "documentationUrl": {"en": f"{base}/api/v1/ocds/extension/docs"},
        "compatibility": ["1.1"],
        "schemas": ["release-schema.json"],
        "codelists": ["+partyRole.csv"],
        "contactPoint": {"name": "Right-to-Challenge Registry", "email": "opendata@uitdaagrecht.example"},
    }


PARTY_ROLE_CSV = (
    "Code,Title,Description\r\n"
    "challenger,Challenger,\"A collective of residents that challenges the buyer to hand over the delivery of a "
    "public service (Right to Challenge, uitdaagrecht).\"\r\n"
)



def _s(title: str, description: str, **extra: Any) -> dict[str, Any]:
    return {"title": title, "description": description, "type": ["string", "null"], **extra}


def release_schema() -> dict[str, Any]:
    """The extension's release schema patch (JSON Schema draft 4, as OCDS 1.1)."""
    return {
        "properties": {
            "challenge": {
                "title": "Right to Challenge",
                "description": "The Right-to-Challenge procedure as of this release.",
                "$ref": "#/definitions/Challenge",
            }
        },
        "definitions": {
            "Challenge": {
                "title": "Challenge",
                "description": "A collective's challenge to take over a public service.",
                "type": "object",
                "properties": {
                    "reference": _s("Reference", "The registry's reference, e.g. GM0363-2026-0001."),
                    "action": _s("Action", "The workflow action this release records (docs/workflow.md)."),
                    "previousState": _s("Previous state", "The challenge's state before the action."),
                    "state": _s("State", "The challenge's precise state after the action."),
                    "status": _s("Status", "Coarse status: open or closed.", enum=["open", "closed", None]),
                    "actorRole": _s("Actor role", "collective, reviewer, admin or system; never a person."),
                    "area": _s("Area", "The neighbourhood or area the challenge covers."),
                    "durationMonths": {"title": "Duration in months", "description": "The proposed duration.",
                                       "type": ["integer", "null"], "minimum": 1},
                    "supportCount": {
                        "title": "Support count",
                        "description": "How many residents support the challenge, when the package was published "
                        "(a live count, not part of the ledger).",
                        "type": ["integer", "null"],
                        "minimum": 0,
                    },
                    "deadline": {"$ref": "#/definitions/ChallengeDeadline"},
                    "service": {"$ref": "#/definitions/ChallengedService"},
                    "decision": {"$ref": "#/definitions/ChallengeDecision"},
                    "informationRequest": {"$ref": "#/definitions/InformationRequest"},
                    "closingReasons": _s("Closing reasons", "Why the challenge was withdrawn, terminated or lapsed."),
                    "criteriaScores": {
                        "title": "Criteria scores",
                        "description": "Scores on the municipality's assessment criteria, where it publishes them.",
                        "type": ["array", "null"],
                        "items": {"$ref": "#/definitions/CriterionScore"},
                    },
                    "ledger": {"$ref": "#/definitions/LedgerEntry"},
                },
            },
            "ChallengeDeadline": {
                "title": "Deadline",
                "description": "The running deadline after this release, and whom the challenge waits on.",
                "type": "object",
                "properties": {
                    "dueDate": _s("Due date", "When the step is due.", format="date-time"),
                    "waitingOn": _s("Waiting on", "municipality or collective.",
                                    enum=["municipality", "collective", None]),
                },
            },
            "ChallengedService": {
                "title": "Challenged service",
                "description": "The municipal service the collective wants to take over.",
                "type": "object",
                "properties": {
                    "id": _s("Identifier", "The registry's service id."),
                    "name": _s("Name", "The service's name."),
                    "category": _s("Category", "renovation, street_cleaning, microcorporation, green_maintenance, "
                                   "neighbourhood_supervision or other."),
                    "department": _s("Department", "The municipal department that runs it."),
                },
            },
            "ChallengeDecision": {
                "title": "Decision",
                "description": "The last decision on the challenge.",
                "type": "object",
                "properties": {
                    "outcome": _s("Outcome", "admissible, inadmissible, accepted, modification_proposed or rejected."),
                    "groundCodes": {
                        "title": "Ground codes",
                        "description": "The legal grounds of an inadmissibility or a rejection (docs/workflow.md).",
                        "type": ["array", "null"],
                        "items": {"type": "string"},
                    },
                    "reasons": _s("Reasons", "The reasons given."),
                    "modification": _s("Modification", "The modification the municipality proposed."),
                    "consentToModification": {
                        "title": "Consent to the modification",
                        "description": "Whether the collective consented to the proposed modification.",
                        "type": ["boolean", "null"],
                    },
                    "decidedAt": _s("Decided at", "When the decision was taken.", format="date-time"),
                },
            },
            "InformationRequest": {
                "title": "Information request",
                "description": "The municipality's questions and the collective's answer; the clock pauses meanwhile.",
                "type": "object",
                "properties": {
                    "questions": _s("Questions", "What the municipality asked."),
                    "answer": _s("Answer", "What the collective answered."),
                    "requestedAt": _s("Requested at", "When it was asked.", format="date-time"),
                    "answeredAt": _s("Answered at", "When it was answered.", format="date-time"),
                },
            },
            "CriterionScore": {
                "title": "Criterion score",
                "description": "A score on one assessment criterion.",
                "type": "object",
                "required": ["id"],
                "properties": {
                    "id": {"title": "Identifier", "description": "The criterion's identifier.", "type": ["string", "integer"]},
                    "criterion": _s("Criterion", "The criterion."),
                    "score": {"title": "Score", "description": "The score.", "type": ["number", "null"]},
                    "maximum": {"title": "Maximum", "description": "The highest possible score.", "type": ["number", "null"]},
                },
            },
            "LedgerEntry": {
                "title": "Ledger entry",
                "description": "Where this release's event sits in the municipality's hash chain (docs/ledger.md).",
                "type": "object",
                "properties": {
                    "municipality": _s("Municipality", "The CBS code of the chain."),
                    "seq": {"title": "Sequence number", "description": "The position in the chain.", "type": ["integer", "null"]},
                    "hash": _s("Hash", "SHA-256 of the event's canonical JSON.", pattern="^[0-9a-f]{64}$"),
                    "eventId": {"title": "Event id", "description": "The global event id of the change feed.",
                                "type": ["integer", "null"]},
                },
            },
        },
    }
