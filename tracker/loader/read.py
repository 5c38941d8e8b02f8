"""Stage 1, read: the YAML text into plain values plus the line of every key.

Dates stay text (the implicit timestamp resolver is removed) so that the check stage,
not the YAML library, decides what a date or an instant is.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from tracker.loader.errors import FileError, KeyPath, LoaderError

# An alias repeats its anchor's whole subtree: ten levels of ten aliases are 10^10
# values from a few hundred bytes. What is counted is what aliases add, so an honest
# file of any size that uses none is never refused for its length.
MAX_ALIAS_VALUES = 100_000

_STR = "tag:yaml.org,2002:str"
# libyaml's parser when PyYAML has it (much faster than the pure-Python one); same nodes.
_SafeBase = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a file's values are built.

    A large file is hundreds of thousands of new objects, none of them garbage; the
    collector would otherwise walk them again and again, most of the time of a read.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class _TextDatesLoader(_SafeBase):
    """SafeLoader that leaves `2020-11-20` as text: dates are parsed (and checked) later."""


_TextDatesLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


class _Reader:
    """Turns the YAML node tree into plain values plus {key path: line}."""

    def __init__(self, file: str, loader: yaml.SafeLoader):
        self.file = file
        self.loader = loader
        self.lines: dict[KeyPath, int] = {}
        self.errors: list[FileError] = []
        self._stack: set[int] = set()
        # A node met a second time is an alias: everything built under it is expansion.
        self._seen: set[int] = set()
        self._in_alias = 0
        self._expanded = 0

    def error(self, path: KeyPath, message: str, line: int | None) -> None:
        self.errors.append(FileError(self.file, path, message, line))

    def value(self, node: yaml.Node, path: KeyPath) -> Any:
        line = node.start_mark.line + 1
        self.lines.setdefault(path, line)
        if id(node) in self._stack:  # a recursive alias would never end
            self.error(path, "recursive YAML alias", line)
            return None
        alias = id(node) in self._seen
        self._seen.add(id(node))
        if alias or self._in_alias:
            self._expanded += 1
            if self._expanded > MAX_ALIAS_VALUES:
                raise LoaderError([FileError(
                    self.file, path,
                    f"YAML aliases expand to more than {MAX_ALIAS_VALUES} values "
                    "(aliases expanding too far?)", line,
                )])
        if isinstance(node, yaml.ScalarNode):
            return self._scalar(node)
        self._stack.add(id(node))
        self._in_alias += alias
        try:
            if isinstance(node, yaml.SequenceNode):
                return [self.value(item, (*path, i)) for i, item in enumerate(node.value)]
            return self._mapping(node, path)
        finally:
            self._in_alias -= alias
            self._stack.discard(id(node))

    def _scalar(self, node: yaml.ScalarNode) -> Any:
        # Most values are text: skip the constructor's bookkeeping for them.
        return node.value if node.tag == _STR else self.loader.construct_object(node)

    def _mapping(self, node: yaml.MappingNode, path: KeyPath) -> dict[str, Any]:
        self.loader.flatten_mapping(node)  # resolves `<<` merge keys
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key_line = key_node.start_mark.line + 1
            key = self._scalar(key_node) if isinstance(key_node, yaml.ScalarNode) else None
            if not isinstance(key, str):
                self.error(path, f"a key must be text, not {key!r}", key_line)
                key = str(key)
            child = (*path, key)
            if key in out:
                self.error(child, "duplicate key", key_line)
            self.lines[child] = key_line
            out[key] = self.value(value_node, child)
        return out


def read_yaml(path: Path | str) -> tuple[Any, dict[KeyPath, int]]:
    """Parse one YAML document; raises LoaderError for unreadable or broken YAML."""
    file = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8-sig")  # a BOM from some editors is fine
    except (OSError, UnicodeDecodeError) as exc:
        raise LoaderError([FileError(file, (), f"cannot read the file: {exc}")]) from exc
    with gc_paused():
        return _parse(file, text)


def _parse(file: str, text: str) -> tuple[Any, dict[KeyPath, int]]:
    loader = _TextDatesLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise LoaderError([FileError(file, (), "the file is empty", 1)])
        reader = _Reader(file, loader)
        data = reader.value(node, ())
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        problem = " ".join(p for p in (exc.context, exc.problem) if p)
        raise LoaderError([FileError(file, (), f"broken YAML: {problem}", line)]) from exc
    except yaml.YAMLError as exc:
        raise LoaderError([FileError(file, (), f"broken YAML: {exc}")]) from exc
    finally:
        loader.dispose()
    if reader.errors:
        raise LoaderError(reader.errors)
    return data, reader.lines
