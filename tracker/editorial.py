"""The editorial workflow's rules, in plain functions the admin, the staff pages and the
API all call: who may draft, edit, publish, reject and correct, and what each does.

* Editors draft reports and deadline changes; a second person (a reviewer) publishes or
  rejects them, never their own. Only published facts count (deadlines.facts).
* A published report is immutable: a correction is a new draft that supersedes (or
  retracts) it and takes effect when it is published.
* No lost updates: every write locks the row (`select_for_update`) and compares the
  `version` the editor started from; a stale one raises `StaleEdit` naming what changed.
* Every write that changes facts calls `tracker.services.facts_changed`, which flags
  the obligation and re-assesses it after commit.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from datetime import date, datetime
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Model, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from deadlines import engine
from deadlines.facts import facts_of
from tracker import services
from tracker import vocabulary as V
from tracker.instants import InstantError, check_year
from tracker.models import Claimant, DeadlineChange, Obligation, Party, Report, Source

EDITOR, REVIEWER, ADMIN = "editor", "reviewer", "admin"
ROLES = (EDITOR, REVIEWER, ADMIN)

# Fields an editor may set on a draft report / deadline change, and on an obligation.
REPORT_FIELDS = (
    "claim", "occurred_at", "occurred_date_only", "summary", "sources", "unconfirmed", "note",
    "actors", "claimant", "contests",
)
# A report's many-to-many fields: read as lists, set after the row is saved.
REPORT_M2M = ("sources", "actors")
CHANGE_FIELDS = ("due_date", "agreed_at", "reason", "sources", "unconfirmed", "note")
OBLIGATION_FIELDS = (
    "slug", "title", "description", "category", "position", "clause", "starts_at", "ends_at",
    "term_years", "renews_years", "notice_months", "titles", "descriptions", "text_dispute",
)
# The obligation's fields the engine reads: editing one re-assesses it.
TERM_FIELDS = frozenset({"starts_at", "ends_at", "term_years", "renews_years", "notice_months",
                         "text_dispute"})


class StaleEdit(Exception):
    """Someone saved the object after this editor opened it: the save is refused.

    `changes` lists (field, value the editor started from, value now stored, by whom).
    """

    def __init__(self, obj: Model, expected_version: int, changes: list[tuple[str, Any, Any, str]]):
        self.obj = obj
        self.expected_version = expected_version
        self.current_version = getattr(obj, "version", None)
        self.changes = changes
        super().__init__(self.message)

    @property
    def message(self) -> str:
        if self.current_version is not None and self.expected_version > self.current_version:
            # Not a lost race: the client sent a version this object never had.
            return _(
                "%(object)s has never been at version %(expected)s: its current version is "
                "%(current)s. Nothing was saved. Read it again and send the `version` it "
                "shows with your change."
            ) % {"object": obj_label(self.obj), "expected": self.expected_version,
                 "current": self.current_version}
        head = _(
            "%(object)s was changed by someone else since you opened it (version "
            "%(expected)s → %(current)s); your save was refused and nothing was "
            "overwritten. Read it again, check what changed, and send your change with the "
            "current version."
        ) % {"object": obj_label(self.obj), "expected": self.expected_version,
             "current": self.current_version}
        if not self.changes:
            return head
        # Field names are identifiers and the values are data: listed as they are.
        lines = [f"{f}: {before!r} → {after!r}{f' ({who})' if who else ''}"
                 for f, before, after, who in self.changes]
        return head + " " + _("What changed: %(changes)s") % {"changes": "; ".join(lines)}


def obj_label(obj: Model) -> str:
    if isinstance(obj, Report):
        return _("Report #%(n)s") % {"n": obj.pk}
    if isinstance(obj, DeadlineChange):
        return _("Deadline change #%(n)s") % {"n": obj.pk}
    if isinstance(obj, Obligation):
        return _("Obligation #%(n)s") % {"n": obj.pk}
    return _("%(kind)s #%(n)s") % {"kind": str(obj._meta.verbose_name).capitalize(), "n": obj.pk}


def _state(obj: Report | DeadlineChange) -> str:
    """A review state's label in the reader's language, for a sentence."""
    return str(dict(V.REVIEW_STATES).get(obj.review_state, obj.review_state))


# ---------------------------------------------------------------- roles


def _in_groups(user: Any, names: Iterable[str]) -> bool:
    if user is None or isinstance(user, AnonymousUser) or not user.is_authenticated:
        return False
    if not user.is_active:
        return False
    if user.is_superuser:
        return True
    wanted = set(names)
    cached = getattr(user, "_editorial_groups", None)
    if cached is None:
        cached = set(user.groups.values_list("name", flat=True))
        user._editorial_groups = cached
    return bool(cached & wanted)


def drafts_for_review(reviewer: Any) -> tuple[QuerySet[Report], QuerySet[DeadlineChange]]:
    """The drafts `reviewer` may decide: every draft but their own (a second person
    reviews), oldest first."""
    reports = (Report.objects.filter(review_state=V.DRAFT).exclude(author=reviewer)
               .order_by("created_at"))
    changes = (DeadlineChange.objects.filter(review_state=V.DRAFT).exclude(author=reviewer)
               .order_by("created_at"))
    return reports, changes


def waiting_for(reviewer: Any) -> int | None:
    """How many drafts wait for `reviewer`; None for someone who does not review."""
    if not is_reviewer(reviewer):
        return None
    reports, changes = drafts_for_review(reviewer)
    return reports.count() + changes.count()


def is_editor(user: Any) -> bool:
    """May draft reports and deadline changes, edit own drafts, propose corrections."""
    return _in_groups(user, (EDITOR, ADMIN))


def is_reviewer(user: Any) -> bool:
    """May publish or reject drafts written by someone else."""
    return _in_groups(user, (REVIEWER, ADMIN))


def is_admin(user: Any) -> bool:
    """May edit obligations, manage webhooks and tokens, edit anyone's drafts."""
    return _in_groups(user, (ADMIN,))


