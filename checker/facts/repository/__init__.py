"""Repository-scope fact views: coverage, scans and the repository's files.

They are built once per run from :class:`RepoInputs` (the repository
listing, the evidence read, the scans run, the policy's scan requirements,
the evidence's ages) and judged by rules that read no template. Each view
is a module with its ``FIELDS`` beside its ``build``, a pure function of
those inputs: git and the file system were read before (in
:mod:`checker.evidence.judge`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

from checker.facts.repository import (
    coverage,
    coverage_files,
    coverage_reports,
    new_code_coverage,
    repo,
    repo_files,
    scan_findings,
    scans,
)
from checker.facts.repository.inputs import Codeowners, CoverageScope, EvidenceAge, RepoInputs
from checker.ruleapi import NotApplicable

if TYPE_CHECKING:
    from checker.evidence import FileCoverage

__all__ = ["VIEWS", "Codeowners", "CoverageScope", "EvidenceAge", "RepoInputs", "RepositoryFacts", "View"]


@dataclass(frozen=True, slots=True)
class View:
    fields: tuple[str, ...]
    build: Callable[[RepositoryFacts], list[dict[str, Any]]]


VIEWS: dict[str, View] = {
    "coverage": View(coverage.FIELDS, coverage.build),
    "coverage_reports": View(coverage_reports.FIELDS, coverage_reports.build),
    "coverage_files": View(coverage_files.FIELDS, coverage_files.build),
    "new_code_coverage": View(new_code_coverage.FIELDS, new_code_coverage.build),
    "scans": View(scans.FIELDS, scans.build),
    "scan_findings": View(scan_findings.FIELDS, scan_findings.build),
    "repo_files": View(repo_files.FIELDS, repo_files.build),
    "repo": View(repo.FIELDS, repo.build),
}


class RepositoryFacts:
    """The repository-scope views of one run, each built on first use."""

    def __init__(self, inputs: RepoInputs) -> None:
        self.inputs = inputs
        self._cache: dict[str, Sequence[Mapping[str, Any]] | NotApplicable] = {}

    def view(self, name: str) -> Sequence[Mapping[str, Any]]:
        cached = self._cache.get(name)
        if cached is None:
            spec = VIEWS.get(name)
            if spec is None:
                raise KeyError(f"no repository fact view named {name!r}")
            try:
                cached = tuple(spec.build(self))
            except NotApplicable as exc:
                cached = exc
            self._cache[name] = cached
        if isinstance(cached, NotApplicable):
            raise cached
        return cached

    @cached_property
    def current_coverage(self) -> dict[str, FileCoverage]:
        """Coverage merged by lines over the reports that are not stale, less
        what the scope leaves out, plus every source no current report names,
        with none of its lines covered (so dropping a stale report never
        raises a figure)."""
        from checker.evidence import FileCoverage

        scope = self.inputs.coverage_scope
        stale = {r["path"] for r in self.view("coverage_reports") if r["stale"]}
        merged: dict[str, FileCoverage] = {}
        anywhere: dict[str, FileCoverage] = {}
        for report in self.inputs.coverage:
            for path, cov in report.files.items():
                if path in scope.omitted or path in scope.excluded:
                    continue
                anywhere.setdefault(path, cov)
                if report.source.relpath not in stale:
                    existing = merged.get(path)
                    merged[path] = cov if existing is None else existing.merged(cov)
        # A file only a stale report names counts, none of its lines covered:
        # dropping a report never raises a figure.
        for path in (scope.sources | anywhere.keys()) - merged.keys():
            lines = anywhere[path].lines if path in anywhere else scope.executable.get(path, ())
            merged[path] = FileCoverage(dict.fromkeys(lines, False))
        for path, lines in scope.unreported.items():
            if path in merged:
                cov = merged[path]
                merged[path] = FileCoverage({**dict.fromkeys(lines, False), **cov.lines}, cov.branches)
        return merged

    @cached_property
    def unmeasured(self) -> list[str]:
        """The sources no current report names: counted, none of their lines covered."""
        measured = {p for r in self.inputs.coverage if r.source.relpath in self._current for p in r.files}
        return sorted(self.inputs.coverage_scope.sources - measured)

    @cached_property
    def _current(self) -> frozenset[str]:
        return frozenset(r["path"] for r in self.view("coverage_reports") if not r["stale"])
