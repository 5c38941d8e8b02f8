"""Dated names: a party's or a place's former names, each with the instant it stopped
being used (tracker.naming), and a search column for parties (today's name and the
former ones), filled here for the parties already stored."""

import tracker.naming
from django.db import migrations, models

from tracker.models import searchable


def fill(apps, schema_editor):
    Party = apps.get_model("tracker", "Party")
    for party in Party.objects.only("pk", "name"):
        # No party has a former name yet: its search text is its name's.
        Party.objects.filter(pk=party.pk).update(search_text=searchable([party.name]))


class Migration(migrations.Migration):

    dependencies = [
        ('tracker', '0017_count_timeline'),
    ]

    operations = [
        migrations.AddField(
            model_name='historicallocation',
            name='former_names',
            field=models.JSONField(blank=True, default=list, validators=[tracker.naming.validate_place_former_names]),
        ),
        migrations.AddField(
            model_name='historicalparty',
            name='former_names',
            field=models.JSONField(blank=True, default=list, validators=[tracker.naming.validate_party_former_names]),
        ),
        migrations.AddField(
            model_name='location',
            name='former_names',
            field=models.JSONField(blank=True, default=list, validators=[tracker.naming.validate_place_former_names]),
        ),
        migrations.AddField(
            model_name='party',
            name='former_names',
            field=models.JSONField(blank=True, default=list, validators=[tracker.naming.validate_party_former_names]),
        ),
        migrations.AddField(
            model_name='party',
            name='search_text',
            field=models.TextField(blank=True, editable=False),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
