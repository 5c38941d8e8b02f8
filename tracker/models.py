"""The domain: agreements, their obligations, and the facts that decide a status.

Facts are deadline changes and published reports. A status is never typed by
hand: `deadlines.engine` derives it from the facts, and `deadlines.sweep` stores
it here (with the summary columns it classifies by) so that reads are cheap.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import get_language
from simple_history.models import HistoricalRecords

from tracker import vocabulary as V
from tracker.indexes import BrinIndex
from tracker.naming import (
    former_forms,
    validate_party_former_names,
    validate_place_former_names,
)
from tracker.search import fold, search_key

LANGUAGE_CODES = ("en", "az", "hy", "ru")


def searchable(texts: list[str]) -> str:
    """The search column's text: each form folded (exact spellings) and as its
    cross-script key (tracker.search), so any language's form or transliteration meets."""
    texts = [t for t in texts if t]
    return " | ".join([*(fold(t) for t in texts), *(search_key(t) for t in texts)])


class Party(models.Model):
    slug = models.SlugField(max_length=80, unique=True)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=V.PARTY_KINDS, default="signatory")
    # Its names before a renaming, each with the instant it stopped being used
    # (`tracker.naming`): a read at an earlier instant shows the name of the time.
    former_names = models.JSONField(default=list, blank=True,
                                    validators=[validate_party_former_names])
    # Today's name and the former ones, folded (see `searchable`), for search.
    search_text = models.TextField(blank=True, editable=False)

    history = HistoricalRecords(excluded_fields=["search_text"])

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "parties"
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=[k for k, _ in V.PARTY_KINDS]), name="party_kind_valid"
            )
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        self.refresh_search_text()
        fields = kwargs.get("update_fields")
        if fields is not None and {"name", "former_names"} & set(fields):
            kwargs["update_fields"] = {*fields, "search_text"}
        super().save(*args, **kwargs)

    def refresh_search_text(self) -> None:
        """Derived, like Location.search_text (called by `save`, and by bulk writers)."""
        self.search_text = searchable(self.all_names())

    def all_names(self) -> list[str]:
        """Today's name and every former one."""
        return [f for f in dict.fromkeys([self.name, *former_forms(self.former_names)]) if f]


class Claimant(models.Model):
    """Who asserts a report: a party's government or ministry, a monitor, the press, or
    the tracker itself (an editorial finding, kind `tracker`)."""

    slug = models.SlugField(max_length=80, unique=True)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=V.CLAIMANT_KINDS)
    # The party whose government or ministry this is (empty for the press, monitors
    # that are not parties, and the tracker).
    party = models.ForeignKey(
        Party, on_delete=models.PROTECT, null=True, blank=True, related_name="claimants"
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=[k for k, _ in V.CLAIMANT_KINDS]), name="claimant_kind_valid"
            )
        ]

    def __str__(self) -> str:
        return self.name


