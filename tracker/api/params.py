"""The `as_of` query parameter as the API documents it and reports its errors.

What a value means is `tracker.instants`' to say; the API only names the parameter in
its 400."""

from __future__ import annotations

from rest_framework.exceptions import ValidationError

from tracker import instants
from tracker.instants import AsOf, InstantError

AS_OF_HELP = (
    "Answer as the tracker would have at this point in time. An ISO 8601 instant with an "
    "offset (`2020-11-21T12:00:00+04:00`, `2020-11-21T08:00:00Z`) is that instant. A date "
    "(`2020-11-21`) means as it stood at the end of that day in each agreement's own time "
    "zone (its last microsecond there). Statuses are then computed from the facts known "
    "at that instant, not read from the stored column."
)


def as_of(raw: str | None) -> AsOf:
    """`?as_of=` (absent: now); a 400 naming `as_of` for a value that cannot be used."""
    try:
        return instants.as_of(raw)
    except InstantError as exc:
        raise ValidationError({"as_of": [str(exc)]}) from exc
