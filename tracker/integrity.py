"""StatusEvent's references to its obligation and report, checked by triggers.

The two foreign keys of `tracker.models.StatusEvent` have no database constraint
(`db_constraint=False`): PostgreSQL checks a foreign key with a trigger per inserted
row, and the first full sweep writes ~2 events per obligation (1.9M at a million
obligations), where that check cost ~0.4x the benchmark's floor on its own
(docs/performance.md, "Sweep"). These triggers keep the same guarantees with one
set-based check per statement instead:

* an event refers to an existing obligation, and to an existing report or none
  (insert: one query per statement over the distinct ids in the new rows);
* a referenced obligation or report cannot be deleted, truncated or renumbered while
  an event refers to it (`on_delete` CASCADE and SET_NULL stay Django's: its
  collector deletes or clears the events first, as it did with the constraint);
* a concurrent delete cannot slip between the check and the commit: the insert check
  locks the referenced rows FOR KEY SHARE, as PostgreSQL's own check does, so a
  DELETE of them waits for the inserting transaction and then finds its events.

Differences from the constraint: the check runs at the end of each statement, never
deferred to COMMIT (nothing here inserts an event before its obligation); and
deleting or renumbering obligations or reports under REPEATABLE READ or SERIALIZABLE
is refused: PostgreSQL's own check re-reads with a fresh snapshot there, which a
trigger cannot, so it could miss an event committed concurrently (nothing in the
project runs above READ COMMITTED).

PostgreSQL: statement-level AFTER triggers with transition tables for INSERT (on the
events) and DELETE (on obligations and reports); row-level AFTER UPDATE OF triggers
whose WHEN lets PostgreSQL skip every row whose reference does not change (a
statement-level UPDATE trigger cannot name columns, so it would run for every UPDATE,
the notifier's `notified_at` and, on obligations, every sweep). SQLite (`make run`):
row-level triggers doing the same checks.

`install` and `remove` are the migration's operations (tracker/migrations/0009): an
edit here reaches fresh databases only, so a later change comes with a migration that
runs `remove` then `install`.
On SQLite most AlterFields remake the table: remaking tracker_statusevent then fails
("error in trigger ...: no such table"), remaking tracker_obligation or tracker_report
drops their triggers without a word. Such a migration runs `remove` before and
`install` after its operations; tests/test_event_integrity.py checks that a freshly
migrated database, PostgreSQL or SQLite, has every trigger.
"""

# The SQL is assembled from the table and column names below only, never from values.
# ruff: noqa: S608

from __future__ import annotations

from dataclasses import dataclass

EVENTS = "tracker_statusevent"


@dataclass(frozen=True)
class Reference:
    column: str  # on the events table
    table: str  # the referenced table (its key is `id`)
    nullable: bool


REFERENCES = (
    Reference("obligation_id", "tracker_obligation", nullable=False),
    Reference("report_id", "tracker_report", nullable=True),
)


def _raise_violation(message: str, events: str, column: str, detail: str) -> str:
    """plpgsql RAISE as SQLSTATE 23503 (Django raises IntegrityError), with a DETAIL
    worded as PostgreSQL's own foreign-key error; `detail` is a plpgsql expression."""
    return f"""
        RAISE EXCEPTION '{message}'
            USING ERRCODE = 'foreign_key_violation', TABLE = '{events}', COLUMN = '{column}',
                  CONSTRAINT = '{events}_refs', DETAIL = {detail};"""


_REFUSE_REPEATABLE_READ = """
    IF current_setting('transaction_isolation') IN ('repeatable read', 'serializable') THEN
        RAISE EXCEPTION 'deleting or renumbering rows of "{table}" needs READ COMMITTED'
            USING ERRCODE = 'feature_not_supported',
                  DETAIL = 'Events referencing them are checked by trigger (tracker/integrity.py), '
                           'which with the transaction''s snapshot could miss one committed '
                           'concurrently.';
    END IF;"""