class Location(models.Model):
    """A place, with its name in each language and every spelling a reader may type."""

    slug = models.SlugField(max_length=80, unique=True)
    kind = models.CharField(max_length=20, choices=V.LOCATION_KINDS, default="district")
    # Names by BCP 47 language code: {"en": "Lachin", "az": "Laçın", "hy": "Բերձոր", ...}.
    names = models.JSONField(default=dict)
    # The name the other side uses in English ("Berdzor" for Lachin); shown beside `name`.
    alt_name = models.CharField(max_length=200, blank=True)
    aliases = models.JSONField(default=list, blank=True)
    # Its names before a renaming, each with the instant it stopped being used
    # (`tracker.naming`): a read at an earlier instant shows the names of the time.
    former_names = models.JSONField(default=list, blank=True,
                                    validators=[validate_place_former_names])
    latitude = models.FloatField(
        null=True, blank=True, validators=[MinValueValidator(-90), MaxValueValidator(90)]
    )
    longitude = models.FloatField(
        null=True, blank=True, validators=[MinValueValidator(-180), MaxValueValidator(180)]
    )
    coordinates_note = models.CharField(max_length=300, blank=True)
    # A corridor or route drawn as a line: [[lat, lon], ...] in order, at least two points
    # (empty for a place drawn as a point).
    line = models.JSONField(default=list, blank=True)
    # Every name form and alias (former names too), folded (see `fold`), for search in
    # one indexed column.
    search_text = models.TextField(blank=True, editable=False)

    history = HistoricalRecords(excluded_fields=["search_text"])

    class Meta:
        ordering = ["slug"]
        constraints = [
            models.CheckConstraint(
                condition=Q(latitude__isnull=True) | Q(latitude__gte=-90, latitude__lte=90),
                name="location_latitude_range",
            ),
            models.CheckConstraint(
                condition=Q(longitude__isnull=True) | Q(longitude__gte=-180, longitude__lte=180),
                name="location_longitude_range",
            ),
        ]

    def __str__(self) -> str:
        return self.label

    def save(self, *args, **kwargs):
        self.refresh_search_text()
        super().save(*args, **kwargs)

    def refresh_search_text(self) -> None:
        """Derived, not a business rule: keeps the search column true to the names
        (called by `save`, and by bulk writers, which bypass it)."""
        self.search_text = searchable(self.all_names())

    @property
    def name(self) -> str:
        return self.names.get("en") or next(iter(self.names.values()), self.slug)

    @property
    def label(self) -> str:
        """Both forms, as analysts expect: "Lachin / Berdzor". In another interface
        language its own form leads and both sides' forms follow, "Лачин (Lachin /
        Berdzor)": the label never gives one side's name without the other's."""
        both = self.name
        if self.alt_name and self.alt_name != self.name:
            both = f"{self.name} / {self.alt_name}"
        local = self.names.get(get_language() or "en")
        if not local or local in both:
            return both
        return f"{local} ({both})" if both != self.name else local

    def all_names(self) -> list[str]:
        """Every form a reader may type: today's names, aliases, and former names."""
        forms = [*self.names.values(), self.alt_name, *self.aliases,
                 *former_forms(self.former_names)]
        return [f for f in dict.fromkeys(forms) if f]


