"""The fixed words the API and dashboard use (DESIGN.md, "Status vocabulary").

The keys are identifiers (English, in the API and the database); the labels are
translated (docs/translations.md holds the glossary each language keeps to).
"""

from django.utils.translation import gettext_lazy as _

DEADLINE, ONGOING, OPEN = "deadline", "ongoing", "open"
KINDS = [(DEADLINE, _("Deadline")), (ONGOING, _("Ongoing")), (OPEN, _("Open"))]

PENDING = "pending"
DUE_SOON = "due_soon"
OVERDUE = "overdue"
COMPLETED = "completed"
COMPLETED_LATE = "completed_late"
IN_FORCE = "in_force"
VIOLATED = "violated"
TERMINATED = "terminated"
IN_PROGRESS = "in_progress"
# Every kind: none of these is a breach or a completion, and none is charged to a party.
DISPUTED = "disputed"  # published claims conflict and no finding settles them, or contested text
SUPERSEDED = "superseded"  # replaced by a term of a later instrument (a relation says which)
OVERTAKEN = "overtaken"  # events removed its premise: it can no longer be met or breached
EVERY_KIND = [DISPUTED, SUPERSEDED, OVERTAKEN, TERMINATED]

STATUSES_BY_KIND = {
    DEADLINE: [PENDING, DUE_SOON, OVERDUE, COMPLETED, COMPLETED_LATE, *EVERY_KIND],
    ONGOING: [PENDING, IN_FORCE, VIOLATED, *EVERY_KIND],
    OPEN: [PENDING, IN_PROGRESS, COMPLETED, *EVERY_KIND],
}
# A breach is charged to the parties whose act it was (docs/method.md).
BREACHES = [OVERDUE, VIOLATED, COMPLETED_LATE]
STATUS_LABELS = {
    PENDING: _("Pending"),
    DUE_SOON: _("Due soon"),
    OVERDUE: _("Overdue"),
    COMPLETED: _("Completed"),
    COMPLETED_LATE: _("Completed late"),
    IN_FORCE: _("In force"),
    VIOLATED: _("Violated"),
    TERMINATED: _("Terminated"),
    IN_PROGRESS: _("In progress"),
    DISPUTED: _("Disputed"),
    SUPERSEDED: _("Superseded"),
    OVERTAKEN: _("Overtaken by events"),
}
STATUSES = list(STATUS_LABELS.items())
ALL_STATUSES = list(STATUS_LABELS)

# Claims a report can make, and the kinds each fits.
CLAIM_COMPLETED = "completed"
CLAIM_PROGRESS = "progress"
CLAIM_VIOLATION = "violation"
CLAIM_VIOLATION_ENDED = "violation_ended"
CLAIM_TERMINATED = "terminated"
# Events removed the term's premise (refugee return under UNHCR after the 2023 exodus).
CLAIM_OVERTAKEN = "overtaken"
# "It did not happen": only as a contest of another report (`Report.contests`).
CLAIM_DENIAL = "denial"
CLAIMS = [
    (CLAIM_COMPLETED, _("Completed")),
    (CLAIM_PROGRESS, _("Progress")),
    (CLAIM_VIOLATION, _("Violation")),
    (CLAIM_VIOLATION_ENDED, _("Violation ended")),
    (CLAIM_TERMINATED, _("Terminated")),
    (CLAIM_OVERTAKEN, _("Overtaken by events")),
    (CLAIM_DENIAL, _("Denial")),
]
_EVERY_KIND_CLAIMS = {CLAIM_TERMINATED, CLAIM_OVERTAKEN, CLAIM_DENIAL}
CLAIMS_BY_KIND = {
    DEADLINE: {CLAIM_COMPLETED, CLAIM_PROGRESS, *_EVERY_KIND_CLAIMS},
    ONGOING: {CLAIM_PROGRESS, CLAIM_VIOLATION, CLAIM_VIOLATION_ENDED, *_EVERY_KIND_CLAIMS},
    OPEN: {CLAIM_COMPLETED, CLAIM_PROGRESS, *_EVERY_KIND_CLAIMS},
}

# Who asserts a report. A finding is the tracker's own, reviewed like any report; it
# settles a dispute either way.
CLAIMANT_GOVERNMENT = "government"
CLAIMANT_MONITOR = "monitor"
CLAIMANT_PRESS = "press"
CLAIMANT_TRACKER = "tracker"
CLAIMANT_KINDS = [
    (CLAIMANT_GOVERNMENT, _("Government or ministry")),
    (CLAIMANT_MONITOR, _("Monitor")),
    (CLAIMANT_PRESS, _("Press")),
    (CLAIMANT_TRACKER, _("Editorial finding")),
]

# What a later agreement does to an earlier one (or to particular terms of it).
IMPLEMENTS, AMENDS, SUPERSEDES, TERMINATES = "implements", "amends", "supersedes", "terminates"
RELATION_KINDS = [
    (IMPLEMENTS, _("Implements")),
    (AMENDS, _("Amends")),
    (SUPERSEDES, _("Supersedes")),
    (TERMINATES, _("Terminates")),
]
# The status a relation gives the terms it ends, from its instant; the others only link.
RELATION_ENDINGS = {SUPERSEDES: SUPERSEDED, TERMINATES: TERMINATED}

# Categories are open-ended slugs in agreement files; these are the ones with a label
# in every language. Any other shows as written.
CATEGORY_LABELS = {
    "ceasefire": _("ceasefire"),
    "corridor": _("corridor"),
    "deployment": _("deployment"),
    "humanitarian": _("humanitarian"),
    "monitoring": _("monitoring"),
    "transport": _("transport"),
    "withdrawal": _("withdrawal"),
}


def category_label(category: str) -> str:
    return str(CATEGORY_LABELS.get(category, category))


DRAFT, PUBLISHED, REJECTED = "draft", "published", "rejected"
REVIEW_STATES = [(DRAFT, _("Draft")), (PUBLISHED, _("Published")), (REJECTED, _("Rejected"))]

ORIGINS = [("file", _("Agreement file")), ("staff", _("Staff"))]

PARTY_KINDS = [
    ("signatory", _("Signatory")),
    ("guarantor", _("Guarantor")),
    ("monitor", _("Monitor")),
    ("mediator", _("Mediator")),
    ("other", _("Other")),
]
LOCATION_KINDS = [
    ("country", _("Country")),
    ("region", _("Region")),
    ("district", _("District")),
    ("town", _("Town")),
    ("village", _("Village")),
    ("corridor", _("Corridor")),
    ("route", _("Route")),
    ("checkpoint", _("Checkpoint")),
    ("site", _("Site")),
    ("border", _("Border")),
]

# Why a StatusEvent was written.
CAUSE_SWEEP = "sweep"  # time passed (a due instant, a warning window, a term end)
CAUSE_FACTS = "facts"  # a report or deadline change was published or corrected
CAUSE_BACKFILL = "backfill"  # history replayed from facts when first assessed
CAUSE_AS_OF = "as_of"  # an explicit `sweep --as-of` replay
CAUSE_CORRECTION = "correction"  # corrected facts withdrew a status the tracker had stated
EVENT_CAUSES = [
    (CAUSE_SWEEP, _("Time passed")),
    (CAUSE_FACTS, _("Facts changed")),
    (CAUSE_BACKFILL, _("Replayed history")),
    (CAUSE_AS_OF, _("Replay as of an instant")),
    (CAUSE_CORRECTION, _("Correction")),
]
