"""Query parameters shared by several endpoints (`as_of`), parsed once, strictly."""

from __future__ import annotations

from datetime import UTC, date, datetime

from django.utils.translation import gettext as _
from rest_framework.exceptions import ValidationError

from tracker.selectors import At

MIN_YEAR, MAX_YEAR = 1900, 2999

AS_OF_HELP = (
    "Answer as the tracker would have at this point in time. An ISO 8601 instant with an "
    "offset (`2020-11-21T12:00:00+04:00`, `2020-11-21T08:00:00Z`) is that instant. A date "
    "(`2020-11-21`) means as it stood at the end of that day in each agreement's own time "
    "zone (its last microsecond there). Statuses are then computed from the facts known "
    "at that instant, not read from the stored column."
)


def parse_as_of(raw: str | None) -> At:
    """`None` when absent; a date or an aware datetime; a 400 for anything else."""
    if raw is None:
        return None
    value = raw.strip()
    if not value:
        raise ValidationError(
            {"as_of": [_("Give a date (YYYY-MM-DD) or an instant with offset.")]}
        )
    try:
        if len(value) == 10:
            return _in_range(date.fromisoformat(value))
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValidationError(
            {"as_of": [_("%(value)r is neither a date (YYYY-MM-DD) nor an ISO 8601 instant.")
                       % {"value": raw}]}
        ) from None
    if parsed.tzinfo is None:
        raise ValidationError(
            {"as_of": [_("An instant needs an offset (e.g. +04:00 or Z); or give a date.")]}
        )
    return _in_range(parsed).astimezone(UTC)


def _in_range(value):
    # Far outside any agreement, and near datetime's limits, where day arithmetic overflows.
    if not (MIN_YEAR <= value.year <= MAX_YEAR):
        raise ValidationError({"as_of": [year_range_message()]})
    return value


def year_range_message() -> str:
    return _("Give a year between %(min)d and %(max)d.") % {"min": MIN_YEAR, "max": MAX_YEAR}


def as_of_label(at: At) -> str | None:
    """How the answered point in time is echoed back (body `as_of`, header `X-As-Of`)."""
    if at is None:
        return None
    if isinstance(at, datetime):
        return at.isoformat().replace("+00:00", "Z")
    return at.isoformat()
