"""Search columns that hold each text's cross-script key (tracker.search) beside its
folded form: a place's names (recomputed) and, new, an obligation's title and
description."""

from django.db import migrations, models

from tracker.models import searchable


def fill(apps, schema_editor):
    Location = apps.get_model("tracker", "Location")
    Obligation = apps.get_model("tracker", "Obligation")
    for loc in Location.objects.all():
        forms = [*loc.names.values(), loc.alt_name, *loc.aliases]
        loc.search_text = searchable(list(dict.fromkeys(forms)))
        loc.save(update_fields=["search_text"])
    for row in Obligation.objects.only("pk", "title", "description").iterator():
        Obligation.objects.filter(pk=row.pk).update(
            search_text=searchable([row.title, row.description])
        )


class Migration(migrations.Migration):

    dependencies = [
        ("tracker", "0011_status_event_foreign_keys"),
    ]

    operations = [
        migrations.AddField(
            model_name="obligation",
            name="search_text",
            field=models.TextField(blank=True, editable=False),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
