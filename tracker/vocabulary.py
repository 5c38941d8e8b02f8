"""The fixed words the API and dashboard use (DESIGN.md, "Status vocabulary")."""

DEADLINE, ONGOING, OPEN = "deadline", "ongoing", "open"
KINDS = [(DEADLINE, "Deadline"), (ONGOING, "Ongoing"), (OPEN, "Open")]

PENDING = "pending"
DUE_SOON = "due_soon"
OVERDUE = "overdue"
COMPLETED = "completed"
COMPLETED_LATE = "completed_late"
IN_FORCE = "in_force"
VIOLATED = "violated"
TERMINATED = "terminated"
IN_PROGRESS = "in_progress"

STATUSES_BY_KIND = {
    DEADLINE: [PENDING, DUE_SOON, OVERDUE, COMPLETED, COMPLETED_LATE],
    ONGOING: [PENDING, IN_FORCE, VIOLATED, TERMINATED],
    OPEN: [PENDING, IN_PROGRESS, COMPLETED],
}
STATUS_LABELS = {
    PENDING: "Pending",
    DUE_SOON: "Due soon",
    OVERDUE: "Overdue",
    COMPLETED: "Completed",
    COMPLETED_LATE: "Completed late",
    IN_FORCE: "In force",
    VIOLATED: "Violated",
    TERMINATED: "Terminated",
    IN_PROGRESS: "In progress",
}
STATUSES = list(STATUS_LABELS.items())
ALL_STATUSES = list(STATUS_LABELS)

# Claims a report can make, and the kinds each fits.
CLAIM_COMPLETED = "completed"
CLAIM_PROGRESS = "progress"
CLAIM_VIOLATION = "violation"
CLAIM_VIOLATION_ENDED = "violation_ended"
CLAIM_TERMINATED = "terminated"
CLAIMS = [
    (CLAIM_COMPLETED, "Completed"),
    (CLAIM_PROGRESS, "Progress"),
    (CLAIM_VIOLATION, "Violation"),
    (CLAIM_VIOLATION_ENDED, "Violation ended"),
    (CLAIM_TERMINATED, "Terminated"),
]
CLAIMS_BY_KIND = {
    DEADLINE: {CLAIM_COMPLETED, CLAIM_PROGRESS},
    ONGOING: {CLAIM_PROGRESS, CLAIM_VIOLATION, CLAIM_VIOLATION_ENDED, CLAIM_TERMINATED},
    OPEN: {CLAIM_COMPLETED, CLAIM_PROGRESS},
}

DRAFT, PUBLISHED, REJECTED = "draft", "published", "rejected"
REVIEW_STATES = [(DRAFT, "Draft"), (PUBLISHED, "Published"), (REJECTED, "Rejected")]

ORIGINS = [("file", "Agreement file"), ("staff", "Staff")]

PARTY_KINDS = [
    ("signatory", "Signatory"),
    ("guarantor", "Guarantor"),
    ("monitor", "Monitor"),
    ("mediator", "Mediator"),
    ("other", "Other"),
]
LOCATION_KINDS = [
    ("country", "Country"),
    ("region", "Region"),
    ("district", "District"),
    ("town", "Town"),
    ("village", "Village"),
    ("corridor", "Corridor"),
    ("route", "Route"),
    ("checkpoint", "Checkpoint"),
    ("site", "Site"),
    ("border", "Border"),
]

# Why a StatusEvent was written.
CAUSE_SWEEP = "sweep"  # time passed (a due instant, a warning window, a term end)
CAUSE_FACTS = "facts"  # a report or deadline change was published or corrected
CAUSE_BACKFILL = "backfill"  # history replayed from facts when first assessed
CAUSE_AS_OF = "as_of"  # an explicit `sweep --as-of` replay
CAUSE_CORRECTION = "correction"  # corrected facts withdrew a status the tracker had stated
EVENT_CAUSES = [
    (CAUSE_SWEEP, "Time passed"),
    (CAUSE_FACTS, "Facts changed"),
    (CAUSE_BACKFILL, "Replayed history"),
    (CAUSE_AS_OF, "Replay as of an instant"),
    (CAUSE_CORRECTION, "Correction"),
]
