"""`manage.py sweep [--as-of T] [--dry-run]`: store statuses now, or as they stood at T."""

from __future__ import annotations

from datetime import datetime

from django.core.management.base import BaseCommand, CommandError

from deadlines import sweep
from deadlines.tasks import after_statuses_stored
from tracker import instants


def parse_instant(value: str) -> datetime:
    """An instant with an offset (`tracker.instants`); a replay has no agreement zone
    to place a bare date in."""
    try:
        parsed = instants.parse(value)
    except instants.InstantError as exc:
        raise CommandError(f"--as-of {exc}") from exc
    if not isinstance(parsed, datetime):
        raise CommandError(f"--as-of {instants.InstantError(value)} A replay needs a time.")
    return parsed


class Command(BaseCommand):
    help = "Assess every obligation whose status may have changed and store the result."

    def add_arguments(self, parser):
        parser.add_argument("--as-of", type=str, help="ISO 8601 instant with offset (replay)")
        parser.add_argument("--dry-run", action="store_true", help="print, change nothing")

    def handle(self, *args, as_of: str | None = None, dry_run: bool = False, **options):
        at = parse_instant(as_of) if as_of else None
        result = sweep.run(at, dry_run=dry_run)
        if not dry_run:
            # A replay can move statuses without writing events: recount for the dashboard.
            after_statuses_stored()
        if dry_run:
            # Both paths report what they would do; nothing was written.
            titles = dict(
                sweep.Obligation.objects.filter(
                    pk__in=[c.obligation_id for c in result.changes]
                ).values_list("pk", "slug")
            )
            # A row the sweep would change but that is gone by now shows its id.
            rows: list[tuple[str | int, str, str, datetime]] = [
                (titles.get(c.obligation_id, c.obligation_id), c.from_status, c.to_status,
                 c.effective_at)
                for c in result.changes
            ]
        else:
            rows = [
                (e.obligation.slug, e.from_status, e.to_status, e.effective_at)
                for e in sweep.changes_detected(result)
            ]
        for slug, from_status, to_status, effective_at in rows:
            self.stdout.write(
                f"{slug}: {from_status or '-'} -> {to_status} at {effective_at.isoformat()}"
            )
        slugs = dict(
            sweep.Obligation.objects.filter(
                pk__in=[c.obligation_id for c in result.rewound]
            ).values_list("pk", "slug")
        )
        for c in result.rewound:
            self.stdout.write(
                f"{slugs.get(c.obligation_id)}: {c.from_status} -> {c.to_status} "
                "(replay: stored status moved, history unchanged)"
            )
        verb = "would record" if dry_run else "recorded"
        self.stdout.write(
            f"Sweep as of {result.at.isoformat()}: {len(rows)} transitions {verb}, "
            f"{result.assessed} rows assessed, {result.failed} failed."
        )
        if result.failed:
            raise CommandError(f"{result.failed} obligations could not be assessed (see log)")
