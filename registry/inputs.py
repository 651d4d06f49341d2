"""Input types shared by the API and the pages: bounds checked on decoding,
before anything reaches the database."""

# No `from __future__ import annotations`: Litestar reads these types at runtime.
from datetime import date
from typing import Annotated, Any

import msgspec

from registry.workflow.fields import MAX_INT

# PostgreSQL cannot store NUL in text.
NO_NUL = r"^[^\u0000]*$"

Version = Annotated[
    int, msgspec.Meta(ge=1, le=MAX_INT, description="The version you last saw; a stale one is refused with 409.")
]


def text(max_length: int, description: str = "") -> Any:
    return Annotated[
        str, msgspec.Meta(min_length=1, max_length=max_length, pattern=NO_NUL, description=description or None)
    ]


class Filing(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, frozen=True):
    """A collective files a challenge: a draft, or submitted at once with ``submit: true``."""

    service: Annotated[int, msgspec.Meta(ge=1, le=MAX_INT, description="A challengeable service of your municipality")]
    title: text(200)  # type: ignore[valid-type]
    summary: text(2_000)  # type: ignore[valid-type]
    plan: text(100_000, "Markdown")  # type: ignore[valid-type]
    requested_budget_cents: Annotated[int, msgspec.Meta(ge=0, le=MAX_INT)]
    area: text(500)  # type: ignore[valid-type]
    proposed_start: date
    duration_months: Annotated[int, msgspec.Meta(ge=1, le=600)]
    submit: bool = False
