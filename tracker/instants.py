"""Points in time as users write them: parsed here, held as one type, passed explicitly.

A user writes a date (`2020-11-21`) or an ISO 8601 instant with an offset
(`2020-11-21T12:00:00+04:00`, `...Z`). What a date means depends on the question: a
read `as_of` a date answers for the end of that day in each agreement's own time zone
(`AsOf.at`); a report that `occurred_at` a date counts from 00:00 local that day (the
caller converts). Years are kept to 1900..2999: far outside any agreement, and near
`datetime`'s limits converting to UTC or to a local midnight overflows.

Every layer (API, dashboard, staff forms, editorial, filters) calls `parse` or
`as_of` and turns `InstantError` into its own kind of 400; none parses by itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.utils.functional import lazy
from django.utils.translation import gettext

from deadlines import engine

MIN_YEAR, MAX_YEAR = 1900, 2999


def _expected() -> str:
    return gettext(
        "Give a date (YYYY-MM-DD) or an ISO 8601 instant with an offset "
        "(2020-11-21T12:00:00+04:00 or 2020-11-21T08:00:00Z), with a year between %(min)d "
        "and %(max)d."
    ) % {"min": MIN_YEAR, "max": MAX_YEAR}


# The one message, in the language of the request that reads it.
EXPECTED = lazy(_expected, str)()


class InstantError(ValueError):
    """A point in time that cannot be used; the message says what is expected."""

    def __init__(self, text: object) -> None:
        super().__init__(
            gettext("%(text)r cannot be used.") % {"text": text} + " " + _expected()
        )
        self.text = text


def check_year[D: date](value: D, text: object = None) -> D:
    """`value` unchanged when its year is in range (checked before any conversion)."""
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise InstantError(value.isoformat() if text is None else text)
    return value


def parse(text: object, *, local_zone: ZoneInfo | None = None) -> date | datetime:
    """A date, or an aware instant (in UTC), from what a user wrote.

    With `local_zone`, a time written without an offset is local to that zone (the
    dashboard's and the staff pages' convenience), and a `+` typed into an unescaped
    URL, which arrives as a space, is read as `+` again; without it, both are errors."""
    if not isinstance(text, str):
        raise InstantError(text)
    value = text.strip()
    if local_zone is not None:
        value = value.replace(" ", "+")
    try:
        if len(value) == 10:
            return check_year(date.fromisoformat(value), text)
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InstantError(text) from None
    if parsed.tzinfo is None:
        if local_zone is None:
            raise InstantError(text)
        # Attaching a zone never converts, so no year can overflow here.
        parsed = parsed.replace(tzinfo=local_zone)
    return check_year(parsed, text).astimezone(UTC)


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class AsOf:
    """The point in time a read answers for.

    `written` None: now, from the stored statuses (`now` is when the request began).
    A datetime: that instant. A date: the end of that day (its last microsecond) in
    the time zone of each agreement asked about."""

    written: date | datetime | None = None
    now: datetime = field(default_factory=_now, compare=False)

    @property
    def explicit(self) -> bool:
        return self.written is not None

    @property
    def date_only(self) -> bool:
        return self.written is not None and not isinstance(self.written, datetime)

    def at(self, zone: ZoneInfo) -> datetime:
        """The instant this stands for for an agreement keeping time in `zone`."""
        if self.written is None:
            return self.now
        if isinstance(self.written, datetime):
            return self.written
        return engine.local_midnight(self.written + timedelta(days=1), zone) - timedelta(
            microseconds=1
        )

    @property
    def label(self) -> str | None:
        """How the answered point in time is echoed back (the API's `as_of`, `X-As-Of`)."""
        if self.written is None:
            return None
        if isinstance(self.written, datetime):
            return self.written.isoformat().replace("+00:00", "Z")
        return self.written.isoformat()


def as_of(
    text: str | None, *, local_zone: ZoneInfo | None = None, now: datetime | None = None
) -> AsOf:
    """`?as_of=` as an `AsOf`: absent means now. With `local_zone` (the dashboard), an
    empty value or `now` also mean now, and a naive time is local to that zone."""
    now = now or _now()
    if text is None or (local_zone is not None and text.strip() in ("", "now")):
        return AsOf(None, now)
    return AsOf(parse(text, local_zone=local_zone), now)