def can_edit_draft(user: Any, obj: Report | DeadlineChange) -> bool:
    if obj.review_state != V.DRAFT:
        return False
    return is_admin(user) or (is_editor(user) and obj.author_id == user.pk)


def can_review(user: Any, obj: Report | DeadlineChange) -> bool:
    return (
        obj.review_state == V.DRAFT
        and is_reviewer(user)
        and (obj.author_id is None or obj.author_id != user.pk)
    )


def _require(allowed: bool, message: str) -> None:
    if not allowed:
        raise PermissionDenied(message)


# ---------------------------------------------------------------- validation helpers


def _aware(value: Any, field: str, errors: dict) -> datetime | None:
    if not isinstance(value, datetime):
        errors.setdefault(field, []).append(_("Enter a date and time."))
        return None
    if timezone.is_naive(value):
        errors.setdefault(field, []).append(_("Give a time zone offset (e.g. +04:00 or Z)."))
        return None
    return value


def _in_year_range(value: Any, field: str, errors: dict) -> bool:
    """False (with a field message) for a date far outside any agreement: near datetime's
    limits, converting it to UTC or to a local midnight overflows."""
    if not isinstance(value, date):
        return True
    try:
        check_year(value)
    except InstantError as exc:
        errors.setdefault(field, []).append(str(exc))
        return False
    return True


def _resolve_sources(obligation: Obligation, sources: Any, errors: dict) -> list[Source]:
    """Sources as instances or ids; all must belong to the obligation's agreement."""
    items = list(sources or [])
    if not items:
        errors.setdefault("sources", []).append(_("Give at least one source."))
        return []
    ids = [s.pk if isinstance(s, Source) else s for s in items]
    try:
        ids = [int(i) for i in ids]
    except (TypeError, ValueError):
        errors.setdefault("sources", []).append(_("Sources must be source ids."))
        return []
    found = {s.pk: s for s in Source.objects.filter(pk__in=ids)}
    missing = [i for i in ids if i not in found]
    if missing:
        errors.setdefault("sources", []).append(
            _("Unknown source id(s): %(ids)s.") % {"ids": missing}
        )
    foreign = [i for i in ids if i in found and found[i].agreement_id != obligation.agreement_id]
    if foreign:
        errors.setdefault("sources", []).append(
            _("Source(s) %(ids)s belong to another agreement.") % {"ids": foreign}
        )
    return [found[i] for i in dict.fromkeys(ids) if i in found]


TRACKER_CLAIMANT = "tracker"


