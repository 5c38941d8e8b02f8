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
    """A point in time that cannot be used; the message says what is expected.
    `parameter` names the query parameter it came from (`as_of`, `known_at`) when the
    caller parsed one, so each layer's 400 can name it."""

    def __init__(self, text: object, parameter: str = "") -> None:
        super().__init__(
            gettext("%(text)r cannot be used.") % {"text": text} + " " + _expected()
        )
        self.text = text
        self.parameter = parameter


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
    """The point in time a read answers for, and what the tracker knew when.

    `written` None: now, from the stored statuses (`now` is when the request began).
    A datetime: that instant. A date: the end of that day (its last microsecond) in
    the time zone of each agreement asked about.

    `known` (`?known_at=`) None: everything published so far. An instant: only facts
    the tracker had published by then, as they then stood (corrections published later
    left out); a date stands for the end of that day in UTC (the tracker's clock, not
    an agreement's)."""

    written: date | datetime | None = None
    now: datetime = field(default_factory=_now, compare=False)
    known: datetime | None = None
    known_written: date | datetime | None = field(default=None, compare=False)

    @property
    def explicit(self) -> bool:
        """Not simply "now, as known now": the stored statuses do not answer."""
        return self.written is not None or self.known is not None

    @property
    def known_at(self) -> datetime:
        """The instant whose knowledge answers (now when `known_at` was not given)."""
        return self.known or self.now

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
        return _label(self.written)

    @property
    def known_label(self) -> str | None:
        """How `known_at` is echoed back (None when it was not given)."""
        if self.known is None:
            return None
        return _label(self.known_written or self.known)

    def pinned(self) -> tuple[str, str]:
        """(as_of, known_at) as a permalink writes them: both fixed, so the link gives
        the same answer whatever the tracker learns later ("now" is the request's)."""
        return (self.label or _label(self.now), self.known_label or _label(self.now))


def _label(value: date | datetime) -> str:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return value.isoformat()


def _blank(text: str | None, local_zone: ZoneInfo | None) -> bool:
    return text is None or (local_zone is not None and text.strip() in ("", "now"))


def _parse_named(text: str, parameter: str, local_zone: ZoneInfo | None) -> date | datetime:
    try:
        return parse(text, local_zone=local_zone)
    except InstantError as exc:
        raise InstantError(exc.text, parameter) from None


def known_instant(value: date | datetime) -> datetime:
    """The instant a `known_at` stands for: a date is the end of that day in UTC."""
    if isinstance(value, datetime):
        return value
    return datetime.combine(value + timedelta(days=1), datetime.min.time(), tzinfo=UTC) - (
        timedelta(microseconds=1)
    )


def as_of(
    text: str | None,
    *,
    known_at: str | None = None,
    local_zone: ZoneInfo | None = None,
    now: datetime | None = None,
) -> AsOf:
    """`?as_of=` and `?known_at=` as an `AsOf`: absent means now. With `local_zone` (the
    dashboard), an empty value or `now` also mean now, and a naive time is local to that
    zone. An `InstantError` names the parameter that could not be used."""
    now = now or _now()
    written = None if _blank(text, local_zone) else _parse_named(text or "", "as_of", local_zone)
    known = known_written = None
    if not _blank(known_at, local_zone):
        known_written = _parse_named(known_at or "", "known_at", local_zone)
        known = known_instant(known_written)
    return AsOf(written, now, known, known_written)


def known(text: str | None, parameter: str) -> datetime | None:
    """A `known_at`-like bound (`since`, `until` of a change log): None when absent; a
    date is the end of that day in UTC. An `InstantError` names `parameter`."""
    if text is None:
        return None
    return known_instant(_parse_named(text, parameter, None))
