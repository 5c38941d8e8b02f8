"""Summary spans (tracker.models.SummarySpan): past statuses in SQL.

Rows with dated facts are flagged for re-assessment, so the next sweep writes their
spans; until then reads at another instant take the engine for them, as before."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('tracker', '0014_claims_relations_languages'),
    ]

    operations = [
        migrations.CreateModel(
            name='SummarySpan',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('valid_from', models.DateTimeField(blank=True, null=True)),
                ('valid_until', models.DateTimeField(blank=True, null=True)),
                ('due_date', models.DateField(blank=True, null=True)),
                ('due_at', models.DateTimeField(blank=True, null=True)),
                ('due_soon_at', models.DateTimeField(blank=True, null=True)),
                ('active_at', models.DateTimeField(blank=True, null=True)),
                ('active_status', models.CharField(blank=True, default='', max_length=20)),
                ('violated_at', models.DateTimeField(blank=True, null=True)),
                ('disputed_at', models.DateTimeField(blank=True, null=True)),
                ('done_at', models.DateTimeField(blank=True, null=True)),
                ('done_status', models.CharField(blank=True, default='', max_length=20)),
                ('obligation', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='summary_spans', to='tracker.obligation')),
            ],
            options={
                'indexes': [models.Index(fields=['obligation', 'valid_from'], name='summary_span_lookup')],
            },
        ),
        migrations.RunSQL(
            "UPDATE tracker_obligation SET needs_assessment = true "
            "WHERE facts_from IS NOT NULL OR facts_until IS NOT NULL",
            migrations.RunSQL.noop,
        ),
    ]