def tracker_claimant() -> Claimant:
    """The built-in claimant of editorial findings (kind `tracker`), created on first use
    as the loader creates it when a file names it."""
    claimant, _created = Claimant.objects.get_or_create(
        slug=TRACKER_CLAIMANT,
        defaults={"name": "Ceasefire-terms tracker (editorial finding)",
                  "kind": V.CLAIMANT_TRACKER},
    )
    return claimant


def _resolve_actors(obligation: Obligation, actors: Any, errors: dict) -> list[Party]:
    """Parties (instances, ids or slugs) whose act the report is about; each must be a
    party of the obligation's agreement."""
    items = list(actors or [])
    if not items:
        return []
    parties = {p.pk: p for p in obligation.agreement.parties.all()}
    by_slug = {p.slug: p for p in parties.values()}
    found: list[Party] = []
    strangers: list[str] = []
    for item in items:
        if isinstance(item, Party):
            party = parties.get(item.pk)
            name = item.slug
        elif isinstance(item, int) and not isinstance(item, bool):
            party, name = parties.get(item), str(item)
        else:
            party, name = by_slug.get(str(item)), str(item)
        if party is None:
            strangers.append(name)
        elif party not in found:
            found.append(party)
    if strangers:
        errors.setdefault("actors", []).append(
            _("%(actors)s: not a party of the agreement %(agreement)s; its parties are "
              "%(parties)s.")
            % {"actors": ", ".join(strangers), "agreement": obligation.agreement.slug,
               "parties": ", ".join(sorted(by_slug)) or "—"}
        )
    return found


def _resolve_claimant(value: Any, errors: dict) -> Claimant | None:
    """A claimant instance or slug (`tracker`: the built-in editorial finding)."""
    if value in (None, ""):
        return None
    if isinstance(value, Claimant):
        return value
    slug = str(value)
    claimant = Claimant.objects.filter(slug=slug).first()
    if claimant is None and slug == TRACKER_CLAIMANT:
        claimant = tracker_claimant()
    if claimant is None:
        errors.setdefault("claimant", []).append(
            _("No claimant %(slug)r; /api/v1/claimants/ lists them.") % {"slug": slug}
        )
    return claimant


def _resolve_contests(
    obligation: Obligation, value: Any, own_pk: int | None, errors: dict
) -> Report | None:
    """The report (instance or id) this one contests: on the same term, not itself."""
    if value in (None, ""):
        return None
    if isinstance(value, Report):
        contested: Report | None = value
    else:
        try:
            contested = Report.objects.filter(pk=int(value)).first()
        except (TypeError, ValueError):
            contested = None
    if contested is None:
        errors.setdefault("contests", []).append(
            _("No report %(value)s to contest.") % {"value": value}
        )
        return None
    if contested.obligation_id != obligation.pk:
        errors.setdefault("contests", []).append(
            _("Report #%(n)s is a report on another term: a report contests only reports on "
              "the same term.") % {"n": contested.pk}
        )
    elif own_pk is not None and contested.pk == own_pk:
        errors.setdefault("contests", []).append(_("A report cannot contest itself."))
    elif contested.review_state == V.REJECTED:
        errors.setdefault("contests", []).append(
            _("Report #%(n)s was rejected: there is nothing to contest.") % {"n": contested.pk}
        )
    return contested


def _clean_claims(obligation: Obligation, data: dict, out: dict, errors: dict) -> None:
    """Who did it, who says so, and what it contests (docs/api.md, "Reports")."""
    out["actors"] = _resolve_actors(obligation, data.get("actors"), errors)
    claimant = _resolve_claimant(data.get("claimant"), errors)
    out["claimant"] = claimant
    out["contests"] = _resolve_contests(obligation, data.get("contests"), data.get("pk"), errors)
    if data.get("claim") == V.CLAIM_DENIAL and data.get("contests") in (None, ""):
        errors.setdefault("contests", []).append(
            _("A denial says another report is wrong: name the report it contests.")
        )
    if claimant is not None and claimant.kind == V.CLAIMANT_TRACKER and not data.get("sources"):
        errors.setdefault("sources", []).append(
            _("An editorial finding must cite the sources it rests on.")
        )


