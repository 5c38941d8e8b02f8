"""The `as_of` and `known_at` query parameters as the API documents them and reports
their errors.

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

KNOWN_AT_HELP = (
    "Answer from what the tracker had published by this point in time (default now), as "
    "it then stood: facts published later, and corrections published later, are left "
    "out. Written like `as_of`; a date means the end of that day in UTC. With `as_of`, "
    "it answers \"what did the tracker say on `known_at` about the state of things on "
    "`as_of`\"."
)


def as_of(raw: str | None, known_at: str | None = None) -> AsOf:
    """`?as_of=` and `?known_at=` (absent: now); a 400 naming the parameter whose value
    cannot be used."""
    try:
        return instants.as_of(raw, known_at=known_at)
    except InstantError as exc:
        raise ValidationError({exc.parameter or "as_of": [str(exc)]}) from exc
