"""Indexes for filtered obligation lists (see tracker/models.py, Obligation.Meta).

The link tables of `responsible` and `locations` are created by Django and carry an
index on each column alone; a list filtered by party or place joins from the party
or place side, so (party, obligation) and (location, obligation) let PostgreSQL read
the links from the index alone. Django does not model indexes on auto-created link
tables, hence plain SQL (valid on PostgreSQL and SQLite).
"""

from django.db import migrations, models

LINK_INDEXES = [
    ("obligation_resp_party_obl", "tracker_obligation_responsible", "party_id, obligation_id"),
    ("obligation_loc_place_obl", "tracker_obligation_locations", "location_id, obligation_id"),
]


class Migration(migrations.Migration):
    dependencies = [
        ("tracker", "0006_overview_snapshot"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="obligation", name="obligation_agreement_status"),
        migrations.AddIndex(
            model_name="obligation",
            index=models.Index(
                fields=["agreement", "status", "due_date", "id"],
                name="obligation_agr_status_due",
            ),
        ),
        *[
            migrations.RunSQL(
                f"CREATE INDEX {name} ON {table} ({columns})",
                reverse_sql=f"DROP INDEX {name}",
            )
            for name, table, columns in LINK_INDEXES
        ],
    ]
