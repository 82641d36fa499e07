"""When each evidence file was produced, and whether what it covers changed
since: read from git and the file system at the edge, so that the
staleness the views report is a pure function of plain data."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from checker.evidence import CoverageReport, ScanReport
from checker.facts.repository import EvidenceAge
from checker.facts.repository.scans import required_files, scanned_sources
from checker.policy_scans import ScanRequirement
from checker.repository import Repository

# File times within this many seconds count as the same moment (file systems
# store mtimes coarsely; a checkout writes every file within a second or two).
_SLACK = 2.0


def _produced(repository: Repository, relpath: str, generated: float | None) -> float | None:
    """A committed evidence file is as old as its commit (whatever time it
    records inside: it was reviewed and committed with the code); any other
    is as old as the earlier of the time it records and its modification
    time (a downloaded artifact gets a new mtime)."""
    if relpath in repository.clean:
        return repository.age(relpath)
    times = [t for t in (generated, repository.age(relpath)) if t is not None]
    return min(times) if times else None


def evidence_age(repository: Repository, relpath: str, generated: float | None, sources: Iterable[str]) -> EvidenceAge:
    produced = _produced(repository, relpath, generated)
    changed = None if produced is None else repository.changed_after(sources, produced + _SLACK)
    return EvidenceAge(produced, changed)


def evidence_ages(
    repository: Repository,
    coverage: Sequence[CoverageReport],
    scans: Sequence[ScanReport],
    requirements: Mapping[str, ScanRequirement],
    templates: Sequence[str],
) -> dict[tuple[str, str], EvidenceAge]:
    """The age of each coverage report (against the files it covers) and of
    each ingested report of a required scan (against the required files it
    speaks for), keyed by (``coverage`` or the tool, evidence path)."""
    ages = {
        ("coverage", r.source.relpath): evidence_age(repository, r.source.relpath, r.source.generated, r.files)
        for r in coverage
    }
    for tool, requirement in requirements.items():
        required = required_files(requirement, repository, templates)
        for report in scans:
            if report.tool == tool and report.obtained == "ingested" and report.source is not None:
                sources = scanned_sources(report, required)
                ages[(tool, report.source.relpath)] = evidence_age(
                    repository, report.source.relpath, report.generated, sources
                )
    return ages
