"""Error types shared by every layer.

A ``Problem`` is one thing wrong with user input, located as precisely as we
can (file, line, dotted path). Loaders collect all problems before raising
``ConfigError`` so that the user fixes a file in one round, not one error per
run.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Problem:
    file: str
    line: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class RtccError(Exception):
    """Base class of errors that carry a message fit to show a user as is."""


class ConfigError(RtccError):
    """One or more problems in a configuration or data file."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))
