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