def _clean_report(obligation: Obligation, data: dict, errors: dict) -> dict:
    """Validate report fields; returns them normalised (sources, actors, claimant and the
    contested report resolved, dates made UTC)."""
    out = dict(data)
    _clean_claims(obligation, data, out, errors)
    claim = data.get("claim")
    allowed = V.CLAIMS_BY_KIND.get(obligation.kind, set())
    if claim not in dict(V.CLAIMS):
        errors.setdefault("claim", []).append(
            _("Unknown claim %(value)r; one of %(known)s.")
            % {"value": claim, "known": sorted(dict(V.CLAIMS))}
        )
    elif claim not in allowed:
        errors.setdefault("claim", []).append(
            _("An obligation of this kind (%(kind)s) cannot be reported %(claim)r; one of "
              "%(allowed)s.")
            % {"kind": obligation.get_kind_display(), "claim": claim, "allowed": sorted(allowed)}
        )
    occurred = data.get("occurred_at")
    if not _in_year_range(occurred, "occurred_at", errors):
        occurred = None
    elif isinstance(occurred, date) and not isinstance(occurred, datetime):
        # A bare date counts from 00:00 local time that day (DESIGN.md).
        occurred = engine.local_midnight(occurred, obligation.agreement.zone)
        out["occurred_date_only"] = True
    if occurred is not None:
        occurred = _aware(occurred, "occurred_at", errors)
    elif "occurred_at" not in errors:
        errors["occurred_at"] = [_("Enter a date and time.")]
    if occurred is not None:
        if occurred < obligation.agreement.signed_at:
            errors.setdefault("occurred_at", []).append(
                _("Cannot be before the agreement was signed (%(signed)s UTC).")
                % {"signed": f"{obligation.agreement.signed_at:%Y-%m-%d %H:%M}"}
            )
        if occurred > timezone.now():
            errors.setdefault("occurred_at", []).append(_("Cannot be in the future."))
        out["occurred_at"] = occurred
    if not str(data.get("summary") or "").strip():
        errors.setdefault("summary", []).append(_("Say what happened."))
    out["sources"] = _resolve_sources(obligation, data.get("sources"), errors)
    return out


def _clean_change(obligation: Obligation, data: dict, errors: dict) -> dict:
    out = dict(data)
    if obligation.kind != V.DEADLINE:
        errors.setdefault("obligation", []).append(
            _("Only a deadline obligation can have its deadline changed.")
        )
    due = data.get("due_date")
    if not isinstance(due, date) or isinstance(due, datetime):
        errors.setdefault("due_date", []).append(_("Enter a date (the new local due date)."))
    else:
        _in_year_range(due, "due_date", errors)
    agreed = data.get("agreed_at")
    agreed = _aware(agreed, "agreed_at", errors) if _in_year_range(
        agreed, "agreed_at", errors
    ) else None
    if agreed is not None and agreed < obligation.agreement.signed_at:
        errors.setdefault("agreed_at", []).append(
            _("A deadline change cannot be agreed before the agreement was signed.")
        )
    if agreed is not None and agreed > timezone.now():
        errors.setdefault("agreed_at", []).append(
            _("Cannot be in the future: a date still to come belongs in a deadline, not in "
              "a fact.")
        )
    if not str(data.get("reason") or "").strip():
        errors.setdefault("reason", []).append(_("Say why the deadline changed."))
    out["sources"] = _resolve_sources(obligation, data.get("sources"), errors)
    return out


def _valid(
    clean: Callable[[Obligation, dict, dict], dict], obligation: Obligation, data: dict
) -> dict:
    """`data` as `clean` normalises it; ValidationError({field: [messages]}) naming every
    field that is wrong, not only the first."""
    errors: dict = {}
    cleaned = clean(obligation, data, errors)
    if errors:
        raise ValidationError(errors)
    return cleaned


def _set_history_user(obj: Model, user: Any) -> None:
    # simple_history reads this when there is no request (API, tasks, tests).
    if user is not None and getattr(user, "is_authenticated", False):
        obj._history_user = user


def _locked(obj: Model) -> Model:
    return type(obj).objects.select_for_update().get(pk=obj.pk)


def _check_version(current: Model, version: int | None, *, required: bool = True) -> None:
    """`required=False` only for publish/reject called by code that has just read the
    object itself (tests, fixtures): the API, the staff pages and the admin's actions
    always send the version the reviewer saw."""
    if version is None:
        if required:
            raise ValidationError(
                {"version": [_("Give the version you started from (the object's `version`).")]}
            )
        return
    try:
        version = int(version)
    except (TypeError, ValueError):
        raise ValidationError({"version": [_("Missing or malformed version.")]}) from None
    if current.version != version:
        raise StaleEdit(current, version, changes_since(current, version))


