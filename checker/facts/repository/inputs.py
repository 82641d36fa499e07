"""What the repository views are built from, and the helpers they share.

Everything here is plain data read before any rule runs: the repository
listing, the evidence, the scans, the policy's requirements, and what git
and the file system say about when each evidence file was produced. The
views built from it do no I/O.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import groupby
from typing import TYPE_CHECKING, Any

from checker.times import utc_text

if TYPE_CHECKING:
    # Types only: listing the views (which every run does) loads no evidence machinery.
    from checker.evidence import CoverageReport, FileCoverage, ScanReport
    from checker.policy_scans import ScanRequirement
    from checker.provenance import SourceFacts
    from checker.repository import Repository

LISTED = 10  # names shown in a record's message-sized lists


@dataclass(frozen=True, slots=True)
class EvidenceAge:
    """When an evidence file was produced (None: nothing says), and the first
    file it covers whose content changed after that, with when."""

    produced: float | None
    changed: tuple[str, float] | None = None


@dataclass(frozen=True, slots=True)
class Codeowners:
    path: str  # root-relative
    entries: int  # lines that assign owners


@dataclass(frozen=True, slots=True)
class CoverageScope:
    """What coverage is measured over, besides the files the reports name
    (read at the edge: :mod:`checker.evidence.sources`).

    ``sources`` count whether or not a test imported them; a source no report
    names counts with ``executable`` lines, none covered. ``omitted`` maps a
    file the team's configuration leaves out, within what the baseline
    delegates, to that configuration; ``refused`` maps the ones it tried to
    leave out elsewhere (they count). ``excluded`` never count (the policy's
    ``coverage.exclude``).
    """

    sources: frozenset[str] = frozenset()
    defined_by: tuple[str, ...] = ()  # "policy" and the team's configuration files
    executable: Mapping[str, tuple[int, ...]] = field(default_factory=dict)
    omitted: Mapping[str, str] = field(default_factory=dict)
    refused: Mapping[str, str] = field(default_factory=dict)
    excluded: frozenset[str] = frozenset()
    unread: tuple[str, ...] = ()  # configuration checker cannot evaluate (jest.config.js), with why
    # A measured Python file's statements no report lists (the team's exclusions): they count, uncovered.
    unreported: Mapping[str, tuple[int, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class RepoInputs:
    repository: Repository
    coverage: Sequence[CoverageReport] = ()
    scans: Sequence[ScanReport] = ()
    requirements: Mapping[str, ScanRequirement] = field(default_factory=dict)
    templates: Sequence[str] = ()
    base_ref: str | None = None
    markers: Mapping[str, tuple[tuple[str, int], ...]] = field(default_factory=dict)  # file -> (kind, line)
    changed: tuple[str, Mapping[str, frozenset[int]]] | None = None  # (merge base, lines by file)
    source: SourceFacts | None = None  # the checkout's commit, branch, dirty flag
    # Scanner suppressions written inside templates: tool -> ("path: where ids", ...)
    template_suppressions: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # (``coverage`` or the scan's tool, evidence relpath) -> its age
    ages: Mapping[tuple[str, str], EvidenceAge] = field(default_factory=dict)
    codeowners: Codeowners | None = None
    coverage_scope: CoverageScope = field(default_factory=CoverageScope)
    # The repository's own scanner configuration files, by tool (.checkov.yaml,
    # .cfnlintrc, .bandit ...): a run the team made honours them.
    scanner_configs: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


def iso(moment: float | None) -> str | None:
    return None if moment is None else utc_text(datetime.fromtimestamp(moment, UTC))


def percent(covered: int, total: int) -> float | None:
    return None if total == 0 else round(100.0 * covered / total, 2)


def project(inputs: RepoInputs) -> str:
    return inputs.repository.project or "."


def staleness(inputs: RepoInputs, key: tuple[str, str], unresolved: Sequence[str]) -> tuple[list[str], EvidenceAge]:
    """Why evidence is stale: it names files the repository lacks, or it was
    produced before a file it covers changed."""
    reasons = []
    if unresolved:
        shown = ", ".join(unresolved[:LISTED]) + (" ..." if len(unresolved) > LISTED else "")
        reasons.append(f"names {len(unresolved)} file(s) not in the repository: {shown}")
    age = inputs.ages.get(key, EvidenceAge(None))
    if age.produced is not None and age.changed is not None:
        reasons.append(f"produced {iso(age.produced)}, before {age.changed[0]} last changed ({iso(age.changed[1])})")
    return reasons, age


def totals(files: Mapping[str, FileCoverage]) -> dict[str, Any]:
    lines_total = sum(len(c.lines) for c in files.values())
    lines_covered = sum(sum(c.lines.values()) for c in files.values())
    branches_total = sum(t for c in files.values() for _, t in c.branches.values())
    branches_covered = sum(k for c in files.values() for k, _ in c.branches.values())
    return {
        "lines_total": lines_total,
        "lines_covered": lines_covered,
        "line_percent": percent(lines_covered, lines_total),
        "branches_total": branches_total,
        "branches_covered": branches_covered,
        "branch_percent": percent(branches_covered, branches_total),
    }


TOTALS = ("lines_total", "lines_covered", "line_percent", "branches_total", "branches_covered", "branch_percent")


def ranges(lines: Iterable[int]) -> str:
    """Line numbers as ranges: 3,5-7,12."""
    spans = []
    for _, run in groupby(enumerate(sorted(lines)), key=lambda pair: pair[1] - pair[0]):
        numbers = [line for _, line in run]
        spans.append(str(numbers[0]) if len(numbers) == 1 else f"{numbers[0]}-{numbers[-1]}")
    return ",".join(spans)


def local(repository: Repository, path: str) -> str:
    """A root-relative path as the policy's globs see it: relative to the project."""
    prefix = repository.project + "/" if repository.project else ""
    return path[len(prefix) :] if path.startswith(prefix) else path


def matches(path: str, globs: Sequence[str]) -> bool:
    """Policy glob semantics: fnmatch, so ``*`` crosses ``/``."""
    return any(fnmatch.fnmatchcase(path, glob) for glob in globs)
