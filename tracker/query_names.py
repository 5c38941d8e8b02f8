"""The names query strings may use, shared by the API and the dashboard.

A filter has one name everywhere (`party`, `place`); the API's older names stay
accepted as aliases. A parameter nobody reads is refused rather than ignored: a
typo such as `Status=overdue` would otherwise answer the unfiltered list, which
reads like a result.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from tracker.models import Location
from tracker.search import fold, matching

# Older name → the name both read sides use. The API said `responsible` and
# `location`; the dashboard said `party` and `place`, the words readers type.
ALIASES = {"responsible": "party", "location": "place"}


class UnknownParameters(ValueError):
    """Query parameters a page or endpoint does not read; the message lists the
    accepted ones."""

    def __init__(self, unknown: list[str], accepted: Iterable[str]) -> None:
        self.unknown = unknown
        self.accepted = sorted(set(accepted))
        super().__init__(
            self.describe(unknown[0]) if len(unknown) == 1 else
            _("Unknown parameters %(names)s.") % {"names": ", ".join(unknown)}
            + " " + self.accepts()
        )

    def accepts(self) -> str:
        return _("Accepted here: %(names)s.") % {"names": ", ".join(self.accepted)}

    def describe(self, name: str) -> str:
        """One unknown name, with the accepted name it resembles (case)."""
        close = [a for a in self.accepted if a.casefold() == name.strip().casefold()]
        text = (_("Unknown parameter %(name)r (did you mean %(close)r?).")
                % {"name": name, "close": close[0]} if close
                else _("Unknown parameter %(name)r.") % {"name": name})
        return f"{text} {self.accepts()}"


# Accepted by every page and API answer: the interface language (tracker.i18n).
EVERYWHERE = frozenset({"lang"})


def check(given: Iterable[str], accepted: Iterable[str]) -> None:
    """`UnknownParameters` naming every name in `given` that is not in `accepted` (or
    accepted everywhere)."""
    accepted = set(accepted) | EVERYWHERE
    unknown = sorted({name for name in given if name not in accepted})
    if unknown:
        raise UnknownParameters(unknown, accepted)


def with_aliases(names: Iterable[str]) -> set[str]:
    """`names` and every older name of one of them."""
    names = set(names)
    return names | {old for old, new in ALIASES.items() if new in names}


def places_matching(value: str) -> QuerySet[Location]:
    """Places any of whose names or aliases contain `value`, folded or as its
    cross-script key (tracker.search: "Карабах" finds "Qarabağ"): search's one rule for
    place names, which the place filters and `q` share."""
    return Location.objects.filter(matching("search_text", value))


def places_named(value: str) -> QuerySet[Location]:
    """The places a place filter's `value` names: the one with that slug, or every
    place whose names or aliases (any language, any case, diacritics aside) contain it,
    so `Kelbajar` finds Kalbajar and `Lachin` the district and the corridor."""
    value = value.strip()
    if not fold(value) or "\x00" in value:  # PostgreSQL text cannot hold NUL
        return Location.objects.none()
    return Location.objects.filter(
        Q(slug=value) | Q(pk__in=places_matching(value).values("pk"))
    )