def changes_since(obj: Model, version: int) -> list[tuple[str, Any, Any, str]]:
    """What changed on `obj` since it was at `version`, from its simple_history trail."""
    history = getattr(obj, "history", None)
    if history is None:
        return []
    then = history.filter(version=version).order_by("-history_date", "-history_id").first()
    now = history.order_by("-history_date", "-history_id").first()
    if then is None or now is None or then.pk == now.pk:
        return []
    who = ""
    later = history.filter(version__gt=version).order_by("history_date", "history_id")
    users = {str(h.history_user) for h in later if h.history_user_id}
    if users:
        who = "by " + ", ".join(sorted(users))
    delta = now.diff_against(then, excluded_fields=["version"])
    return [(c.field, c.old, c.new, who) for c in delta.changes]


# ---------------------------------------------------------------- drafting


def _save_draft(
    draft: Report | DeadlineChange, *, author: Any, sources: list[Source],
    actors: list[Party] | None = None,
) -> None:
    """Store a new draft written by `author` on the staff side, citing `sources` (and, for
    a report, naming `actors`)."""
    draft.author = author
    draft.origin = "staff"
    draft.review_state = V.DRAFT
    with transaction.atomic():
        _set_history_user(draft, author)
        draft.save()
        draft.sources.set(sources)
        if actors:
            draft.actors.set(actors)


def create_report(
    *,
    author: Any,
    obligation: Obligation,
    claim: str,
    occurred_at: datetime | date,
    occurred_date_only: bool = False,
    summary: str,
    sources: Iterable[Source | int],
    unconfirmed: bool = False,
    note: str = "",
    actors: Iterable[Party | int | str] = (),
    claimant: Claimant | str | None = None,
    contests: Report | int | None = None,
) -> Report:
    """A draft report. Raises ValidationError({field: [messages]}) on bad input,
    PermissionDenied unless the author is an editor."""
    _require(is_editor(author), _("Only editors can draft reports."))
    data = _valid(
        _clean_report,
        obligation,
        {
            "claim": claim, "occurred_at": occurred_at,
            "occurred_date_only": occurred_date_only, "summary": summary, "sources": sources,
            "actors": actors, "claimant": claimant, "contests": contests,
        },
    )
    report = Report(
        obligation=obligation,
        claim=claim,
        occurred_at=data["occurred_at"],
        occurred_date_only=bool(data["occurred_date_only"]),
        summary=str(summary).strip(),
        unconfirmed=bool(unconfirmed),
        note=note or "",
        claimant=data["claimant"],
        contests=data["contests"],
    )
    _save_draft(report, author=author, sources=data["sources"], actors=data["actors"])
    return report


def propose_deadline_change(
    *,
    author: Any,
    obligation: Obligation,
    due_date: date,
    agreed_at: datetime,
    reason: str,
    sources: Iterable[Source | int],
    unconfirmed: bool = False,
    note: str = "",
) -> DeadlineChange:
    """A draft deadline change; it holds from `agreed_at` once published."""
    _require(is_editor(author), _("Only editors can propose deadline changes."))
    data = _valid(
        _clean_change,
        obligation,
        {"due_date": due_date, "agreed_at": agreed_at, "reason": reason, "sources": sources},
    )
    change = DeadlineChange(
        obligation=obligation,
        due_date=due_date,
        agreed_at=data["agreed_at"],
        reason=str(reason).strip(),
        unconfirmed=bool(unconfirmed),
        note=note or "",
    )
    _save_draft(change, author=author, sources=data["sources"])
    return change


def _new_occurred_at_resets_date_only(merged: dict, fields: dict) -> None:
    # The stored flag describes the stored occurred_at: a new instant is timed unless the
    # caller says otherwise (a plain date sets the flag again in _clean_report).
    if "occurred_at" in fields and "occurred_date_only" not in fields:
        merged["occurred_date_only"] = False


