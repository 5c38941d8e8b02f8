"""Load an agreement file (docs/agreement-format.md) into the tracker's models.

Three stages, and nothing is written unless the first two found no error at all:

1. **read** (`read.py`): the YAML into plain values, with the line of every key;
2. **check** (`check.py`): the schema and the rules beyond it, building the plain
   values of `spec.py`; every error is collected and raised in one `LoaderError`;
3. **write** (`write.py`): set-based, in one transaction, saving only what differs.
"""

from __future__ import annotations

from pathlib import Path

from django.db import connection, transaction

from tracker.loader.check import check_data, check_file, schema
from tracker.loader.errors import FileError, KeyPath, LoaderError, format_path
from tracker.loader.read import gc_paused, read_yaml
from tracker.loader.spec import AgreementSpec
from tracker.loader.write import (
    CHANGED_REASON,
    DRAFT_ORPHANED_REASON,
    FILE_ORIGIN,
    REMOVED_REASON,
    LoadResult,
    Writer,
)
from tracker.models import Agreement
from tracker.services import facts_changed

__all__ = [
    "CHANGED_REASON", "DRAFT_ORPHANED_REASON", "FILE_ORIGIN", "REMOVED_REASON",
    "AgreementSpec", "FileError", "KeyPath", "LoadResult", "LoaderError", "check_data",
    "check_file", "format_path", "load", "load_agreement_file", "read_yaml", "schema",
]

_LOCK_KEY = 0x61677265  # pg advisory lock id for loads ("agre")


def load(path: Path | str) -> LoadResult:
    """Check `path`, then upsert it in one transaction.

    On LoaderError (a bad file, or a removal that would lose history) nothing is written.
    """
    with gc_paused():  # a large file makes many objects, none of them garbage
        spec = check_file(path)
        with transaction.atomic():
            result = _write(spec, str(path))
    return result


def _write(spec: AgreementSpec, file: str) -> LoadResult:
    if connection.vendor == "postgresql":
        # One load at a time: two loads creating the same new party or agreement would
        # otherwise collide on a unique constraint instead of one seeing the other's.
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])
    result = Writer(spec, file).run()
    if result.changed_obligation_ids:
        facts_changed(result.changed_obligation_ids)
    return result


def load_agreement_file(path: Path | str) -> Agreement:
    """Load one agreement file (see `load`) and return its Agreement."""
    return load(path).agreement
