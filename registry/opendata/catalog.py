"""The DCAT-AP-DONL 1.1 catalogue (JSON-LD) and the API's discovery document."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from registry import ledger
from registry.opendata import LICENCE_ID, LICENCE_URL

DONL = "https://data.overheid.nl/"
# DCAT-AP-DONL asks for values from its own vocabularies.
DONL_LICENCE = "http://creativecommons.org/publicdomain/zero/1.0/deed.nl"
THEME = "http://standaarden.overheid.nl/owms/terms/Bestuur"
LANGUAGES = ["http://publications.europa.eu/resource/authority/language/NLD",
             "http://publications.europa.eu/resource/authority/language/ENG"]  # fmt: skip
METADATA_LANGUAGE = "http://publications.europa.eu/resource/authority/language/ENG"
FILE_TYPES = {
    "CSV": "http://publications.europa.eu/resource/authority/file-type/CSV",
    "JSON": "http://publications.europa.eu/resource/authority/file-type/JSON",
    "NDJSON": "http://publications.europa.eu/resource/authority/file-type/JSON",
    "ATOM": "http://publications.europa.eu/resource/authority/file-type/ATOM",
}
OCDS_SCHEMA = "https://standard.open-contracting.org/1.1/en/schema/"

CONTEXT = {
    "dcat": "http://www.w3.org/ns/dcat#",
    "dct": "http://purl.org/dc/terms/",
    "donl": "https://data.overheid.nl/ns/donl#",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "vcard": "http://www.w3.org/2006/vcard/ns#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "overheid": "http://standaarden.overheid.nl/owms/terms/",
}


def _lit(value: str, lang: str = "en") -> dict[str, str]:
    return {"@value": value, "@language": lang}


def _id(url: str) -> dict[str, str]:
    return {"@id": url}


def _distribution(base: str, path: str, title: str, description: str, fmt: str, media: str, conforms: str | None = None) -> dict[str, Any]:
    url = f"{base}{path}"
    dist: dict[str, Any] = {
        "@id": url + "#distribution",
        "@type": "dcat:Distribution",
        "dcat:accessURL": _id(url),
        "dcat:downloadURL": _id(url),
        "dct:title": _lit(title),
        "dct:description": _lit(description),
        "dct:license": _id(DONL_LICENCE),
        "dct:language": [_id(x) for x in LANGUAGES],
        "dct:format": _id(FILE_TYPES[fmt]),
        "dcat:mediaType": media,
    }
    if conforms:
        dist["dct:conformsTo"] = _id(conforms)
    return dist


def catalog(base: str, municipalities: list[tuple[str, str]], modified: datetime) -> dict[str, Any]:
    publisher = {"@id": f"{base}/#registry", "@type": "foaf:Agent", "foaf:name": "Right-to-Challenge Registry"}
    contact = {
        "@id": f"{base}/#contact",
        "@type": "vcard:Organization",
        "vcard:fn": "Right-to-Challenge Registry, open data desk",
        "vcard:hasURL": _id(f"{base}/api/v1"),
        "vcard:hasEmail": _id("mailto:opendata@uitdaagrecht.example"),
    }
    modified_lit = {"@value": ledger.format_time(modified), "@type": "xsd:dateTime"}

    def dataset(slug: str, title: str, description: str, distributions: list[dict[str, Any]], conforms: str | None = None) -> dict[str, Any]:
        ds: dict[str, Any] = {
            "@id": f"{base}/api/v1/catalog#{slug}",
            "@type": "dcat:Dataset",
            "dct:identifier": f"{base}/api/v1/catalog#{slug}",
            "dct:title": _lit(title),
            "dct:description": _lit(description),
            "donl:metadataLanguage": _id(METADATA_LANGUAGE),
            "dct:language": [_id(x) for x in LANGUAGES],
            "dcat:theme": _id(THEME),
            "dct:modified": modified_lit,
            "overheid:authority": [_id(f"{base}/api/v1/municipalities/{code}") for code, _ in municipalities] or _id(base),
            "dct:publisher": _id(publisher["@id"]),
            "dcat:contactPoint": _id(contact["@id"]),
            "dct:accessRights": _id("http://publications.europa.eu/resource/authority/access-right/PUBLIC"),
            "dcat:landingPage": _id(f"{base}/challenges"),
            "dct:license": _id(DONL_LICENCE),
            "dct:rights": f"{LICENCE_ID} ({LICENCE_URL})",
            "dcat:distribution": distributions,
        }
        if conforms:
            ds["dct:conformsTo"] = _id(conforms)
        return ds

    datasets = [
        dataset(
            "challenges",
            "Right-to-Challenge requests",
            "Every public challenge of a municipal service by a resident collective: state, deadline, "
            "decision with grounds and reasons, agreement. Names of people are never published.",
            [
                _distribution(base, "/api/v1/exports/challenges.csv", "Challenges (CSV)", "One row per challenge, RFC 4180, UTF-8.", "CSV", "text/csv"),
                _distribution(base, "/api/v1/exports/challenges.ndjson", "Challenges (NDJSON)", "One JSON object per line.", "NDJSON", "application/x-ndjson"),
                _distribution(base, "/api/v1/challenges", "Challenges (JSON API)", "Paged JSON API.", "JSON", "application/json"),
            ],
        ),
        dataset(
            "events",
            "Right-to-Challenge ledger events",
            "Every step of every challenge, hash-chained per municipality so that anyone can verify that "
            "nothing was changed afterwards, with signed checkpoints.",
            [
                _distribution(base, "/api/v1/exports/events.ndjson", "Events (NDJSON)", "Every event, in global order.", "NDJSON", "application/x-ndjson",
                              f"{base}/api/v1/ledger/keys"),
                _distribution(base, "/api/v1/feeds/events.atom", "Events (Atom)", "The newest events as an Atom feed.", "ATOM", "application/atom+xml"),
                _distribution(base, "/api/v1/ledger/checkpoints", "Signed checkpoints", "Ed25519-signed chain heads.", "JSON", "application/json"),
            ],
        ),
        dataset(
            "ocds",
            "Right-to-Challenge requests in the Open Contracting Data Standard",
            "Each challenge as an OCDS 1.1 contracting process, each step as a release, with a local extension.",
            [
                _distribution(base, "/api/v1/ocds/releases", "OCDS release packages", "Paged release packages.", "JSON", "application/json", OCDS_SCHEMA),
            ],
            OCDS_SCHEMA,
        ),
        dataset(
            "initiatives",
            "Citizen initiatives",
            "Who does what for their neighbourhood: bread funds, energy cooperatives, care circles and more, as "
            "Popolo Organizations with domains, offers and needs. Organisations only; never their members.",
            [
                _distribution(base, "/api/v1/exports/initiatives.ndjson", "Initiatives (NDJSON)",
                              "One Popolo Organization per line.", "NDJSON", "application/x-ndjson"),
                _distribution(base, "/api/v1/initiatives", "Initiatives (JSON API)", "Searchable, paged JSON API.",
                              "JSON", "application/json"),
            ],
        ),
        dataset(
            "statistics",
            "Right-to-Challenge statistics",
            "Counts per state, outcomes, rejection grounds, time to decision, deadline compliance and budget "
            "transferred, computed from the ledger.",
            [_distribution(base, "/api/v1/stats", "Statistics (JSON)", "Filter by municipality, category, year.", "JSON", "application/json")],
        ),
    ]
    return {
        "@context": CONTEXT,
        "@id": f"{base}/api/v1/catalog",
        "@type": "dcat:Catalog",
        "dct:title": _lit("Right-to-Challenge Registry: open data"),
        "dct:description": _lit("Bulk data, OCDS, feeds, statistics and a verifiable ledger of Right-to-Challenge requests."),
        "dct:publisher": publisher,
        "dct:license": _id(DONL_LICENCE),
        "dct:language": [_id(x) for x in LANGUAGES],
        "dct:modified": modified_lit,
        "dcat:contactPoint": contact,
        "dcat:dataset": datasets,
    }


FORMATS = {
    "/api/v1/exports/challenges.csv": ["text/csv"],
    "/api/v1/exports/challenges.ndjson": ["application/x-ndjson"],
    "/api/v1/exports/events.ndjson": ["application/x-ndjson"],
    "/api/v1/catalog": ["application/ld+json"],
}


def discovery(base: str, api_version: str, openapi: dict[str, Any]) -> dict[str, Any]:
    """Every endpoint of the OpenAPI document, with its formats."""
    endpoints = []
    for path, item in sorted(openapi.get("paths", {}).items()):
        for method, op in item.items():
            if method not in ("get", "post", "put", "patch", "delete") or not isinstance(op, dict):
                continue
            ok = op.get("responses", {}).get("200") or op.get("responses", {}).get("201") or {}
            formats = FORMATS.get(path) or sorted((ok.get("content") or {}).keys()) or ["application/json"]
            endpoints.append({
                "method": method.upper(),
                "path": path,
                "url": f"{base}{path}",
                "operation_id": op.get("operationId"),
                "summary": op.get("summary") or (op.get("description") or "").split("\n")[0],
                "formats": formats,
                "auth": bool(op.get("security")),
            })  # fmt: skip
    return {
        "name": "Right-to-Challenge Registry API",
        "api_version": api_version,
        "openapi": f"{base}/api/v1/openapi.json",
        "documentation": f"{base}/api/v1/schema",
        "licence": {"id": LICENCE_ID, "url": LICENCE_URL, "applies_to": "all data served by this API"},
        "catalog": f"{base}/api/v1/catalog",
        "errors": "RFC 9457 application/problem+json",
        "pagination": "keyset: follow `next` or the Link rel=next header",
        "endpoints": endpoints,
    }