def _check_new_rows(ref: Reference, rows: str, events: str) -> str:
    """plpgsql: lock the rows `ref` points to from `rows`; raise if any is missing.
    `rows` is read by EXECUTE, with the row-level trigger's NEW as $1."""
    return f"""
    -- {ref.column}: every key the new rows hold must exist. One join over the new rows,
    -- run by EXECUTE so that it is planned for this statement's row count: a cached
    -- plan made for one event probed the obligations one key at a time for 1.9M
    -- events, where a hash join reads them once (docs/performance.md, "Sweep").
    --
    -- The rows found are then locked FOR KEY SHARE, as PostgreSQL's own check does, so
    -- that a concurrent DELETE waits for this transaction and then finds its events;
    -- fewer locked than found means one was deleted by a transaction we waited for.
    -- A row whose current version this transaction wrote needs no lock: a DELETE
    -- elsewhere finds the version before ours, marked by us, and waits for us all the
    -- same (the sweep writes every obligation it gives an event; locking them again
    -- cost ~1 s and 200 MB of WAL at a million rows). "Wrote" is read from xmin, which
    -- holds 32 bits: once the cluster's transaction counter has wrapped (epoch 1 on),
    -- an old frozen row may carry the same 32 bits as ours, so from then on every row
    -- is locked. A version written under a savepoint carries the savepoint's id, not
    -- ours: it is locked as any other. Locks are taken in key order.
    EXECUTE $q$
        SELECT count(*) FILTER (WHERE r.id IS NULL),
               array_agg(DISTINCT r.id ORDER BY r.id) FILTER (WHERE r.xmin IS DISTINCT FROM $2)
        FROM {rows} n LEFT JOIN {ref.table} r ON r.id = n.{ref.column}
        WHERE n.{ref.column} IS NOT NULL
    $q$ INTO n_missing, others USING NEW, own;
    IF n_missing = 0 AND others IS NOT NULL THEN
        SELECT cardinality(others) - count(*) INTO n_missing FROM (
            SELECT 1 FROM {ref.table} r WHERE r.id = ANY (others) ORDER BY r.id
            FOR KEY SHARE OF r) locked;
    END IF;
    IF n_missing > 0 THEN
        EXECUTE $q$
            SELECT min(n.{ref.column}) FROM {rows} n
            WHERE n.{ref.column} IS NOT NULL
              AND NOT EXISTS (SELECT 1 FROM {ref.table} r WHERE r.id = n.{ref.column})
        $q$ INTO missing USING NEW;
        -- None missing now: the row we could not lock was deleted, and one with its key
        -- inserted since (this statement's snapshot does not see it).
        detail := CASE WHEN missing IS NULL
            THEN 'A row of "{ref.table}" it refers to was deleted by a concurrent transaction.'
            ELSE format('Key ({ref.column})=(%s) is not present in table "{ref.table}".',
                        missing) END;{
        _raise_violation(
            f'insert or update on table "{events}" violates its reference {ref.column} '
            f'to "{ref.table}"', events, ref.column, "detail")}
    END IF;"""


def _raise_referenced(ref: Reference, events: str, what: str) -> str:
    return _raise_violation(
        f'{what} on table "{ref.table}" violates the reference {ref.column} from "{events}"',
        events, ref.column,
        f"""format('Key (id)=(%s) is still referenced from table "{events}".', held)""")


def _checking_function(name: str, rows: str, events: str, references) -> str:
    """A plpgsql trigger function checking every reference of `rows` (the statement's
    transition table, or the one updated row)."""
    checks = "".join(_check_new_rows(ref, rows, events) for ref in references)
    return f"""
CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE
    n_missing bigint;
    others bigint[];
    missing bigint;
    detail text;
    -- This transaction's id as xmin holds it; NULL (lock every row) from epoch 1 on.
    own xid := CASE WHEN pg_current_xact_id() < '4294967296'::xid8
                    THEN pg_current_xact_id()::xid END;
BEGIN{checks}
    RETURN NULL;
END
$fn$"""


