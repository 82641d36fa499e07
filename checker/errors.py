"""The one error hierarchy. The CLI maps it to exit codes in a single place."""

from __future__ import annotations

import difflib
from collections.abc import Sequence


def suggest(word: str, choices: Sequence[str]) -> str | None:
    """A 'did you mean' hint for a mistyped name, or None."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}?" if close else None


class CheckerError(Exception):
    """An error the user can act on: says what went wrong and where.

    ``path``, ``line`` and ``field`` locate the problem in the user's input;
    ``hint`` says what to do about it. ``exit_code`` follows the contract in
    DESIGN.md: 2 for usage, configuration and input errors.
    """

    exit_code = 2

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        line: int | None = None,
        field: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.line = line
        self.field = field
        self.hint = hint

    def __str__(self) -> str:
        where = ""
        if self.path:
            where = self.path if self.line is None else f"{self.path}:{self.line}"
            where += ": "
        field = f"{self.field}: " if self.field else ""
        hint = f" ({self.hint})" if self.hint else ""
        return f"{where}{field}{self.message}{hint}"


class UsageError(CheckerError):
    """The command line itself is wrong (missing path, conflicting options)."""


class InputError(CheckerError):
    """An input file cannot be read or parsed (template, evidence, report)."""


class PolicyError(CheckerError):
    """A policy file is malformed or asks for something that does not exist."""


class RuleDefinitionError(CheckerError):
    """A rule file is malformed, or two rules claim the same id."""
