"""Index types PostgreSQL has and SQLite (the development default) does not."""

from __future__ import annotations

from django.db import models


class BrinIndex(models.Index):
    """A BRIN index on PostgreSQL, a B-tree elsewhere.

    BRIN keeps one small summary (min and max) per range of table blocks, so a row
    appended in the column's order costs it next to nothing, where a B-tree takes an
    entry per row. Right for a column that grows with insertion order and is looked up
    by value or range, never used to sort.
    """

    def create_sql(self, model, schema_editor, using="", **kwargs):
        if schema_editor.connection.vendor == "postgresql":
            using = " USING brin"
        return super().create_sql(model, schema_editor, using=using, **kwargs)
