"""The order in which to load several agreement files: each after the files of the
agreements its `relations` refer to, so `load_agreement fixtures/*.yaml` works in any
order the shell lists them.

Only the files' own `slug` and `relations[].agreement` are read here; a file that
cannot be read keeps its place, and the loader then reports its problems as usual.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tracker.loader.errors import LoaderError
from tracker.loader.read import read_yaml


def _refs(path: str) -> tuple[str | None, set[str]]:
    """(the file's agreement slug, the slugs its relations refer to); (None, set())
    when it cannot be read."""
    try:
        data, _ = read_yaml(Path(path))
    except (LoaderError, OSError):
        return None, set()
    if not isinstance(data, dict):
        return None, set()
    slug = data.get("slug") if isinstance(data.get("slug"), str) else None
    relations: Any = data.get("relations")
    refs = {
        r["agreement"] for r in relations or []
        if isinstance(r, dict) and isinstance(r.get("agreement"), str)
    } if isinstance(relations, list) else set()
    return slug, refs - {slug}


def load_order(paths: Sequence[str]) -> list[str]:
    """`paths`, each moved after the files (among `paths`) of the agreements it refers
    to, otherwise in the order given. A cycle cannot be ordered: its files keep the
    order given (the loader then names the relation it cannot resolve)."""
    read = {p: _refs(p) for p in dict.fromkeys(paths)}
    defined = {slug: p for p, (slug, _) in read.items() if slug}
    pending = list(read)
    ordered: list[str] = []
    done: set[str] = set()
    while pending:
        ready = next(
            (p for p in pending
             if all(ref not in defined or defined[ref] in done for ref in read[p][1])),
            pending[0],  # a cycle: take the first, as given
        )
        pending.remove(ready)
        ordered.append(ready)
        done.add(ready)
    return ordered
