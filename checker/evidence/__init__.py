"""Evidence: what a team's build produced that the policy judges besides
templates: coverage reports and security scan results.

Files are recognised by content, not by name (``coverage.xml`` may be
Cobertura from coverage.py or istanbul; ``results.json`` may be bandit or
checkov). Each reader returns immutable records with repository-relative
paths; a file that is corrupt or truncated is an :class:`InputError` naming
the file, never an empty (passing) report.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

from checker.errors import InputError
from checker.ruleapi import SEVERITY_RANK, Severity

__all__ = [
    "SEVERITY_RANK",
    "Content",
    "CoverageReport",
    "EvidenceFile",
    "FileCoverage",
    "ScanFinding",
    "ScanReport",
    "Severity",
]

# Coverage evidence may be far larger than a template (a Java monorepo's
# JaCoCo XML runs to tens of megabytes); still bounded.
MAX_EVIDENCE_BYTES = 256 * 1024 * 1024


class Content:
    """An evidence file's bytes, and its JSON parsed at most once (recognising
    the format and reading it both need it)."""

    def __init__(self, raw: bytes, relpath: str) -> None:
        self.raw = raw
        self.relpath = relpath

    @cached_property
    def json(self) -> Any:
        if b"\\u" in self.raw or b"\\U" in self.raw:
            from checker.loaders import lone_surrogate

            line = lone_surrogate(self.raw.decode("utf-8", errors="replace"))
            if line is not None:
                raise InputError(
                    "an escape stands for half a character (a lone UTF-16 surrogate): not valid text",
                    path=self.relpath,
                    line=line,
                )
        try:
            return json.loads(self.raw)
        except (ValueError, RecursionError) as exc:  # RecursionError: nesting deeper than any report
            raise InputError(f"not valid JSON ({exc}): truncated or corrupt", path=self.relpath) from None


@dataclass(frozen=True, slots=True)
class EvidenceFile:
    """One evidence file as read: where it is, what it is, its digest.

    ``generated`` is the time (POSIX seconds) the file says it was produced,
    when the format records it.
    """

    relpath: str
    sha256: str
    kind: Literal["coverage", "scan"]
    format: str
    generated: float | None = None


@dataclass(frozen=True, slots=True)
class FileCoverage:
    """Line and branch coverage of one source file.

    ``lines`` maps each executable line to whether it ran; ``branches`` maps a
    line with branches to (taken, total).
    """

    lines: dict[int, bool] = field(default_factory=dict)
    branches: dict[int, tuple[int, int]] = field(default_factory=dict)

    def merged(self, other: FileCoverage) -> FileCoverage:
        """Merge by lines: a line ran if it ran in either report; a line's
        branches count as the better of the two reports."""
        lines = dict(self.lines)
        for line, hit in other.lines.items():
            lines[line] = lines.get(line, False) or hit
        branches = dict(self.branches)
        for line, (taken, total) in other.branches.items():
            mine = branches.get(line, (0, 0))
            branches[line] = (max(mine[0], taken), max(mine[1], total))
        return FileCoverage(lines, branches)


@dataclass(frozen=True, slots=True)
class CoverageReport:
    """A coverage report with paths resolved against the repository.

    ``files`` holds the files found in the repository; ``unresolved`` the
    names the report gives that match no file in it.
    """

    source: EvidenceFile
    files: dict[str, FileCoverage]
    unresolved: tuple[str, ...]
    has_branches: bool


@dataclass(frozen=True, slots=True)
class ScanFinding:
    tool: str
    rule_id: str
    severity: Severity
    message: str
    path: str  # repository-relative when resolved, as written otherwise
    line: int | None
    rated: bool = True  # False when the tool gave no severity (then ``severity`` is the policy's ``unrated``)


@dataclass(frozen=True, slots=True)
class ScanReport:
    """One scanner's results.

    ``scanned`` is the set of files the output shows were scanned, or None
    when the output lists findings only (then a clean file cannot be shown
    to have been scanned). ``obtained`` says whether checker ran the tool or
    read a file a build produced.
    """

    tool: str
    version: str | None
    obtained: Literal["ran", "ingested"]
    source: EvidenceFile | None
    findings: tuple[ScanFinding, ...]
    scanned: frozenset[str] | None
    unresolved: tuple[str, ...] = ()
    failure: str | None = None  # the tool could not run or its output was unusable
    generated: float | None = None
    suppressed: int = 0  # results the log itself marks suppressed (in effect), left out of findings
