"""What a refused agreement file reports: each problem with file, key path and line."""

from __future__ import annotations

from dataclasses import dataclass

KeyPath = tuple[str | int, ...]

@dataclass(frozen=True)
class FileError:
    """One problem in an agreement file: where it is and what is wrong."""

    file: str
    path: KeyPath
    message: str
    line: int | None = None

    @property
    def key(self) -> str:
        return format_path(self.path)

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.key}: {self.message}"


class LoaderError(Exception):
    """The file was not loaded; `errors` says every reason found (the database is untouched)."""

    def __init__(self, errors: list[FileError]):
        self.errors = sorted(errors, key=lambda e: (e.line or 0, e.key, e.message))
        super().__init__("\n".join(str(e) for e in self.errors))


def format_path(path: KeyPath) -> str:
    """("obligations", 3, "reports", 1, "at") -> "obligations[3].reports[1].at" (0-based)."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"