def postgresql(events: str = EVENTS, references=REFERENCES) -> tuple[list[str], list[str]]:
    """(install, remove) statements for PostgreSQL. The table names are parameters so
    that bench/sweep_variants.py can put the same checks on copies of the tables."""
    install = [
        # Events: new rows, one check per statement.
        _checking_function(f"{events}_refs_inserted", "new_rows", events, references),
        f"""
CREATE TRIGGER {events}_refs_insert AFTER INSERT ON {events}
REFERENCING NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION {events}_refs_inserted()""",
        # Events: an UPDATE that changes a reference (nothing in the project does; the
        # report's SET_NULL sets NULL, which the WHEN lets through unchecked).
        _checking_function(f"{events}_refs_updated", "(SELECT ($1).*)", events, references),
        f"""
CREATE TRIGGER {events}_refs_update
AFTER UPDATE OF {", ".join(ref.column for ref in references)} ON {events}
FOR EACH ROW WHEN ({" OR ".join(
            f"(NEW.{ref.column} IS NOT NULL AND NEW.{ref.column} IS DISTINCT FROM OLD.{ref.column})"
            for ref in references)})
EXECUTE FUNCTION {events}_refs_updated()""",
    ]
    for ref in references:
        # Referenced rows leaving: events must not point at them. status_event_once
        # leads with obligation_id, status_event_report indexes report_id where set.
        events_of = (f"SELECT e.{ref.column} FROM {events} e WHERE e.{ref.column} = {{key}}"
                     + (f" AND e.{ref.column} IS NOT NULL" if ref.nullable else ""))
        install += [
            f"""
CREATE FUNCTION {ref.table}_{events}_deleted() RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE
    held bigint;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM old_rows) THEN
        RETURN NULL;
    END IF;{_REFUSE_REPEATABLE_READ.format(table=ref.table)}
    SELECT o.id INTO held FROM old_rows o
    WHERE EXISTS ({events_of.format(key="o.id")})
    LIMIT 1;
    IF FOUND THEN{_raise_referenced(ref, events, "delete")}
    END IF;
    RETURN NULL;
END
$fn$""",
            f"""
CREATE TRIGGER {ref.table}_{events}_delete AFTER DELETE ON {ref.table}
REFERENCING OLD TABLE AS old_rows
FOR EACH STATEMENT EXECUTE FUNCTION {ref.table}_{events}_deleted()""",
            # Renumbering: queued only for rows whose id changes (never, in the project).
            # Checked at the end of the statement, so an id that another row takes
            # over in the same statement still counts as present (NO ACTION).
            f"""
CREATE FUNCTION {ref.table}_{events}_renumbered() RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE
    held bigint := OLD.id;
BEGIN{_REFUSE_REPEATABLE_READ.format(table=ref.table)}
    IF EXISTS ({events_of.format(key="OLD.id")})
       AND NOT EXISTS (SELECT 1 FROM {ref.table} r WHERE r.id = OLD.id) THEN{
                _raise_referenced(ref, events, "update")}
    END IF;
    RETURN NULL;
END
$fn$""",
            f"""
CREATE TRIGGER {ref.table}_{events}_renumber AFTER UPDATE OF id ON {ref.table}
FOR EACH ROW WHEN (OLD.id IS DISTINCT FROM NEW.id)
EXECUTE FUNCTION {ref.table}_{events}_renumbered()""",
            # TRUNCATE fires no DELETE trigger. After the statement, so that truncating
            # the events in the same statement (Django's flush) passes.
            f"""
CREATE FUNCTION {ref.table}_{events}_truncated() RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE
    held bigint;
BEGIN
    SELECT e.{ref.column} INTO held FROM {events} e WHERE e.{ref.column} IS NOT NULL LIMIT 1;
    IF FOUND THEN{_raise_referenced(ref, events, "truncate")}
    END IF;
    RETURN NULL;
END
$fn$""",
            f"""
CREATE TRIGGER {ref.table}_{events}_truncate AFTER TRUNCATE ON {ref.table}
FOR EACH STATEMENT EXECUTE FUNCTION {ref.table}_{events}_truncated()""",
        ]
    remove = [f"DROP TRIGGER IF EXISTS {events}_refs_insert ON {events}",
              f"DROP TRIGGER IF EXISTS {events}_refs_update ON {events}",
              f"DROP FUNCTION IF EXISTS {events}_refs_inserted()",
              f"DROP FUNCTION IF EXISTS {events}_refs_updated()"]
    for ref in references:
        for action, function in (("delete", "deleted"), ("renumber", "renumbered"),
                                 ("truncate", "truncated")):
            remove += [f"DROP TRIGGER IF EXISTS {ref.table}_{events}_{action} ON {ref.table}",
                       f"DROP FUNCTION IF EXISTS {ref.table}_{events}_{function}()"]
    return install, remove


