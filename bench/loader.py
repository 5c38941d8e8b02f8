"""Benchmark of the agreement file loader on a large made-up agreement.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/tracker_loader_bench \\
        .venv/bin/python bench/loader.py [--n 5000] [--big 20000] [--runs 2]

It creates (dropping an old one first) the database named in DATABASE_URL, which must
be called `tracker_loader_bench` or `tracker_loader_bench_*` (anything else is refused:
the bench drops it), and migrates it. Then, for each run, on an empty tracker:

* writes an agreement file of --n terms (obligations): a third each deadline, ongoing
  and open; one or two responsible parties of 12, one place of 60, one or two sources
  of 200, a clause for every five terms (a variant on every tenth clause); a report on
  every third term and a deadline change on every tenth deadline;
* the baseline: `bulk_create` of the same rows (agreement, parties, places, sources,
  clauses, variants, obligations, their four relation lists, reports, deadline changes
  and their sources), in one transaction, with no history and no checks, then deletes
  them again;
* the first load: `tracker.loader.load(path)` (read, check, write, history records);
* the reload of the unchanged file (must write nothing: the bench checks it does not);
* a reload of the file with one term's report reworded (the old report superseded).

Each load is also timed in CPU seconds of the bench's own process (`time.process_time`:
read, check and the Python side of the writes; not PostgreSQL's work), a figure less
disturbed than wall-clock time by other work on a shared machine.

Then, once, the load of a --big term file (0 to skip). It prints a Markdown table for
docs/performance.md: seconds, and each load's ratio to the baseline of its run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._common import database_names, prepare_database  # noqa: E402 - needs ROOT on the path

PREFIX = "tracker_loader_bench"
PARTIES, PLACES, SOURCES = 12, 60, 200
KINDS = ("deadline", "ongoing", "open")


def agreement_text(n: int, reworded: int | None = None) -> str:
    """An agreement file of `n` terms (see the module docstring); the report of term
    `reworded`, if given, says something else."""
    out = [
        f"slug: bench-{n}",
        f"title: Bench agreement of {n} terms (fictional)",
        "signed_at: 2020-11-09T22:00:00+04:00",
        "effective_at: 2020-11-10T01:00:00+04:00",
        "timezone: Asia/Baku",
        "parties:",
        *(f"  - {{slug: party-{i}, name: Party {i}, kind: signatory}}" for i in range(PARTIES)),
        "locations:",
        *(f"  - {{slug: place-{i}, kind: town, names: {{en: Place {i}, ru: Место {i}}}, "
          f"lat: {38 + i / 100}, lon: {46 + i / 100}}}" for i in range(PLACES)),
        "sources:",
        *(f"  - {{key: source-{i}, url: 'https://example.org/bench/{i}', publisher: Bench, "
          f"title: Source {i}, published_at: 2020-11-10}}" for i in range(SOURCES)),
        "clauses:",
    ]
    for c in range(max(1, n // 5)):
        out.append(f"  - number: {c + 1}")
        out.append(f"    text: Clause {c + 1} of the bench agreement.")
        if c % 10 == 0:
            out.append("    variants:")
            out.append(f"      - {{version: second language, text: Clause {c + 1} reads "
                       f"otherwise., sources: [source-{c % SOURCES}]}}")
    out.append("obligations:")
    for i in range(n):
        kind = KINDS[i % 3]
        parties = sorted({f"party-{i % PARTIES}", f"party-{(i * 7) % PARTIES}"})
        sources = sorted({f"source-{i % SOURCES}", f"source-{(i * 3) % SOURCES}"})
        out += [
            f"  - slug: term-{i}",
            f"    clause: {i // 5 + 1}",
            f"    title: Term {i} of the bench agreement",
            f"    kind: {kind}",
            f"    category: {('withdrawal', 'ceasefire', 'humanitarian', 'transport')[i % 4]}",
            f"    responsible: [{', '.join(parties)}]",
            f"    locations: [place-{i % PLACES}]",
            f"    sources: [{', '.join(sources)}]",
        ]
        if kind == "deadline":
            out.append(f"    due: 2021-{1 + i % 12:02d}-{1 + i % 28:02d}")
            if i % 10 == 0:
                out += [
                    "    deadline_changes:",
                    f"      - due: 2022-{1 + i % 12:02d}-{1 + i % 28:02d}",
                    "        agreed_at: 2020-12-01",
                    "        reason: Moved by the parties.",
                    f"        sources: [source-{i % SOURCES}]",
                ]
        if i % 3 == 0 or kind == "ongoing" and i % 3 == 1 and i % 9 == 1:
            claim = "progress"
            words = "something else" if i == reworded else "progress"
            out += [
                "    reports:",
                f"      - claim: {claim}",
                f"        occurred_at: 2020-12-{1 + i % 28:02d}T12:00:00+04:00",
                f"        summary: Term {i} reports {words}.",
                f"        sources: [source-{(i * 5) % SOURCES}]",
            ]
    return "\n".join(out) + "\n"


def bulk_insert(n: int) -> float:
    """The floor: the same rows (parsed from the same file), created with bulk_create."""
    from django.db import transaction

    from tracker.loader import check_file
    from tracker.models import (
        Agreement,
        Clause,
        ClauseVariant,
        DeadlineChange,
        Location,
        Obligation,
        Party,
        Report,
        Source,
    )

    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
        f.write(agreement_text(n))
    spec = check_file(f.name)
    os.unlink(f.name)

    start = time.perf_counter()
    with transaction.atomic():
        parties = {p.slug: p for p in Party.objects.bulk_create(
            [Party(slug=p.slug, name=p.name, kind=p.kind) for p in spec.parties])}
        places = {loc.slug: loc for loc in Location.objects.bulk_create(
            [Location(slug=loc.slug, **loc.values) for loc in spec.locations])}
        agreement = Agreement.objects.create(slug=spec.slug, **spec.values)
        agreement.parties.set(parties.values())
        agreement.locations.set(places.values())
        sources = {s.key: s for s in Source.objects.bulk_create(
            [Source(agreement=agreement, key=s.key, **s.values) for s in spec.sources])}
        clauses = {c.number: c for c in Clause.objects.bulk_create(
            [Clause(agreement=agreement, number=c.number, text=c.text, position=c.position)
             for c in spec.clauses])}
        variants = ClauseVariant.objects.bulk_create(
            [ClauseVariant(clause=clauses[c.number], version=v.version, text=v.text)
             for c in spec.clauses for v in c.variants])
        Through = ClauseVariant.sources.through
        Through.objects.bulk_create(
            [Through(clausevariant_id=v.pk, source_id=sources[k].pk) for v, k in zip(
                variants, [k for c in spec.clauses for v in c.variants for k in v.sources],
                strict=True)])
        obligations = Obligation.objects.bulk_create([
            Obligation(agreement=agreement, slug=o.slug, clause=clauses[o.clause],
                       due_date=o.values["original_due_date"],
                       due_at=agreement.signed_at if o.values["original_due_date"] else None,
                       **o.values)
            for o in spec.obligations
        ])
        for name, key, table in (("responsible", "party_id", parties),
                                 ("monitors", "party_id", parties),
                                 ("locations", "location_id", places),
                                 ("sources", "source_id", sources)):
            Through = getattr(Obligation, name).through
            Through.objects.bulk_create([
                Through(obligation_id=row.pk, **{key: table[ref].pk})
                for row, o in zip(obligations, spec.obligations, strict=True)
                for ref in getattr(o, name)
            ])
        for Model, attr, make in (
            (Report, "reports", lambda r: dict(
                claim=r.claim, occurred_at=r.occurred_at, summary=r.summary)),
            (DeadlineChange, "changes", lambda c: dict(
                due_date=c.due_date, agreed_at=c.agreed_at, reason=c.reason)),
        ):
            facts = [(row, f) for row, o in zip(obligations, spec.obligations, strict=True)
                     for f in getattr(o, attr)]
            made = Model.objects.bulk_create([
                Model(obligation=row, review_state="published", origin="file",
                      published_at=agreement.signed_at, **make(f))
                for row, f in facts
            ])
            Through = Model.sources.through
            fk = f"{Model._meta.model_name}_id"
            Through.objects.bulk_create([
                Through(**{fk: m.pk}, source_id=sources[k].pk)
                for m, (_, f) in zip(made, facts, strict=True) for k in sorted(f.sources)
            ])
    elapsed = time.perf_counter() - start
    clear()
    return elapsed


def clear() -> None:
    """Back to an empty tracker (history too), so each run starts alike."""
    from django.apps import apps
    from django.db import connection

    tables = [m._meta.db_table for m in apps.get_app_config("tracker").get_models(
        include_auto_created=True)]
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " CASCADE")


CPU: dict[str, list[float]] = {}  # what the loader's own process spent, per scenario
QUERIES: dict[str, int] = {}  # SQL statements per scenario (the same in every run)


def timed_load(path: Path, label: str) -> tuple[float, object]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tracker.loader import load

    with CaptureQueriesContext(connection) as queries:
        start, cpu = time.perf_counter(), time.process_time()
        result = load(path)
        elapsed = time.perf_counter() - start
    CPU.setdefault(label, []).append(time.process_time() - cpu)
    QUERIES[label] = len(queries)
    return elapsed, result


def one_run(n: int, folder: Path) -> dict[str, float]:
    from tests.loader.conftest import dump_database

    path = folder / f"bench-{n}.yaml"
    path.write_text(agreement_text(n), encoding="utf-8")
    edited = folder / f"bench-{n}-edited.yaml"
    edited.write_text(agreement_text(n, reworded=3), encoding="utf-8")

    baseline = bulk_insert(n)
    first, result = timed_load(path, "first")
    assert result.created["obligation"] == n, result.created
    before = dump_database()
    unchanged, again = timed_load(path, "unchanged")
    assert not again.changed and dump_database() == before, "a reload wrote something"
    changed, third = timed_load(edited, "changed")
    assert third.retired["report"] == 1 and third.created["report"] == 1, third.retired
    clear()
    return {"baseline": baseline, "first": first, "unchanged": unchanged, "changed": changed}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=5000, help="terms in the file (5000)")
    parser.add_argument("--big", type=int, default=20000,
                        help="terms in the one large file loaded once (20000; 0 skips)")
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()

    load_before = os.getloadavg()[0]
    url = os.environ.get("DATABASE_URL", "")
    name, admin = database_names(url, PREFIX)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DEBUG", "true")
    # Each load enqueues a re-assessment; in memory it leaves no queue files behind.
    os.environ.setdefault("CELERY_BROKER_URL", "memory://")
    prepare_database(admin, name, reuse=False)

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for run in range(1, args.runs + 1):
            rows.append(one_run(args.n, folder))
            print(f"  run {run}: " + ", ".join(f"{k} {v:.2f} s" for k, v in rows[-1].items()),
                  flush=True)
        big = None
        if args.big:
            path = folder / f"bench-{args.big}.yaml"
            path.write_text(agreement_text(args.big), encoding="utf-8")
            big_base = bulk_insert(args.big)
            big_load, result = timed_load(path, "big")
            assert result.created["obligation"] == args.big
            big = (big_base, big_load)
            clear()

    print()
    print(f"Terms: {args.n:,}; PostgreSQL {connection.pg_version // 10000}; "
          f"load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after")
    print()
    print("| run | bulk insert (baseline) s | first load s | × baseline "
          "| reload unchanged s | × baseline | reload, one report changed s | × baseline |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for i, r in enumerate(rows, start=1):
        b = r["baseline"]
        print(f"| {i} | {b:.2f} | {r['first']:.2f} | {r['first'] / b:.1f} "
              f"| {r['unchanged']:.2f} | {r['unchanged'] / b:.1f} "
              f"| {r['changed']:.2f} | {r['changed'] / b:.1f} |")
    if len(rows) > 1:
        med = {k: statistics.median(r[k] for r in rows) for k in rows[0]}
        print(f"| median | {med['baseline']:.2f} | {med['first']:.2f} | "
              f"{med['first'] / med['baseline']:.1f} | {med['unchanged']:.2f} | "
              f"{med['unchanged'] / med['baseline']:.1f} | {med['changed']:.2f} | "
              f"{med['changed'] / med['baseline']:.1f} |")
    print()
    print("CPU seconds of the loading process itself (Python; PostgreSQL's work not included), "
          "median: " + ", ".join(f"{k} {statistics.median(v):.2f}" for k, v in CPU.items()))
    print("SQL statements per load: " + ", ".join(f"{k} {v}" for k, v in QUERIES.items()))
    if big:
        print()
        print(f"{args.big:,} terms: bulk insert {big[0]:.2f} s, first load {big[1]:.2f} s "
              f"({big[1] / big[0]:.1f} × baseline)")


if __name__ == "__main__":
    main()