def update_draft(
    obj: Report | DeadlineChange, *, user: Any, version: int | None, **fields: Any
) -> Report | DeadlineChange:
    """Edit a draft (its author, or an admin). `version` is the one the editor opened;
    a stale one raises StaleEdit and changes nothing."""
    allowed = REPORT_FIELDS if isinstance(obj, Report) else CHANGE_FIELDS
    unknown = set(fields) - set(allowed)
    if unknown:
        raise ValidationError({f: [_("This field cannot be edited.")] for f in sorted(unknown)})
    with transaction.atomic():
        current = _locked(obj)
        # Permission before the version check: a StaleEdit names what others changed,
        # which someone who may not edit this draft has no business reading.
        _require(
            is_admin(user) or (is_editor(user) and current.author_id == user.pk),
            _("Only the author or an admin can edit a draft."),
        )
        if current.review_state != V.DRAFT:
            message = (
                _("%(object)s is not a draft (%(state)s): only drafts can be edited; correct "
                  "a published report instead.") if isinstance(current, Report)
                else _("%(object)s is not a draft (%(state)s): only drafts can be edited.")
            )
            raise ValidationError(message % {"object": obj_label(current),
                                             "state": _state(current)})
        _check_version(current, version)
        many = REPORT_M2M if isinstance(current, Report) else ("sources",)
        merged = _stored(current, allowed, many)
        _new_occurred_at_resets_date_only(merged, fields)
        merged.update(fields)
        clean = _clean_report if isinstance(current, Report) else _clean_change
        data = _valid(clean, current.obligation, merged)
        for f in allowed:
            if f not in many and f in fields:
                setattr(current, f, data[f])
        if isinstance(current, Report) and "occurred_date_only" in data:
            current.occurred_date_only = bool(data["occurred_date_only"])
        current.version += 1
        _set_history_user(current, user)
        current.save()
        for f in many:
            if f in fields:
                getattr(current, f).set(data[f])
    return current


def _stored(obj: Report | DeadlineChange, allowed: Iterable[str], many: Iterable[str]) -> dict:
    """The editable fields as stored (many-to-many ones as lists), to merge a change into;
    `pk` lets the checks know which report this is (it may not contest itself)."""
    merged: dict[str, Any] = {f: getattr(obj, f) for f in allowed if f not in many}
    for f in many:
        merged[f] = list(getattr(obj, f).all())
    merged["pk"] = obj.pk
    return merged


def update_obligation(
    obligation: Obligation, *, user: Any, version: int | None, **fields: Any
) -> Obligation:
    """Edit an obligation's descriptive and term fields (admins). Deadlines change only
    through published deadline changes, statuses only through the sweep."""
    _require(is_admin(user), _("Only admins can edit obligations."))
    unknown = set(fields) - set(OBLIGATION_FIELDS)
    if unknown:
        message = _("This field cannot be edited here.")
        raise ValidationError({f: [message] for f in sorted(unknown)})
    with transaction.atomic():
        current = _locked(obligation)
        _check_version(current, version)
        for f, value in fields.items():
            setattr(current, f, value)
        current.full_clean(exclude=["agreement", "clause"])
        current.version += 1
        _set_history_user(current, user)
        current.save()
        if TERM_FIELDS & set(fields):
            services.facts_changed([current.pk])
    return current


# ---------------------------------------------------------------- review


def _draft_under_review(
    obj: Report | DeadlineChange, reviewer: Any, version: int | None, *, own: str
) -> Report | DeadlineChange:
    """The draft, locked, once it is still a draft, not the reviewer's own (`own` says
    so) and at the version the reviewer saw. Call inside the reviewing transaction."""
    current = _locked(obj)
    if current.review_state != V.DRAFT:
        raise ValidationError(_("%(what)s is already %(state)s.") % {
            "what": obj_label(current), "state": current.get_review_state_display().lower()})
    _require(current.author_id is None or current.author_id != reviewer.pk, own)
    _check_version(current, version, required=False)
    return current


def _decide(current: Report | DeadlineChange, state: str, reviewer: Any, now: datetime) -> None:
    """Store the reviewer's decision on the draft."""
    current.review_state = state
    current.reviewer = reviewer
    current.reviewed_at = now
    current.version += 1
    _set_history_user(current, reviewer)
    current.save()


