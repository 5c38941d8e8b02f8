"""Staff pages: thin views over tracker.editorial.

* the status update form: pick the obligation, the claim, when, a summary and sources
  (existing ones or a new one inline); "Preview" shows what the status would become
  if it were published, "Save draft" stores it for review;
* corrections of published reports (supersede or retract, with a reason);
* the review queue: every draft someone else wrote, with the status before and after
  publishing and, for a correction, the fields it changes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from tracker import editorial
from tracker import vocabulary as V
from tracker.models import DeadlineChange, Obligation, Report
from tracker.staff.forms import (
    CorrectionForm,
    DeadlineChangeForm,
    DecisionForm,
    ReportForm,
    obligation_from,
)

LOGIN = "admin:login"


def _require(allowed: bool) -> None:
    if not allowed:
        raise PermissionDenied


def _apply_errors(form, exc: Exception) -> None:
    if isinstance(exc, ValidationError) and hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    elif isinstance(exc, ValidationError):
        form.add_error(None, exc.messages)
    elif isinstance(exc, editorial.StaleEdit):
        form.add_error(None, exc.message)
    else:
        form.add_error(None, str(exc) or _("Not allowed."))


def _saved(
    request: HttpRequest, form, context: dict[str, Any], save: Callable[[], str]
) -> HttpResponse | None:
    """Run `save` (an editorial write, returning what to tell the user) in one
    transaction with the new source it may create. Refused: the reasons go on the form
    and None comes back, for the page to show again."""
    try:
        with transaction.atomic():
            message = save()
    except (ValidationError, PermissionDenied, editorial.StaleEdit) as exc:
        _apply_errors(form, exc)
        context["stale"] = isinstance(exc, editorial.StaleEdit)
        return None
    messages.success(request, message)
    return redirect("staff:home")


def _preview_rows(obj: Report | DeadlineChange) -> dict[str, Any]:
    before, after = editorial.preview(obj)
    return {
        "before": before,
        "after": after,
        "status_changes": before.status != after.status,
        "before_label": str(V.STATUS_LABELS.get(before.status, before.status)),
        "after_label": str(V.STATUS_LABELS.get(after.status, after.status)),
        # Shown in the agreement's zone, the one a time typed without an offset is read in.
        "zone": obj.obligation.agreement.timezone,
    }


@login_required(login_url=LOGIN)
def home(request: HttpRequest) -> HttpResponse:
    user = request.user
    _require(editorial.is_editor(user) or editorial.is_reviewer(user))
    mine = list(
        Report.objects.filter(author=user).select_related("obligation__agreement")
        .order_by("-created_at")[:50]
    )
    changes = list(
        DeadlineChange.objects.filter(author=user).select_related("obligation__agreement")
        .order_by("-created_at")[:50]
    )
    waiting = (
        Report.objects.filter(review_state=V.DRAFT).exclude(author=user).count()
        + DeadlineChange.objects.filter(review_state=V.DRAFT).exclude(author=user).count()
    )
    return render(request, "staff/home.html", {
        "reports": mine, "changes": changes, "waiting": waiting,
        "is_editor": editorial.is_editor(user), "is_reviewer": editorial.is_reviewer(user),
    })


# ---------------------------------------------------------------- reports


def _unsaved_report(form: ReportForm, base: Report | None = None) -> Report:
    obligation = form.cleaned_data["obligation"]
    occurred_at, _ = form.occurred(obligation)
    report = editorial.unsaved_report(
        obligation, claim=form.cleaned_data["claim"], occurred_at=occurred_at,
        unconfirmed=form.cleaned_data.get("unconfirmed", False), **form.claim_fields(),
    )
    if base is not None:
        report.pk = base.pk  # preview "with this draft" replaces its stored self
    return report


def _report_fields(form: ReportForm, obligation: Obligation) -> dict[str, Any]:
    occurred_at, date_only = form.occurred(obligation)
    return {
        "claim": form.cleaned_data["claim"],
        "occurred_at": occurred_at,
        "occurred_date_only": date_only,
        "summary": form.cleaned_data["summary"],
        **form.claim_fields(),
        **form.draft_fields(obligation),
    }


@login_required(login_url=LOGIN)
def report_new(request: HttpRequest) -> HttpResponse:
    _require(editorial.is_editor(request.user))
    context: dict[str, Any] = {"title": _("New status update")}
    if request.method == "POST":
        form = ReportForm(request.POST)
        if form.is_valid():
            obligation = form.cleaned_data["obligation"]
            if "preview" in request.POST:
                context.update(_preview_rows(_unsaved_report(form)))
            else:

                def save() -> str:
                    report = editorial.create_report(
                        author=request.user, obligation=obligation,
                        **_report_fields(form, obligation),
                    )
                    return _("Draft report #%(n)d saved for review.") % {"n": report.pk}

                if (done := _saved(request, form, context, save)) is not None:
                    return done
    else:
        obligation = obligation_from(request.GET.get("obligation"))
        form = ReportForm(initial={"obligation": obligation}, obligation=obligation)
    context["form"] = form
    return render(request, "staff/report_form.html", context)


@login_required(login_url=LOGIN)
def report_edit(request: HttpRequest, pk: int) -> HttpResponse:
    report = get_object_or_404(Report.objects.select_related("obligation__agreement"), pk=pk)
    _require(editorial.can_edit_draft(request.user, report))
    context: dict[str, Any] = {"title": _("Edit draft report #%(n)d") % {"n": report.pk},
                              "object": report}
    if request.method == "POST":
        form = ReportForm(
            request.POST, obligation=report.obligation, lock_obligation=True,
            require_version=True,
        )
        if form.is_valid():
            if "preview" in request.POST:
                context.update(_preview_rows(_unsaved_report(form, base=report)))
            else:

                def save() -> str:
                    editorial.update_draft(
                        report, user=request.user, version=form.cleaned_data.get("version"),
                        **_report_fields(form, report.obligation),
                    )
                    return _("Draft report #%(n)d updated.") % {"n": report.pk}

                if (done := _saved(request, form, context, save)) is not None:
                    return done
    else:
        form = ReportForm(
            obligation=report.obligation, lock_obligation=True,
            initial={
                **ReportForm.initial_of(report), **ReportForm.claims_initial(report),
                "claim": report.claim, "occurred_at": report.occurred_at.isoformat(),
                "summary": report.summary, "version": report.version,
            },
        )
    context["form"] = form
    return render(request, "staff/report_form.html", context)


@login_required(login_url=LOGIN)
def correct(request: HttpRequest, pk: int) -> HttpResponse:
    old = get_object_or_404(Report.objects.select_related("obligation__agreement"), pk=pk)
    _require(editorial.is_editor(request.user))
    if not old.is_fact:
        raise Http404(_("Only published, current reports can be corrected."))
    context: dict[str, Any] = {"title": _("Correct report #%(n)d") % {"n": old.pk}, "old": old}
    if request.method == "POST":
        form = CorrectionForm(request.POST, obligation=old.obligation, lock_obligation=True)
        if form.is_valid():
            if "preview" in request.POST:
                draft = _unsaved_report(form)
                draft.supersedes = old
                draft.retracts = form.cleaned_data.get("retract", False)
                context.update(_preview_rows(draft))
            else:

                def save() -> str:
                    new = editorial.correct(
                        old, author=request.user, retract=form.cleaned_data["retract"],
                        reason=form.cleaned_data["reason"],
                        **_report_fields(form, old.obligation),
                    )
                    return _("Correction #%(n)d saved for review.") % {"n": new.pk}

                if (done := _saved(request, form, context, save)) is not None:
                    return done
    else:
        form = CorrectionForm(
            obligation=old.obligation, lock_obligation=True,
            initial={
                **CorrectionForm.initial_of(old), **CorrectionForm.claims_initial(old),
                "claim": old.claim, "occurred_at": old.occurred_at.isoformat(),
                "summary": old.summary,
            },
        )
    context["form"] = form
    return render(request, "staff/report_form.html", context)


# ---------------------------------------------------------------- deadline changes


def _change_fields(form: DeadlineChangeForm, obligation: Obligation) -> dict[str, Any]:
    return {
        "due_date": form.cleaned_data["due_date"],
        "agreed_at": form.cleaned_data["agreed_at"],
        "reason": form.cleaned_data["reason"],
        **form.draft_fields(obligation),
    }


def _change_form_view(
    request: HttpRequest, change: DeadlineChange | None
) -> HttpResponse:
    context: dict[str, Any] = {
        "title": _("Propose a deadline change") if change is None
        else _("Edit draft deadline change #%(n)d") % {"n": change.pk},
        "object": change,
    }
    if request.method == "POST":
        form = DeadlineChangeForm(
            request.POST, obligation=change.obligation if change else None
        )
        if form.is_valid():
            obligation = form.cleaned_data["obligation"]
            if "preview" in request.POST:
                draft = DeadlineChange(
                    obligation=obligation, due_date=form.cleaned_data["due_date"],
                    agreed_at=form.cleaned_data["agreed_at"],
                )
                draft.pk = change.pk if change else None
                context.update(_preview_rows(draft))
            else:

                def save() -> str:
                    fields = _change_fields(form, obligation)
                    if change is None:
                        saved = editorial.propose_deadline_change(
                            author=request.user, obligation=obligation, **fields
                        )
                    else:
                        saved = editorial.update_draft(
                            change, user=request.user,
                            version=form.cleaned_data.get("version"), **fields,
                        )
                    return _("Draft deadline change #%(n)d saved.") % {"n": saved.pk}

                if (done := _saved(request, form, context, save)) is not None:
                    return done
    else:
        if change is None:
            ob = obligation_from(request.GET.get("obligation"))
            form = DeadlineChangeForm(initial={"obligation": ob})
        else:
            form = DeadlineChangeForm(obligation=change.obligation, initial={
                **DeadlineChangeForm.initial_of(change), "due_date": change.due_date,
                "agreed_at": change.agreed_at.isoformat(), "reason": change.reason,
                "version": change.version,
            })
    context["form"] = form
    return render(request, "staff/change_form.html", context)


@login_required(login_url=LOGIN)
def change_new(request: HttpRequest) -> HttpResponse:
    _require(editorial.is_editor(request.user))
    return _change_form_view(request, None)


@login_required(login_url=LOGIN)
def change_edit(request: HttpRequest, pk: int) -> HttpResponse:
    change = get_object_or_404(DeadlineChange, pk=pk)
    _require(editorial.can_edit_draft(request.user, change))
    return _change_form_view(request, change)


# ---------------------------------------------------------------- review


REPORT_DIFF_FIELDS = ("claim", "occurred_at", "occurred_date_only", "summary", "unconfirmed",
                      "note", "claimant", "contests")


def _field_diff(old: Report, new: Report) -> list[tuple[str, Any, Any]]:
    rows = [(f, getattr(old, f), getattr(new, f)) for f in REPORT_DIFF_FIELDS
            if getattr(old, f) != getattr(new, f)]
    old_sources = sorted(str(s) for s in old.sources.all())
    new_sources = sorted(str(s) for s in new.sources.all())
    if old_sources != new_sources:
        rows.append(("sources", "; ".join(old_sources), "; ".join(new_sources)))
    old_actors = sorted(p.slug for p in old.actors.all())
    new_actors = sorted(p.slug for p in new.actors.all())
    if old_actors != new_actors:
        rows.append(("actors", ", ".join(old_actors), ", ".join(new_actors)))
    return rows


def _queue_item(obj: Report | DeadlineChange) -> dict[str, Any]:
    item: dict[str, Any] = {"obj": obj, "kind": "report" if isinstance(obj, Report) else "change"}
    item.update(_preview_rows(obj))
    if isinstance(obj, Report) and obj.supersedes_id:
        item["diff"] = _field_diff(obj.supersedes, obj)
    if isinstance(obj, DeadlineChange):
        item["due_before"], item["due_after"] = item["before"].due_date, item["after"].due_date
    return item


@login_required(login_url=LOGIN)
def review_queue(request: HttpRequest) -> HttpResponse:
    if not editorial.is_reviewer(request.user):
        # Said, not a bare 403: an editor who follows a link here learns why and where.
        return render(request, "staff/refused.html", {
            "title": _("Review queue"),
            "message": _("only reviewers review drafts. Your drafts wait here for a "
                         "reviewer; you can follow them from the staff home page."),
        }, status=403)
    reports, changes = editorial.drafts_for_review(request.user)
    reports = (reports.select_related("obligation__agreement", "author", "supersedes")
               .prefetch_related("sources"))
    changes = changes.select_related("obligation__agreement", "author").prefetch_related(
        "sources")
    items = [_queue_item(o) for o in [*reports, *changes]]
    return render(request, "staff/review.html", {"items": items, "title": _("Review queue")})


@login_required(login_url=LOGIN)
@require_POST
def review_decide(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    model = {"report": Report, "change": DeadlineChange}.get(kind)
    if model is None:
        raise Http404
    obj = get_object_or_404(model, pk=pk)
    _require(editorial.is_reviewer(request.user))
    form = DecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Malformed review form; reload the queue."))
        return redirect("staff:review")
    version = form.cleaned_data["version"]
    try:
        if "publish" in request.POST:
            editorial.publish(obj, reviewer=request.user, version=version)
            messages.success(request, _("%(what)s published.") % {"what": editorial.obj_label(obj)})
        elif "reject" in request.POST:
            editorial.reject(
                obj, reviewer=request.user, reason=form.cleaned_data["reason"], version=version
            )
            messages.success(request, _("%(what)s rejected.") % {"what": editorial.obj_label(obj)})
        else:
            messages.error(request, _("Choose publish or reject."))
    except PermissionDenied as exc:
        messages.error(request, str(exc) or _("Not allowed."))
        return render(request, "staff/refused.html", {"message": str(exc)}, status=403)
    except (ValidationError, editorial.StaleEdit) as exc:
        text = exc.message if isinstance(exc, editorial.StaleEdit) else " ".join(
            f"{m}" for m in (exc.messages)
        )
        messages.error(request, _("%(what)s: %(problem)s")
                       % {"what": editorial.obj_label(obj), "problem": text})
    return redirect("staff:review")
