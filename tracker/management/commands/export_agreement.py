"""`manage.py export_agreement SLUG [-o FILE]`: write an agreement in the file format."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from tracker.exporter import export_agreement, to_yaml
from tracker.models import Agreement


class Command(BaseCommand):
    help = "Write an agreement as an agreement file (loads back with no change)."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("-o", "--output", metavar="FILE", help="Write here, not stdout.")

    def handle(self, *args, slug: str, output: str | None, **options) -> None:
        agreement = Agreement.objects.filter(slug=slug).first()
        if agreement is None:
            known = ", ".join(Agreement.objects.values_list("slug", flat=True)) or "none"
            raise CommandError(f"no agreement {slug!r} (known: {known})")
        text = to_yaml(export_agreement(agreement))
        if output:
            try:
                Path(output).write_text(text, encoding="utf-8")
            except OSError as exc:
                raise CommandError(f"cannot write {output}: {exc}") from exc
            self.stdout.write(f"wrote {output}")
        else:
            self.stdout.write(text, ending="")
