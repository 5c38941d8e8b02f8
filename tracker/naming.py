"""Names as they stood: a party or a place that was renamed keeps each former name with
the instant it stopped being used, so a read at an instant shows the name then in force.

`former_names` on a Party or a Location is a list of entries, each meaning "before
`until`, it was called this" (docs/agreement-format.md):

* a party's: `{"name", "until", "sources", "note"?}`;
* a place's: `{"names": {"en": ..., "az": ...}, "alt_name"?, "until", "sources", "note"?}`,
  the whole naming of the time (every language's form and the other side's name), as
  the place's own `names` and `alt_name` are today's;

`until` is an ISO 8601 instant with an offset, `sources` the addresses of the texts
that report the renaming. With several entries, the one in force at an instant is the
one with the earliest `until` after it; after the last `until`, today's name holds.

Plain functions over the models' fields: no database, no request.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

if TYPE_CHECKING:
    from tracker.instants import AsOf

NAME_MAX = 200  # as Party.name and a Location's name forms


def until_of(entry: Any) -> datetime | None:
    """The instant an entry's name stopped being used; None for an entry that cannot be
    read (the column is plain JSON: a hand edit that bypassed the checks must not make
    every page that names the place fail)."""
    if not isinstance(entry, dict) or not isinstance(entry.get("until"), str):
        return None
    try:
        until = datetime.fromisoformat(entry["until"])
    except ValueError:
        return None
    return until if until.tzinfo is not None else None


def former_in_force(former: Iterable[Any] | None, at: datetime | None) -> dict | None:
    """The entry of `former` whose name was in force at `at`; None when today's name
    was (or `at` is None: a read for now shows today's names)."""
    if at is None or not former:
        return None
    found: tuple[datetime, dict] | None = None
    for entry in former:
        until = until_of(entry)
        if until is not None and at < until and (found is None or until < found[0]):
            found = (until, entry)
    return found[1] if found else None


def named_at[T](obj: T, at: datetime | None) -> T:
    """`obj` (a Party or a Location) as it was named at `at`: `obj` itself when its name
    then was today's, else a copy with the names of the time, so that `name`, `label`
    and `str()` read as they did. The copy is for showing only, never saved."""
    entry = former_in_force(getattr(obj, "former_names", None), at)
    if entry is None:
        return obj
    shown = copy.copy(obj)
    if "names" in entry:  # a place: every form of the time, and the other side's name
        shown.names = dict(entry["names"])  # type: ignore[attr-defined]
        shown.alt_name = entry.get("alt_name", "")  # type: ignore[attr-defined]
    else:
        shown.name = entry["name"]  # type: ignore[attr-defined]
    return shown


def instant(asof: AsOf | None, zone: ZoneInfo) -> datetime | None:
    """The instant whose names a read for `asof` shows (a date read in `zone`): None,
    today's names, unless `as_of` was given. Names follow the world's time: a renaming
    holds from its `until`, whatever `known_at` asks."""
    if asof is None or asof.written is None:
        return None
    return asof.at(zone)


def name_at(obj: Any, at: datetime | None) -> str:
    """What a page or an answer calls `obj` at `at`: a party's name, a place's label
    (both sides' forms, the interface language's leading, as `Location.label`)."""
    return str(named_at(obj, at))


def ended_by(former: Iterable[Any] | None, at: datetime | None) -> list[dict]:
    """The entries of `former` whose renaming had happened by `at` (all of them when
    `at` is None), oldest first: a read at `at` shows no renaming still to come."""
    return stored([e for e in former or () if (until := until_of(e)) is not None
                   and (at is None or until <= at)])


def history(obj: Any, at: datetime | None = None) -> list[tuple[str, datetime]]:
    """Each former name of `obj` that had been given up by `at` (None: every one), as
    a page shows it (a party's name, a place's label), with the instant it stopped
    being used, oldest first."""
    out = []
    for entry in ended_by(obj.former_names, at):
        until = until_of(entry)
        assert until is not None  # `ended_by` keeps only entries that have one
        out.append((name_at(obj, until - timedelta(microseconds=1)), until))
    return out


def forms_at(place: Any, at: datetime | None) -> list[str]:
    """Every form of a place's name a page lists at `at` (None: `all_names`, every form
    ever): the names then in force, its aliases, and the names it had given up by
    then, but no name it was only given later."""
    if at is None:
        return place.all_names()
    shown = named_at(place, at)
    forms = [*shown.names.values(), shown.alt_name, *place.aliases,
             *former_forms(ended_by(place.former_names, at))]
    return [f for f in dict.fromkeys(forms) if f]


def former_forms(former: Iterable[Any] | None) -> list[str]:
    """Every name form of the former names (for search: a reader may type an old name)."""
    forms: list[str] = []
    for entry in former or ():
        if not isinstance(entry, dict):
            continue
        if isinstance(entry.get("names"), dict):
            forms += [v for v in entry["names"].values() if isinstance(v, str)]
        for key in ("name", "alt_name"):
            if isinstance(entry.get(key), str):
                forms.append(entry[key])
    return forms


def stored(entries: list[dict]) -> list[dict]:
    """Entries in the stored order (by `until`), as the loader and the exporter agree."""
    earliest = datetime.min.replace(tzinfo=UTC)  # an unreadable `until` sorts first
    return sorted(entries, key=lambda e: until_of(e) or earliest)


# ---------------------------------------------------------------- checks of the column


def _text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip()) and len(value) <= NAME_MAX


