"""Request bodies, generated from the procedure table so that the API, its
OpenAPI document and the engine can never disagree about an action's fields."""

# No `from __future__ import annotations`: Litestar reads these types at runtime.
from datetime import date
from typing import Annotated, Any

import msgspec

from registry import workflow
from registry.inputs import Filing, Version, text
from registry.workflow.fields import Day, Grounds, Int, Scores, Text

__all__ = ["ACTION_BODIES", "Filing", "SNAPSHOT_ACTIONS"]

# A plain string: the engine knows the codes (including a municipality's own)
# and answers 422 for an unknown one. (Litestar's OpenAPI drops constraints on
# list items, so a pattern here would refuse what the document allows.)
GroundCode = str


class Score(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """One criterion of the assessment, published with the decision."""

    criterion: Annotated[str, msgspec.Meta(pattern=r"^[a-z][a-z0-9_]{0,39}$", examples=["social_value"])]
    score: Annotated[int, msgspec.Meta(ge=1, le=5)]
    motivation: text(5_000)  # type: ignore[valid-type]


def _type_of(kind: Any) -> Any:
    if isinstance(kind, Text):
        return text(kind.max_length)
    if isinstance(kind, Int):  # also Id
        return Annotated[int, msgspec.Meta(ge=kind.minimum, le=kind.maximum)]
    if isinstance(kind, Day):
        return date
    if isinstance(kind, Grounds):
        return Annotated[list[GroundCode], msgspec.Meta(min_length=1, max_length=30)]
    if isinstance(kind, Scores):
        return Annotated[list[Score], msgspec.Meta(max_length=kind.max_items)]
    raise TypeError(f"no API type for field kind {kind!r}")


# Submitting records the challenge's own particulars; the client sends only the version.
SNAPSHOT_ACTIONS = frozenset({"submit"})


def _body(action: workflow.Action) -> type[msgspec.Struct]:
    fields: list[tuple[str, Any]] = [("expected_version", Version)]
    if action.name not in SNAPSHOT_ACTIONS:
        fields += [(name, _type_of(kind)) for name, kind in action.fields.items()]
        fields += [(name, _type_of(kind) | None, None) for name, kind in action.optional.items()]
    camel = "".join(part.capitalize() for part in action.name.split("_"))
    return msgspec.defstruct(f"{camel}Body", fields, forbid_unknown_fields=True, kw_only=True)


async def strict(request: Any, type_: type[msgspec.Struct]) -> Any:
    """Decode the body again, strictly. Litestar's own decoding is lax (it
    turns "1" into 1); a public API should refuse a wrong type instead of
    guessing. Raises msgspec.ValidationError, mapped to a problem."""
    return msgspec.json.decode(await request.body(), type=type_)


ACTION_BODIES: dict[str, type[msgspec.Struct]] = {name: _body(a) for name, a in workflow.ACTIONS.items()}
