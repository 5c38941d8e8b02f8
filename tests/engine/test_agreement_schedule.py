"""An admin edit to an agreement's zone or warning window re-derives what depends on it."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from deadlines import sweep
from tests.factories import ObligationFactory
from tracker import vocabulary as V
from tracker.models import Obligation


@pytest.mark.django_db
def test_changing_the_zone_in_the_admin_moves_due_instants_and_reassesses(client):
    o = ObligationFactory(due_date=date(2020, 11, 20))
    sweep.run(datetime.fromisoformat("2020-11-21T03:30:00+04:00"))  # overdue in Baku
    o.refresh_from_db()
    assert o.status == V.OVERDUE
    admin = User.objects.create_superuser("root", "root@example.org", "pw")
    client.force_login(admin)
    agreement = o.agreement
    url = reverse("admin:tracker_agreement_change", args=[agreement.pk])
    page = client.get(url)
    form = page.context["adminform"].form
    skip = ("parties", "locations")
    data = {k: v for k, v in form.initial.items() if v is not None and k not in skip}
    data.update({
        "slug": agreement.slug, "title": agreement.title,
        "signed_at_0": "2020-11-09", "signed_at_1": "21:00:00",
        "effective_at_0": "2020-11-09", "effective_at_1": "21:00:00",
        "timezone": "America/New_York", "warning_days": 3,
        "clauses-TOTAL_FORMS": 0, "clauses-INITIAL_FORMS": 0,
        "sources-TOTAL_FORMS": 0, "sources-INITIAL_FORMS": 0,
        "relations-TOTAL_FORMS": 0, "relations-INITIAL_FORMS": 0,
    })
    if "version" in form.fields:
        data["version"] = form.initial.get("version", 1)
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    o.refresh_from_db()
    assert o.due_at == datetime.fromisoformat("2020-11-21T00:00:00-05:00")
    assert o.needs_assessment
    sweep.run(datetime.fromisoformat("2020-11-21T03:30:00+04:00"))  # 18:30 in New York
    assert Obligation.objects.get(pk=o.pk).status == V.DUE_SOON