def sqlite(events: str = EVENTS, references=REFERENCES) -> tuple[list[str], list[str]]:
    """(install, remove) statements for SQLite: the same checks, row by row. RAISE(ABORT)
    is a constraint error, which Django raises as IntegrityError."""

    def refused(ref: Reference) -> str:
        return f"SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed: {events}.{ref.column}')"

    def missing(ref: Reference) -> str:
        return (f"{refused(ref)} WHERE "
                + (f"NEW.{ref.column} IS NOT NULL AND " if ref.nullable else "")
                + f"NOT EXISTS (SELECT 1 FROM {ref.table} WHERE id = NEW.{ref.column});")

    checks = "\n    ".join(missing(ref) for ref in references)
    install = [
        f"""
CREATE TRIGGER {events}_refs_insert BEFORE INSERT ON {events}
BEGIN
    {checks}
END""",
        f"""
CREATE TRIGGER {events}_refs_update
BEFORE UPDATE OF {", ".join(ref.column for ref in references)} ON {events}
BEGIN
    {checks}
END""",
    ]
    remove = [f"DROP TRIGGER IF EXISTS {events}_refs_insert",
              f"DROP TRIGGER IF EXISTS {events}_refs_update"]
    for ref in references:
        held = f"EXISTS (SELECT 1 FROM {events} WHERE {ref.column} = OLD.id)"
        install += [
            f"""
CREATE TRIGGER {ref.table}_{events}_delete BEFORE DELETE ON {ref.table}
BEGIN
    {refused(ref)} WHERE {held};
END""",
            f"""
CREATE TRIGGER {ref.table}_{events}_renumber AFTER UPDATE OF id ON {ref.table}
WHEN OLD.id IS NOT NEW.id
BEGIN
    {refused(ref)} WHERE {held}
        AND NOT EXISTS (SELECT 1 FROM {ref.table} WHERE id = OLD.id);
END""",
        ]
        remove += [f"DROP TRIGGER IF EXISTS {ref.table}_{events}_delete",
                   f"DROP TRIGGER IF EXISTS {ref.table}_{events}_renumber"]
    return install, remove


def _statements(vendor: str) -> tuple[list[str], list[str]]:
    if vendor == "postgresql":
        return postgresql()
    if vendor == "sqlite":
        return sqlite()
    raise NotImplementedError(
        f"tracker/integrity.py has no triggers for {vendor}: StatusEvent's references "
        "would go unchecked (the project runs on PostgreSQL, and SQLite for development)"
    )


def install(apps, schema_editor) -> None:
    """RunPython: create the triggers for the connection's database."""
    for statement in _statements(schema_editor.connection.vendor)[0]:
        schema_editor.execute(statement, params=None)


def remove(apps, schema_editor) -> None:
    """RunPython (reverse): drop them."""
    for statement in _statements(schema_editor.connection.vendor)[1]:
        schema_editor.execute(statement, params=None)


def reinstall(apps, schema_editor) -> None:
    """RunPython for a migration that changes the triggers: drop, then create as now."""
    remove(apps, schema_editor)
    install(apps, schema_editor)
