"""`manage.py load_agreement PATH [PATH...]`: check and upsert agreement files.

Files are loaded each after the files of the agreements its relations refer to
(`tracker.loader.order`), else in the order given. Each file is loaded in its own
transaction: a bad file changes nothing, and every
problem in it is printed as `PATH:LINE: key.path: message`. Then the obligations the
load touched are assessed (the sweep), unless --no-assess.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from tracker.loader import LoaderError, LoadResult, load
from tracker.loader.order import load_order

LABELS = ("party", "claimant", "location", "agreement", "source", "relation", "clause",
          "clause variant", "clause text", "obligation", "deadline change", "report")


# What `retired` means per kind of row: kept as history, never edited or deleted.
RETIRED = {"report": "superseded", "source": "kept (not in the file, still cited)"}


def describe(result: LoadResult) -> str:
    """One line per kind of row that the load created, updated, removed or left alone."""
    lines = []
    for label in LABELS:
        parts = [
            f"{result.created[label]} created" if result.created[label] else "",
            f"{result.updated[label]} updated" if result.updated[label] else "",
            f"{result.removed[label]} removed" if result.removed[label] else "",
            f"{result.retired[label]} " + RETIRED.get(label, "rejected")
            if result.retired[label] else "",
            f"{result.unchanged[label]} unchanged" if result.unchanged[label] else "",
        ]
        parts = [p for p in parts if p]
        if parts:
            lines.append(f"  {label}: {', '.join(parts)}")
    return "\n".join(lines)


class Command(BaseCommand):
    help = "Validate agreement files (docs/agreement-format.md) and load them into the tracker."

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+", metavar="PATH")
        parser.add_argument(
            "--no-assess", action="store_true",
            help="Do not run the sweep for the loaded obligations afterwards.",
        )

    def handle(self, *args, paths: list[str], no_assess: bool, **options) -> None:
        failed = 0
        to_assess: set[int] = set()
        for path in load_order(paths):
            try:
                result = load(path)
            except LoaderError as exc:
                failed += 1
                for error in exc.errors:
                    self.stderr.write(str(error))
                self.stderr.write(f"{path}: not loaded ({len(exc.errors)} problem(s)); "
                                  "nothing was changed")
                continue
            verdict = "loaded" if result.changed else "unchanged"
            self.stdout.write(f"{path}: {verdict} agreement {result.agreement.slug}")
            self.stdout.write(describe(result))
            # Also anything left unassessed by an earlier --no-assess load.
            to_assess |= result.changed_obligation_ids
            to_assess |= set(
                result.agreement.obligations.filter(needs_assessment=True)
                .values_list("pk", flat=True)
            )
        if to_assess and not no_assess:
            from deadlines import sweep

            swept = sweep.run(ids=sorted(to_assess))
            self.stdout.write(
                f"assessed {swept.assessed} obligation(s): {swept.changed_rows} status "
                f"change(s), {swept.events} event(s)"
            )
        if failed:
            raise CommandError(f"{failed} of {len(paths)} file(s) not loaded")