def problems(value: Any, place: bool) -> list[str]:
    """What is wrong with a `former_names` value (a party's, or a place's with `place`);
    empty when nothing is. The loader checks its files more closely; this guards the
    column against an edit made elsewhere (the admin)."""
    if not isinstance(value, list):
        return [_("Former names are a list of entries.")]
    out: list[str] = []
    seen: set[datetime] = set()
    for i, entry in enumerate(value):
        where = {"where": f"former_names[{i}]"}
        if not isinstance(entry, dict):
            out.append(_("%(where)s: an entry is a mapping.") % where)
            continue
        allowed = {"names", "alt_name"} if place else {"name"}
        unknown = set(entry) - allowed - {"until", "sources", "note"}
        if unknown:
            out.append(_("%(where)s: unknown keys %(keys)s.")
                       % {**where, "keys": ", ".join(sorted(unknown))})
        if place:
            names = entry.get("names")
            if not (isinstance(names, dict) and _text(names.get("en"))
                    and all(_text(v) for v in names.values())):
                out.append(_("%(where)s.names: the names of the time by language, with "
                             "at least en.") % where)
            if "alt_name" in entry and not _text(entry["alt_name"]):
                out.append(_("%(where)s.alt_name: a name of at most %(max)d characters.")
                           % {**where, "max": NAME_MAX})
        elif not _text(entry.get("name")):
            out.append(_("%(where)s.name: a name of at most %(max)d characters.")
                       % {**where, "max": NAME_MAX})
        until = until_of(entry)
        if until is None:
            out.append(_("%(where)s.until: an ISO 8601 instant with an offset.") % where)
        elif until in seen:
            out.append(_("%(where)s.until: two former names end at the same instant.")
                       % where)
        else:
            seen.add(until)
        sources = entry.get("sources")
        if not (isinstance(sources, list) and sources
                and all(isinstance(s, str) and s.startswith(("http://", "https://"))
                        for s in sources)):
            out.append(_("%(where)s.sources: at least one address (http or https) of a "
                         "text that reports the renaming.") % where)
        if "note" in entry and not isinstance(entry["note"], str):
            out.append(_("%(where)s.note: text.") % where)
    return out


def validate_party_former_names(value: Any) -> None:
    if found := problems(value, place=False):
        raise ValidationError(found)


def validate_place_former_names(value: Any) -> None:
    if found := problems(value, place=True):
        raise ValidationError(found)
