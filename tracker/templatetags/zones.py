"""`{{ instant|zoned }}`: a time that says its zone, as every time shown must.

"3 Dec 2026, 14:30 Baku (UTC+4)": the place of the IANA zone, and its offset from UTC
at that instant (Baku kept UTC+4 in 2020-2026, but zones change, so the offset is read
for the instant, not assumed). UTC reads "UTC". Without an argument the instant is
shown in the zone it carries (the views localise it); with one (`zoned:"Asia/Baku"` or
a `ZoneInfo`), in that zone.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django import template
from django.utils.formats import date_format
from django.utils.translation import gettext

register = template.Library()

# The language's short date and time (config/formats: "3 Dec 2026, 14:30" in English).
FORMAT = "SHORT_DATETIME_FORMAT"


def offset_label(offset: timedelta) -> str:
    """"+4", "-3", "+5:30"."""
    minutes = int(offset.total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    hours, rest = divmod(abs(minutes), 60)
    return f"{sign}{hours}" + (f":{rest:02d}" if rest else "")


def zone_name(at: datetime) -> str:
    """"Baku (UTC+4)" for an instant in Asia/Baku; "UTC" in UTC."""
    key = getattr(at.tzinfo, "key", None)
    offset = at.utcoffset() or timedelta(0)
    if key in ("UTC", "Etc/UTC") or (key is None and not offset):
        return "UTC"
    if key is None:  # a fixed offset, with no place to name
        return f"UTC{offset_label(offset)}"
    place = key.rsplit("/", 1)[-1].replace("_", " ")
    return gettext("%(place)s (UTC%(offset)s)") % {
        "place": place, "offset": offset_label(offset),
    }


@register.filter
def zoned(value: datetime | None, zone: str | ZoneInfo | None = None) -> str:
    """The instant as date, time and zone; "" for no instant."""
    if not isinstance(value, datetime) or value.tzinfo is None:
        return ""
    if zone:
        value = value.astimezone(ZoneInfo(zone) if isinstance(zone, str) else zone)
    return f"{date_format(value, FORMAT)} {zone_name(value)}"


@register.filter
def zone_of(value: datetime | None) -> str:
    """Only the zone of an instant ("Baku (UTC+4)"), for a time shown without it."""
    if not isinstance(value, datetime) or value.tzinfo is None:
        return ""
    return zone_name(value)
