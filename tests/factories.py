"""factory-boy factories for the domain models."""

from __future__ import annotations

from datetime import UTC, date, datetime

import factory

from deadlines.engine import due_instant
from tracker import vocabulary as V
from tracker.models import Agreement, Claimant, Obligation, Party, Report, Source


class AgreementFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Agreement

    slug = factory.Sequence(lambda n: f"agreement-{n}")
    title = factory.Sequence(lambda n: f"Agreement {n}")
    signed_at = datetime(2020, 11, 9, 21, tzinfo=UTC)
    effective_at = datetime(2020, 11, 9, 21, tzinfo=UTC)
    timezone = "Asia/Baku"


class PartyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Party
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"party-{n}")
    name = factory.Sequence(lambda n: f"Party {n}")


class SourceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Source

    agreement = factory.SubFactory(AgreementFactory)
    key = factory.Sequence(lambda n: f"source-{n}")
    url = factory.Sequence(lambda n: f"https://example.org/{n}")
    publisher = "Example"


class ObligationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Obligation

    agreement = factory.SubFactory(AgreementFactory)
    slug = factory.Sequence(lambda n: f"obligation-{n}")
    title = factory.Sequence(lambda n: f"Obligation {n}")
    kind = V.DEADLINE
    category = "withdrawal"
    due_date = date(2020, 11, 20)
    original_due_date = factory.SelfAttribute("due_date")
    due_at = factory.LazyAttribute(
        lambda o: due_instant(o.due_date, o.agreement.zone) if o.due_date else None
    )


class ReportFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Report

    obligation = factory.SubFactory(ObligationFactory)
    claim = V.CLAIM_COMPLETED
    occurred_at = datetime(2020, 11, 19, 20, tzinfo=UTC)
    summary = "Reported done."
    review_state = V.PUBLISHED
    published_at = factory.LazyFunction(lambda: datetime.now(UTC))


class ClaimantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Claimant
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"claimant-{n}")
    name = factory.Sequence(lambda n: f"Claimant {n}")
    kind = V.CLAIMANT_GOVERNMENT


def as_loaded(agreement: Agreement) -> None:
    """Date every audit record of `agreement`, its clauses (and their texts and
    variants) and its terms at its signing, as loading its file records them
    (tracker.loader.bulk.record_history): a world built with the ORM today is then
    published from its signing, not from the day the test ran."""
    from tracker.models import Clause, ClauseText, ClauseVariant

    clauses = Clause.objects.filter(agreement=agreement).values("pk")
    for model, rows in (
        (Agreement, [agreement.pk]),
        (Clause, clauses),
        (ClauseText, ClauseText.objects.filter(clause__in=clauses).values("pk")),
        (ClauseVariant, ClauseVariant.objects.filter(clause__in=clauses).values("pk")),
        (Obligation, Obligation.objects.filter(agreement=agreement).values("pk")),
    ):
        model.history.model.objects.filter(id__in=rows).update(history_date=agreement.signed_at)
