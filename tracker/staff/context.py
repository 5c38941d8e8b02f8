"""What the staff pages' and the admin's header show of the signed-in person's roles:
which links lead somewhere they may go, and how many drafts wait for them."""

from __future__ import annotations

from django.http import HttpRequest

from tracker import editorial


def staff_nav(request: HttpRequest) -> dict:
    # Only the staff pages and the admin show it; the public pages never pay a query.
    if not request.path.startswith(("/staff/", "/admin/")):
        return {}
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"staff_nav": {
        "editor": editorial.is_editor(user),
        "reviewer": editorial.is_reviewer(user),
        "waiting": editorial.waiting_for(user),
    }}