def publish(obj: Report | DeadlineChange, *, reviewer: Any, version: int | None = None):
    """Make a draft a fact. Only a reviewer (or admin/superuser) who is not its author.
    `version` is the one the reviewer looked at (a stale one raises StaleEdit); None only
    from code that has just read the draft itself."""
    _require(is_reviewer(reviewer), _("Only reviewers can publish."))
    with transaction.atomic():
        current = _draft_under_review(
            obj, reviewer, version,
            own=_("You cannot publish your own draft: a second person must review it."),
        )
        now = timezone.now()
        if isinstance(current, Report) and current.supersedes_id:
            old = Report.objects.select_for_update().get(pk=current.supersedes_id)
            if old.review_state != V.PUBLISHED or old.superseded_at is not None:
                raise ValidationError(
                    _("Report #%(n)s is no longer a published fact; this correction is moot.")
                    % {"n": old.pk}
                )
            old.superseded_at = now
            old.version += 1
            _set_history_user(old, reviewer)
            old.save(update_fields=["superseded_at", "version"])
        current.published_at = now
        _decide(current, V.PUBLISHED, reviewer, now)
        if isinstance(current, DeadlineChange):
            _store_deadline_in_force(current.obligation_id, reviewer, now)
        services.facts_changed([current.obligation_id])
    return current


def _store_deadline_in_force(obligation_id: int, user: Any, now: datetime) -> None:
    """Obligation.due_date/due_at hold the deadline in force now (DESIGN.md)."""
    obligation = Obligation.objects.select_for_update().select_related("agreement").get(
        pk=obligation_id
    )
    facts = facts_of(obligation)
    due = engine.deadline_in_force(facts, now)
    if due is None or due == obligation.due_date:
        return
    obligation.due_date = due
    obligation.due_at = engine.due_instant(due, facts.zone)
    obligation.version += 1
    _set_history_user(obligation, user)
    obligation.save(update_fields=["due_date", "due_at", "version"])


def reject(
    obj: Report | DeadlineChange, *, reviewer: Any, reason: str, version: int | None = None
):
    """Refuse a draft, keeping the reviewer's reason. It stays, never becomes a fact.
    `version` as for `publish`."""
    _require(is_reviewer(reviewer), _("Only reviewers can reject."))
    if not str(reason or "").strip():
        raise ValidationError({"reason": [_("Say why the draft is rejected.")]})
    with transaction.atomic():
        current = _draft_under_review(
            obj, reviewer, version, own=_("You cannot review your own draft.")
        )
        current.rejection_reason = str(reason).strip()
        if isinstance(current, Report) and current.supersedes_id:
            # `supersedes` is one-to-one: free it so another correction can be proposed.
            # The link stays in the history trail and in the note.
            current.note = (
                f"{current.note}\n" if current.note else ""
            ) + f"Proposed as a correction of report #{current.supersedes_id}."
            current.supersedes = None
        _decide(current, V.REJECTED, reviewer, timezone.now())
    return current


def correct(
    report: Report, *, author: Any, retract: bool = False, reason: str, **new_fields: Any
) -> Report:
    """A new draft that supersedes (or, with retract=True, withdraws) a published report.
    The published one stays untouched until the correction is published."""
    _require(is_editor(author), _("Only editors can propose corrections."))
    unknown = set(new_fields) - set(REPORT_FIELDS)
    if unknown:
        raise ValidationError({f: [_("Unknown field.")] for f in sorted(unknown)})
    if not str(reason or "").strip():
        raise ValidationError({"reason": [_("Say why the report is corrected.")]})
    with transaction.atomic():
        old = Report.objects.select_for_update().select_related("obligation__agreement").get(
            pk=report.pk
        )
        if old.review_state != V.PUBLISHED:
            raise ValidationError(
                _("Report #%(n)s is not published (%(state)s): only published reports are "
                  "corrected; edit the draft instead.") % {"n": old.pk, "state": _state(old)}
            )
        if old.superseded_at is not None or old.retracts:
            raise ValidationError(
                _("Report #%(n)s is already superseded or is a retraction.") % {"n": old.pk}
            )
        pending = Report.objects.filter(supersedes=old).first()
        if pending is not None:
            raise ValidationError(
                _("Report #%(n)s already has a pending correction (#%(pending)s).")
                % {"n": old.pk, "pending": pending.pk}
            )
        merged = _stored(old, REPORT_FIELDS, REPORT_M2M)
        merged["pk"] = None  # the correction is a new report: it may contest `old`'s case
        _new_occurred_at_resets_date_only(merged, new_fields)
        merged.update(new_fields)
        data = _valid(_clean_report, old.obligation, merged)
        new = Report(
            obligation=old.obligation,
            claim=data["claim"],
            occurred_at=data["occurred_at"],
            occurred_date_only=bool(data["occurred_date_only"]),
            summary=str(data["summary"]).strip(),
            unconfirmed=bool(data["unconfirmed"]),
            note=data.get("note") or "",
            claimant=data["claimant"],
            contests=data["contests"],
            supersedes=old,
            retracts=bool(retract),
            correction_reason=str(reason).strip(),
        )
        _save_draft(new, author=author, sources=data["sources"], actors=data["actors"])
    return new