class Agreement(models.Model):
    slug = models.SlugField(max_length=80, unique=True)
    title = models.CharField(max_length=300)
    signed_at = models.DateTimeField()
    effective_at = models.DateTimeField()
    timezone = models.CharField(max_length=64, help_text="IANA zone for 'by <date>' deadlines")
    warning_days = models.PositiveSmallIntegerField(
        default=3, validators=[MaxValueValidator(366)]
    )
    description = models.TextField(blank=True)
    # Title and description in other languages: {"ru": "...", "az": "...", "hy": "..."};
    # English is `title`/`description`.
    titles = models.JSONField(default=dict, blank=True)
    descriptions = models.JSONField(default=dict, blank=True)
    parties = models.ManyToManyField(Party, related_name="agreements", blank=True)
    locations = models.ManyToManyField(Location, related_name="agreements", blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-signed_at", "slug"]
        constraints = [
            models.CheckConstraint(
                condition=Q(effective_at__gte=models.F("signed_at")) | Q(effective_at__isnull=True),
                name="agreement_effective_after_signing",
            ),
            models.CheckConstraint(
                condition=Q(warning_days__lte=366), name="agreement_warning_days_range"
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def zone(self):
        from zoneinfo import ZoneInfo

        return ZoneInfo(self.timezone)


class Source(models.Model):
    agreement = models.ForeignKey(Agreement, on_delete=models.CASCADE, related_name="sources")
    key = models.SlugField(max_length=100, help_text="Reference used in the agreement file")
    url = models.URLField(max_length=1000)
    publisher = models.CharField(max_length=200)
    title = models.CharField(max_length=500, blank=True)
    published_at = models.DateField(null=True, blank=True)
    language = models.CharField(max_length=16, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["publisher", "published_at", "key"]
        constraints = [
            models.UniqueConstraint(fields=["agreement", "key"], name="source_key_unique")
        ]

    def __str__(self) -> str:
        return f"{self.publisher}: {self.title or self.url}"


class Clause(models.Model):
    agreement = models.ForeignKey(Agreement, on_delete=models.CASCADE, related_name="clauses")
    number = models.CharField(max_length=20)
    text = models.TextField()
    position = models.PositiveIntegerField(default=0)

    history = HistoricalRecords()

    class Meta:
        ordering = ["agreement", "position", "number"]
        constraints = [
            models.UniqueConstraint(fields=["agreement", "number"], name="clause_number_unique")
        ]

    def __str__(self) -> str:
        return f"{self.agreement.slug} §{self.number}"


class ClauseText(models.Model):
    """A clause's text as published in one language, with the source it is read from;
    `translation` when no text in that language was published and this is a translation."""

    clause = models.ForeignKey(Clause, on_delete=models.CASCADE, related_name="texts")
    language = models.CharField(max_length=16)
    text = models.TextField()
    translation = models.BooleanField(default=False)
    note = models.TextField(blank=True)
    sources = models.ManyToManyField(Source, related_name="clause_texts", blank=True)

    history = HistoricalRecords(m2m_fields=["sources"])

    class Meta:
        ordering = ["clause", "language"]
        constraints = [
            models.UniqueConstraint(fields=["clause", "language"], name="clause_text_unique")
        ]

    def __str__(self) -> str:
        return f"{self.clause} [{self.language}]"


class ClauseVariant(models.Model):
    """A reading of a clause that differs between language versions of the text."""

    clause = models.ForeignKey(Clause, on_delete=models.CASCADE, related_name="variants")
    version = models.CharField(max_length=100)
    text = models.TextField()
    sources = models.ManyToManyField(Source, related_name="clause_variants", blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["clause", "version"]
        constraints = [
            models.UniqueConstraint(fields=["clause", "version"], name="clause_variant_unique")
        ]

    def __str__(self) -> str:
        return f"{self.clause} ({self.version})"


class Obligation(models.Model):
    """One term that can be met or missed on its own."""

    # Indexes on obligations are written on every status change the sweep stores: no
    # index here that another already covers (agreement_id and slug lead
    # obligation_slug_unique; category is filtered with an agreement).
    agreement = models.ForeignKey(
        Agreement, on_delete=models.CASCADE, related_name="obligations", db_index=False
    )
    clause = models.ForeignKey(
        Clause, on_delete=models.PROTECT, related_name="obligations", null=True, blank=True
    )
    slug = models.SlugField(max_length=100, db_index=False)
    title = models.CharField(max_length=300)
    description = models.TextField(blank=True)
    # Title and description in other languages ({"ru": "..."}); English is the fields above.
    titles = models.JSONField(default=dict, blank=True)
    descriptions = models.JSONField(default=dict, blank=True)
    # Non-empty when the term exists only in some versions of the text (clause variants):
    # which versions carry it and which do not. Such a term is `disputed`, never a breach.
    text_dispute = models.TextField(blank=True)
    kind = models.CharField(max_length=10, choices=V.KINDS)
    category = models.SlugField(max_length=40, db_index=False)
    position = models.PositiveIntegerField(default=0)
    responsible = models.ManyToManyField(Party, related_name="obligations", blank=True)
    monitors = models.ManyToManyField(Party, related_name="monitored_obligations", blank=True)
    locations = models.ManyToManyField(Location, related_name="obligations", blank=True)
    sources = models.ManyToManyField(Source, related_name="obligations", blank=True)

    # deadline kind: the local date in the agreement's zone, after every change agreed
    # so far; `due_at` is 00:00 local on the next day, in UTC.
    due_date = models.DateField(null=True, blank=True)
    due_at = models.DateTimeField(null=True, blank=True, db_index=True)
    original_due_date = models.DateField(null=True, blank=True)

    # ongoing kind
    starts_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    term_years = models.PositiveSmallIntegerField(null=True, blank=True)
    renews_years = models.PositiveSmallIntegerField(null=True, blank=True)
    notice_months = models.PositiveSmallIntegerField(null=True, blank=True)

    # Stored assessment (written only by deadlines.sweep; '' = not assessed yet).
    status = models.CharField(max_length=20, choices=V.STATUSES, blank=True, default="")
    status_since = models.DateTimeField(null=True, blank=True)
    assessed_at = models.DateTimeField(null=True, blank=True)
    # Summary of the facts known at `facts_from`, valid until `facts_until`: the
    # sweep classifies rows by these columns in SQL (see deadlines.classify).
    due_soon_at = models.DateTimeField(null=True, blank=True)
    active_at = models.DateTimeField(null=True, blank=True)
    active_status = models.CharField(max_length=20, blank=True, default="")
    violated_at = models.DateTimeField(null=True, blank=True)
    disputed_at = models.DateTimeField(null=True, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)
    done_status = models.CharField(max_length=20, blank=True, default="")
    facts_from = models.DateTimeField(null=True, blank=True)
    facts_until = models.DateTimeField(null=True, blank=True)
    # When the stored status may next change with no new fact; the sweep's index.
    next_change_at = models.DateTimeField(null=True, blank=True)
    # Set when facts change; the sweep re-summarises such rows in Python.
    needs_assessment = models.BooleanField(default=True)

    # Optimistic locking for concurrent staff edits.
    version = models.PositiveIntegerField(default=1)
    # Title and description (every language), folded and as cross-script keys, for search.
    search_text = models.TextField(blank=True, editable=False)

    history = HistoricalRecords(
        excluded_fields=[
            "search_text", "status", "status_since", "assessed_at", "due_soon_at", "active_at",
            "active_status", "violated_at", "disputed_at", "done_at", "done_status", "facts_from",
            "facts_until", "next_change_at", "needs_assessment",
        ]
    )

    class Meta:
        ordering = ["agreement", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["agreement", "slug"], name="obligation_slug_unique"),
            models.CheckConstraint(
                condition=Q(kind__in=[k for k, _ in V.KINDS]), name="obligation_kind_valid"
            ),
            models.CheckConstraint(
                condition=Q(status="")
                | Q(kind=V.DEADLINE, status__in=V.STATUSES_BY_KIND[V.DEADLINE])
                | Q(kind=V.ONGOING, status__in=V.STATUSES_BY_KIND[V.ONGOING])
                | Q(kind=V.OPEN, status__in=V.STATUSES_BY_KIND[V.OPEN]),
                name="obligation_status_fits_kind",
            ),
            models.CheckConstraint(
                condition=Q(due_date__isnull=True, due_at__isnull=True)
                | Q(due_date__isnull=False, due_at__isnull=False),
                name="obligation_due_at_iff_due_date",
            ),
            models.CheckConstraint(
                condition=~Q(kind=V.DEADLINE) | Q(due_date__isnull=False),
                name="obligation_deadline_has_due_date",
            ),
            models.CheckConstraint(
                condition=Q(kind=V.DEADLINE) | Q(due_date__isnull=True),
                name="obligation_due_date_only_for_deadline",
            ),
            models.CheckConstraint(
                condition=Q(ends_at__isnull=True)
                | Q(starts_at__isnull=True)
                | Q(ends_at__gt=models.F("starts_at")),
                name="obligation_ends_after_start",
            ),
        ]
        indexes = [
            models.Index(fields=["next_change_at"], name="obligation_next_change"),
            # The sweep's Python path selects by these; each disjunct has its index so a
            # sweep with nothing to do reads nothing (see deadlines.sweep.run).
            models.Index(
                fields=["id"],
                condition=Q(needs_assessment=True) | Q(assessed_at__isnull=True),
                name="obligation_needs_assess",
            ),
            models.Index(fields=["assessed_at"], name="obligation_assessed_at"),
            models.Index(
                fields=["facts_until"],
                condition=Q(facts_until__isnull=False),
                name="obligation_facts_until",
            ),
            models.Index(fields=["status"], name="obligation_status"),
            # Lists filter by agreement and status and page by due date: with the due
            # date and id in the key, a page is an index walk, not a sort of every match,
            # and counts are index-only (docs/performance.md, "API").
            models.Index(
                fields=["agreement", "status", "due_date", "id"],
                name="obligation_agr_status_due",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def save(self, *args, **kwargs):
        self.refresh_search_text()
        fields = kwargs.get("update_fields")
        if fields is not None and {"title", "description", "titles", "descriptions"} & set(fields):
            kwargs["update_fields"] = {*fields, "search_text"}
        super().save(*args, **kwargs)

    def refresh_search_text(self) -> None:
        """Derived, like Location.search_text: kept true to the texts it is made from
        (called by `save`, and by bulk writers, which bypass it)."""
        self.search_text = searchable([
            self.title, *self.titles.values(), self.description, *self.descriptions.values()
        ])


class Reviewable(models.Model):
    """A fact an editor enters; only published ones count."""

    review_state = models.CharField(
        max_length=10, choices=V.REVIEW_STATES, default=V.DRAFT, db_index=True
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+",
    )
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+",
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    rejection_reason = models.TextField(blank=True)
    # When the tracker learned it (publication), not when it happened.
    published_at = models.DateTimeField(null=True, blank=True)
    # "file" for facts from an agreement file, "staff" for those entered here.
    origin = models.CharField(max_length=10, choices=V.ORIGINS, default="staff")
    unconfirmed = models.BooleanField(default=False)
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        abstract = True


class DeadlineChange(Reviewable):
    """A new due date for a deadline obligation, holding from `agreed_at`."""

    obligation = models.ForeignKey(
        Obligation, on_delete=models.CASCADE, related_name="deadline_changes"
    )
    due_date = models.DateField()
    agreed_at = models.DateTimeField()
    reason = models.TextField(blank=True)
    sources = models.ManyToManyField(Source, related_name="deadline_changes", blank=True)

    # Which sources a fact cites is part of its audit trail (simple_history m2m).
    history = HistoricalRecords(m2m_fields=["sources"])

    class Meta:
        ordering = ["obligation", "agreed_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(review_state__in=[s for s, _ in V.REVIEW_STATES]),
                name="deadline_change_review_state_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.obligation}: due {self.due_date} (agreed {self.agreed_at:%Y-%m-%d})"


class Report(Reviewable):
    """What happened, with sources: a completion, progress, a violation and its end."""

    obligation = models.ForeignKey(Obligation, on_delete=models.CASCADE, related_name="reports")
    claim = models.CharField(max_length=20, choices=V.CLAIMS)
    occurred_at = models.DateTimeField(help_text="When it happened in the world (UTC)")
    # The file said only a date: the report counts from 00:00 local that day.
    occurred_date_only = models.BooleanField(default=False)
    summary = models.TextField()
    sources = models.ManyToManyField(Source, related_name="reports", blank=True)
    # Whose act it is (may differ from the term's responsible parties); empty: the
    # term's responsible parties.
    actors = models.ManyToManyField(Party, related_name="acts", blank=True)
    # Who says so; a claimant of kind `tracker` makes the report an editorial finding.
    claimant = models.ForeignKey(
        Claimant, on_delete=models.PROTECT, null=True, blank=True, related_name="reports"
    )
    # The report on the same term this one contests (a denial or another account); a
    # finding contests the report whose dispute it settles.
    contests = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="contested_by"
    )
    # The report's key in its agreement file (for `contests:`), empty for staff reports.
    key = models.SlugField(max_length=100, blank=True)
    # Corrections, not edits: a published report is never changed; a newer one
    # supersedes it (or retracts it, with `retracts`), with a reason.
    supersedes = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="superseded_by"
    )
    retracts = models.BooleanField(default=False)
    correction_reason = models.TextField(blank=True)
    superseded_at = models.DateTimeField(null=True, blank=True)

    # Which sources a fact cites is part of its audit trail (simple_history m2m).
    history = HistoricalRecords(m2m_fields=["sources", "actors"])

    class Meta:
        ordering = ["obligation", "occurred_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(claim__in=[c for c, _ in V.CLAIMS]), name="report_claim_valid"
            ),
            models.CheckConstraint(
                condition=Q(review_state__in=[s for s, _ in V.REVIEW_STATES]),
                name="report_review_state_valid",
            ),
            models.CheckConstraint(
                condition=~Q(review_state=V.PUBLISHED) | Q(published_at__isnull=False),
                name="report_published_has_date",
            ),
        ]
        indexes = [models.Index(fields=["obligation", "review_state"], name="report_obl_state")]

    def __str__(self) -> str:
        return f"{self.obligation}: {self.claim} {self.occurred_at:%Y-%m-%d}"

    @property
    def is_fact(self) -> bool:
        """Published and neither superseded nor a retraction: the engine counts it."""
        return self.review_state == V.PUBLISHED and self.superseded_at is None and not self.retracts


class AgreementRelation(models.Model):
    """What a later agreement does to an earlier one, or to one term of it, from `at`:
    implements, amends, supersedes or terminates it. A term superseded by a term of the
    later agreement names it in `replacement`."""

    agreement = models.ForeignKey(Agreement, on_delete=models.CASCADE, related_name="relations")
    kind = models.CharField(max_length=12, choices=V.RELATION_KINDS)
    target_agreement = models.ForeignKey(
        Agreement, on_delete=models.CASCADE, related_name="followed_by"
    )
    # One term of the earlier agreement; empty: the agreement as a whole.
    target = models.ForeignKey(
        Obligation, on_delete=models.CASCADE, null=True, blank=True, related_name="ended_by"
    )
    # The later agreement's term that takes the target's place (supersedes only).
    replacement = models.ForeignKey(
        Obligation, on_delete=models.CASCADE, null=True, blank=True, related_name="replaces"
    )
    at = models.DateTimeField(help_text="From when it holds in the world (UTC)")
    note = models.TextField(blank=True)
    sources = models.ManyToManyField(Source, related_name="relations", blank=True)
    unconfirmed = models.BooleanField(default=False)
    # When the tracker published it (the source's date for a relation from a file).
    published_at = models.DateTimeField(null=True, blank=True)

    history = HistoricalRecords(m2m_fields=["sources"])

    class Meta:
        ordering = ["at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=[k for k, _ in V.RELATION_KINDS]), name="relation_kind_valid"
            ),
            models.CheckConstraint(
                condition=Q(replacement__isnull=True) | Q(kind=V.SUPERSEDES),
                name="relation_replacement_only_supersedes",
            ),
            models.CheckConstraint(
                condition=~Q(agreement=models.F("target_agreement")),
                name="relation_not_to_itself",
            ),
        ]

    def __str__(self) -> str:
        target = self.target or self.target_agreement
        return f"{self.agreement.slug} {self.kind} {target}"


class CurrentEventManager(models.Manager):
    """Events still in the obligation's history (not superseded by corrected facts)."""

    def get_queryset(self):
        return super().get_queryset().filter(superseded_at__isnull=True)


class StatusEvent(models.Model):
    """One change of an obligation's stored status: the history and the notification outbox."""

    # status_event_once leads with obligation_id: no separate index to write per event.
    obligation = models.ForeignKey(
        Obligation, on_delete=models.CASCADE, related_name="events", db_index=False,
    )
    from_status = models.CharField(max_length=20, blank=True)
    to_status = models.CharField(max_length=20, choices=V.STATUSES)
    effective_at = models.DateTimeField(help_text="When it became true in the world")
    # Indexed by status_event_detected (BRIN): one sweep's events lie together.
    detected_at = models.DateTimeField()
    cause = models.CharField(max_length=20, choices=V.EVENT_CAUSES)
    # Indexed by status_event_report, only where set (the time-passing sweep never sets it).
    report = models.ForeignKey(
        Report, on_delete=models.SET_NULL, null=True, blank=True, related_name="events",
        db_index=False,
    )
    notified_at = models.DateTimeField(null=True, blank=True)
    # Set when corrected facts took this transition out of the obligation's history;
    # kept (not deleted) because it may have been published and notified.
    superseded_at = models.DateTimeField(null=True, blank=True)

    objects = models.Manager()
    current = CurrentEventManager()

    class Meta:
        ordering = ["-effective_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["obligation", "from_status", "to_status", "effective_at"],
                name="status_event_once",
            ),
            models.CheckConstraint(
                condition=Q(cause__in=[c for c, _ in V.EVENT_CAUSES]), name="status_event_cause"
            ),
        ]
        indexes = [
            # effective_at alone, not (effective_at, id): events share a few thousand
            # instants (local midnights, entries into force), and without a unique id in
            # the key PostgreSQL deduplicates them into a far smaller index, which the
            # first sweep writes at random places. Newest-first lists read it backwards
            # and sort only ties by id (docs/performance.md, "Sweep").
            models.Index(fields=["effective_at"], name="status_event_effective"),
            models.Index(
                fields=["id"], condition=Q(notified_at__isnull=True), name="status_event_outbox"
            ),
            # The first sweep writes about two events per obligation: a B-tree entry each
            # for detected_at (read only by sweep.changes_detected, equal to one sweep's
            # instant, which grows with the table) and for a report_id that is NULL on
            # nearly every event would be written for nothing (docs/performance.md,
            # "Sweep").
            BrinIndex(fields=["detected_at"], name="status_event_detected"),
            models.Index(
                fields=["report"], condition=Q(report__isnull=False), name="status_event_report"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.obligation}: {self.from_status or '—'} → {self.to_status}"


class OverviewSnapshot(models.Model):
    """The dashboard overview's counts for "now", shared by every process (one row).

    Derived data, never edited: written by `tracker.web.snapshot` (the worker after it
    stores statuses, or a request that found it out of date) and read by the overview.
    """

    # The database clock just before counting: a store only replaces an older one.
    taken_at = models.DateTimeField()
    # The version of the data (`tracker.web.snapshot.head`) read before counting: the
    # snapshot is used only while the version is still the same.
    version = models.CharField(max_length=200, blank=True)
    data = models.JSONField(default=dict)

    def __str__(self) -> str:
        return f"overview counts taken {self.taken_at:%Y-%m-%d %H:%M:%S}"


class SummarySpan(models.Model):
    """The engine's summary of one obligation's facts over [valid_from, valid_until).

    Derived data, never edited: `deadlines.sweep` writes every span of a row whose facts
    it assessed in Python (one per interval between dated facts, NULL: unbounded), in
    the same transaction that clears `needs_assessment`. With them, a status at a past
    instant is RULES in SQL over the span covering it (`tracker.statuses.split`), even
    where the row's own summary columns (its latest span) do not hold then. Rows without
    dated facts have none: their own columns hold at every instant.
    """

    obligation = models.ForeignKey(
        Obligation, on_delete=models.CASCADE, related_name="summary_spans", db_index=False
    )
    valid_from = models.DateTimeField(null=True, blank=True)
    valid_until = models.DateTimeField(null=True, blank=True)
    # The columns of `engine.Summary`, as on Obligation (tests/engine/test_spans.py checks
    # that every one the engine has is here).
    due_date = models.DateField(null=True, blank=True)
    due_at = models.DateTimeField(null=True, blank=True)
    due_soon_at = models.DateTimeField(null=True, blank=True)
    active_at = models.DateTimeField(null=True, blank=True)
    active_status = models.CharField(max_length=20, blank=True, default="")
    violated_at = models.DateTimeField(null=True, blank=True)
    disputed_at = models.DateTimeField(null=True, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)
    done_status = models.CharField(max_length=20, blank=True, default="")

    class Meta:
        # An obligation's spans are written and replaced together under its row lock
        # (disjoint by construction); reads find the one covering an instant by it.
        indexes = [models.Index(fields=["obligation", "valid_from"], name="summary_span_lookup")]

    def __str__(self) -> str:
        return f"{self.obligation_id}: {self.valid_from} – {self.valid_until}"


class StatusTally(models.Model):
    """How many of an agreement's obligations were in one status from `at` on (until
    the next row of the same agreement, party and status): the count timeline.

    Derived data, never edited: `tracker.count_timeline` rebuilds every row from the
    current status events (each one moves a row from one status to another at its
    instant) after the sweep, so that a count at a past instant is one index probe per
    agreement, party and status instead of a classification of every obligation.
    """

    agreement = models.ForeignKey(Agreement, on_delete=models.CASCADE, db_index=False,
                                  related_name="+")
    # 0: every obligation of the agreement. Otherwise a party's id: the obligations that
    # bind it and whose reports name no actors (`tracker.statuses.attributed`; those are
    # counted by the engine's standings at read time). A plain integer, not a nullable
    # key, so that both kinds of row are found by the same index equality.
    party = models.BigIntegerField(default=0)
    status = models.CharField(max_length=20)
    at = models.DateTimeField()
    n = models.IntegerField()

    class Meta:
        indexes = [
            models.Index(fields=["agreement", "party", "status", "at"], name="status_tally_lookup"),
        ]

    def __str__(self) -> str:
        return f"{self.agreement_id}/{self.party} {self.status} from {self.at}: {self.n}"


class StatusTallyBuild(models.Model):
    """The one row saying which data the count timeline was built from (`version`, see
    `tracker.versions`), when (`built_at`, the database clock), up to which instant its
    events are complete (`horizon`: no stored status changes before it), and the totals
    and keys it holds (`data`)."""

    built_at = models.DateTimeField()
    version = models.CharField(max_length=200, blank=True)
    horizon = models.DateTimeField(null=True, blank=True)
    data = models.JSONField(default=dict)

    def __str__(self) -> str:
        return f"count timeline built {self.built_at:%Y-%m-%d %H:%M:%S}"
