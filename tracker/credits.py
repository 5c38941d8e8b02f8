"""Who wrote and who reviewed a published report, as the public sees it.

`REPORT_CREDITS` chooses how: "roles" (the default: "an editor", "a reviewer") keeps
the staff of a tracker that covers a war unnamed; "names" shows each account's full
name (or user name). A report from an agreement file was written and reviewed with
the file, so it credits the file. A reference to an account that has since been
removed reads as such, never as a broken link.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.utils.translation import gettext, gettext_noop

from tracker import vocabulary as V
from tracker.models import Report

STYLES = ("roles", "names")
FROM_FILE = gettext_noop("the agreement file")
AN_EDITOR = gettext_noop("an editor")
A_REVIEWER = gettext_noop("a reviewer")


@dataclass(frozen=True)
class Credits:
    written_by: str
    reviewed_by: str | None


def credits(report: Report, style: str | None = None) -> Credits:
    style = style or settings.REPORT_CREDITS
    if report.origin == "file":
        return Credits(gettext(FROM_FILE), gettext(FROM_FILE))
    written = _credit(report.author, AN_EDITOR, style)
    reviewed = (
        _credit(report.reviewer, A_REVIEWER, style)
        if report.review_state == V.PUBLISHED else None
    )
    return Credits(written, reviewed)


def _credit(user: Any, role: str, style: str) -> str:
    if user is None:
        return gettext("%(role)s (account since removed)") % {"role": gettext(role)}
    if style == "names":
        return user.get_full_name() or user.get_username()
    return gettext(role)