def delete_draft(obj: Report | DeadlineChange, *, user: Any) -> None:
    """Drafts may be withdrawn by their author or an admin; facts are never deleted."""
    with transaction.atomic():
        current = _locked(obj)
        if current.review_state != V.DRAFT:
            raise ValidationError(
                _("%(object)s is not a draft (%(state)s): only drafts can be deleted.")
                % {"object": obj_label(current), "state": _state(current)}
            )
        _require(can_edit_draft(user, current),
                 _("Only the author or an admin can delete a draft."))
        _set_history_user(current, user)
        current.delete()


# ---------------------------------------------------------------- preview


def _report_fact(r: Report) -> engine.ReportFact:
    """The report as the engine would count it once published. An unsaved one (a form
    being previewed) carries its actors in `preview_actors`: it has no rows to hold them."""
    actors = getattr(r, "preview_actors", None)
    if actors is None:
        actors = list(r.actors.all()) if r.pk else []
    claimant = r.claimant if r.claimant_id else None
    return engine.ReportFact(
        claim=r.claim, occurred_at=r.occurred_at, id=r.pk, unconfirmed=r.unconfirmed,
        actors=frozenset(p.slug for p in actors),
        claimant=claimant.slug if claimant else "",
        finding=bool(claimant and claimant.kind == V.CLAIMANT_TRACKER),
        contests=r.contests_id,
    )


def unsaved_report(obligation: Obligation, *, claim: str, occurred_at: datetime,
                   unconfirmed: bool = False, actors: Iterable[Party] = (),
                   claimant: Claimant | str | None = None,
                   contests: Report | int | str | None = None) -> Report:
    """A report not stored, to preview: its claimant and contested report resolved as a
    draft's would be (unknown ones are left out; saving names them as errors)."""
    errors: dict = {}
    report = Report(obligation=obligation, claim=claim, occurred_at=occurred_at,
                    unconfirmed=unconfirmed,
                    claimant=_resolve_claimant(claimant, errors))
    contested = _resolve_contests(obligation, contests, None, errors)
    if contested is not None and "contests" not in errors:
        report.contests = contested
    report.preview_actors = list(actors)  # type: ignore[attr-defined]
    return report


def preview(
    report_or_change: Report | DeadlineChange, at: datetime | None = None
) -> tuple[engine.Assessment, engine.Assessment]:
    """(before, after): the status now without and with this report or deadline change
    counted as a published fact. Works on unsaved instances (a form before saving)."""
    obj = report_or_change
    at = at or timezone.now()
    obligation = Obligation.objects.select_related("agreement").get(pk=obj.obligation_id)
    facts = facts_of(obligation)
    own = obj.pk
    if isinstance(obj, Report):
        others = tuple(r for r in facts.reports if own is None or r.id != own)
        before_reports = others
        if obj.supersedes_id:
            # Before: the old report as published; after: replaced (or withdrawn).
            if not any(r.id == obj.supersedes_id for r in others):
                old = Report.objects.filter(pk=obj.supersedes_id).first()
                if old is not None and old.is_fact:
                    before_reports = (*others, _report_fact(old))
            others = tuple(r for r in others if r.id != obj.supersedes_id)
        after_reports = others if obj.retracts else (*others, _report_fact(obj))
        before = dataclasses.replace(facts, reports=before_reports)
        after = dataclasses.replace(facts, reports=after_reports)
    else:
        others = tuple(c for c in facts.changes if own is None or c.id != own)
        fact = engine.DeadlineChangeFact(due_date=obj.due_date, agreed_at=obj.agreed_at, id=own)
        before = dataclasses.replace(facts, changes=others)
        after = dataclasses.replace(facts, changes=(*others, fact))
    return engine.assess(before, at), engine.assess(after, at)
