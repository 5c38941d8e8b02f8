"""The chain of agreements as the dashboard shows it: what an agreement builds on, what
came after it, and the relations that end, replace or link one term.

Reads only (bounded queries); what a relation does to a status is the engine's
(`deadlines.facts` turns relations into endings). Here the relations are fetched with
what a page names: both agreements, the term, its replacement and the sources.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Prefetch, Q, QuerySet

from tracker import vocabulary as V
from tracker.models import Agreement, AgreementRelation, Obligation, Source


def relations() -> QuerySet[AgreementRelation]:
    """Relations with everything a page names about them, in the order they took hold."""
    return (
        AgreementRelation.objects.select_related(
            "agreement", "target_agreement", "target", "replacement",
            "target__agreement", "replacement__agreement",
        )
        .prefetch_related(
            Prefetch("sources", queryset=Source.objects.order_by("publisher", "published_at"))
        )
        .order_by("at", "pk")
    )


def builds_on(agreement: Agreement) -> list[AgreementRelation]:
    """What `agreement` does to earlier agreements (implements, amends, supersedes,
    terminates them or their terms)."""
    return list(relations().filter(agreement=agreement))


def followed_by(agreement: Agreement) -> list[AgreementRelation]:
    """What later agreements do to `agreement` or to its terms."""
    return list(relations().filter(target_agreement=agreement))


@dataclass
class TermRelations:
    """The relations that touch one term.

    `endings`: relations that end it (supersede or terminate it, or its agreement as a
    whole), in the order they took hold; `links`: relations that implement or amend
    it (or its agreement) without ending it; `replaces`: relations in which this term
    takes an earlier term's place."""

    endings: list[AgreementRelation] = field(default_factory=list)
    links: list[AgreementRelation] = field(default_factory=list)
    replaces: list[AgreementRelation] = field(default_factory=list)

    def ending_at(self, at: datetime, relation_id: int | None = None) -> AgreementRelation | None:
        """The relation that ended the term by `at`: the one named (the engine's
        ending), else the first to take hold."""
        held = [r for r in self.endings if r.at <= at]
        if relation_id is not None:
            named = [r for r in held if r.pk == relation_id]
            if named:
                return named[0]
        return held[0] if held else None


def of_term(obligation: Obligation) -> TermRelations:
    """Every relation touching `obligation`, in one query."""
    touching = relations().filter(
        Q(target=obligation)
        | Q(target__isnull=True, target_agreement_id=obligation.agreement_id)
        | Q(replacement=obligation)
    )
    found = TermRelations()
    for r in touching:
        if r.replacement_id == obligation.pk:
            found.replaces.append(r)
        applies = r.target_id == obligation.pk or (
            r.target_id is None and r.target_agreement_id == obligation.agreement_id
        )
        if not applies:
            continue
        if r.kind in V.RELATION_ENDINGS:
            found.endings.append(r)
        else:
            found.links.append(r)
    return found


def replacements(obligation_ids: list[int]) -> dict[int, AgreementRelation]:
    """For each of these terms that a later agreement supersedes with a term of its own:
    the first such relation (one query)."""
    found: dict[int, AgreementRelation] = {}
    rows = relations().prefetch_related(None).filter(
        target_id__in=obligation_ids, replacement__isnull=False
    )
    for r in rows:
        found.setdefault(r.target_id, r)
    return found


@dataclass(frozen=True)
class Link:
    """One step of the chain: the agreement and what it does to the earlier ones."""

    agreement: Agreement
    builds_on: tuple[AgreementRelation, ...]
    followed_by: tuple[AgreementRelation, ...]


def chain(agreements: Iterable[Agreement]) -> list[Link]:
    """`agreements` in signing order, each with its relations to the others (one query)."""
    ordered = sorted(agreements, key=lambda a: (a.signed_at, a.slug))
    ids = [a.pk for a in ordered]
    out: dict[int, list[AgreementRelation]] = defaultdict(list)
    back: dict[int, list[AgreementRelation]] = defaultdict(list)
    # The chain names agreements and terms only: their sources are on the agreement pages.
    found = relations().prefetch_related(None)
    for r in found.filter(Q(agreement_id__in=ids) | Q(target_agreement_id__in=ids)):
        out[r.agreement_id].append(r)
        back[r.target_agreement_id].append(r)
    return [Link(a, tuple(out[a.pk]), tuple(back[a.pk])) for a in ordered]
