"""The ``scans`` view: one record per scan the policy requires, with its
evidence; and what each scan must cover."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from checker.facts.repository.inputs import LISTED, RepoInputs, local, matches, project, staleness
from checker.policy_scans import TEMPLATES, ScanRequirement, at_least, version_key
from checker.ruleapi import SEVERITY_RANK

if TYPE_CHECKING:
    from checker.evidence import ScanFinding, ScanReport
    from checker.facts.repository import RepositoryFacts
    from checker.repository import Repository

FIELDS = (
    "path",
    "tool",
    "present",
    "failures",
    "obtained",
    "evidence",
    "version",
    "min_version",
    "version_ok",
    "required_files",
    "uncovered",
    "uncovered_count",
    "findings_only",
    "stale",
    "stale_reasons",
    "threshold",
    "counts",
    "blocking",
    "suppressions",
    "suppressed",
    "config_files",
)


def required_files(requirement: ScanRequirement, repository: Repository, templates: Sequence[str]) -> list[str]:
    """The root-relative files a scan must cover: its globs over the project's
    files (relative to the project), plus every template when it says so."""
    prefix = repository.project + "/" if repository.project else ""
    globs = [g for g in requirement.covers if g != TEMPLATES]
    wanted = {t for t in templates if t.startswith(prefix)} if TEMPLATES in requirement.covers else set()
    if globs:
        wanted.update(path for path in repository.files if matches(local(repository, path), globs))
    return sorted(p for p in wanted if not matches(local(repository, p), requirement.exclude))


def scanned_sources(report: ScanReport, required: Sequence[str]) -> list[str]:
    """The required files a scan report speaks for (all of them when it lists findings only)."""
    return [p for p in required if report.scanned is None or p in report.scanned]


def reports_for(inputs: RepoInputs, tool: str) -> list[ScanReport]:
    return [r for r in inputs.scans if r.tool == tool]


def tool_findings(
    reports: Sequence[ScanReport], requirement: ScanRequirement, repository: Repository
) -> list[ScanFinding]:
    """A tool's findings outside the requirement's excluded paths, unrated
    ones at the severity the policy gives them, each once even when two
    evidence files report it."""
    seen: dict[tuple[str, str, int | None, str], ScanFinding] = {}
    for report in reports:
        for finding in report.findings:
            if matches(local(repository, finding.path), requirement.exclude):
                continue
            if not finding.rated:
                finding = replace(finding, severity=requirement.unrated)
            seen.setdefault((finding.rule_id, finding.path, finding.line, finding.message), finding)
    return list(seen.values())


def build(facts: RepositoryFacts) -> list[dict[str, Any]]:
    inputs = facts.inputs
    records = []
    for tool, requirement in inputs.requirements.items():
        reports = reports_for(inputs, tool)
        required = required_files(requirement, inputs.repository, inputs.templates)
        scanned: set[str] = set()
        findings_only = False
        for report in reports:
            if report.scanned is None:
                findings_only = True
                scanned.update(f.path for f in report.findings)
            else:
                scanned |= report.scanned
        uncovered = [p for p in required if p not in scanned]
        stale_reasons: list[str] = []
        for report in reports:
            if report.obtained == "ingested" and report.source is not None:
                reasons, _ = staleness(inputs, (tool, report.source.relpath), report.unresolved)
                stale_reasons += [f"{report.source.relpath}: {r}" for r in reasons]
        versions = sorted({r.version for r in reports if r.version}, key=version_key)
        counts = {s: 0 for s in SEVERITY_RANK}
        blocking = 0
        for finding in tool_findings(reports, requirement, inputs.repository):
            counts[finding.severity] += 1
            blocking += SEVERITY_RANK[finding.severity] >= SEVERITY_RANK[requirement.threshold]
        required_set = set(required)
        records.append(
            {
                "path": project(inputs),
                "tool": tool,
                "present": bool(reports) and all(r.failure is None for r in reports),
                "failures": [r.failure for r in reports if r.failure],
                "obtained": sorted({r.obtained for r in reports}),
                "evidence": [r.source.relpath for r in reports if r.source is not None],
                "version": versions[0] if versions else None,  # the oldest, if several ran
                "min_version": requirement.min_version,
                "version_ok": requirement.min_version is None
                or (bool(versions) and at_least(versions[0], requirement.min_version)),
                "required_files": len(required),
                "uncovered": uncovered[:LISTED],
                "uncovered_count": len(uncovered),
                "findings_only": findings_only,
                "stale": bool(stale_reasons),
                "stale_reasons": stale_reasons,
                "threshold": requirement.threshold,
                "counts": counts,
                "blocking": blocking,
                "suppressions": [
                    s for s in inputs.template_suppressions.get(tool, ()) if s.split(": ", 1)[0] in required_set
                ],
                # Results the team's own run left out (# nosec, SARIF suppressions, checkov skips);
                # a run checker made honours only in-template skips, which `suppressions` names.
                "suppressed": sum(r.suppressed for r in reports if r.obtained == "ingested"),
                # Configuration in the repository that a run the team made reads (checker's own runs do not).
                "config_files": list(inputs.scanner_configs.get(tool, ()))
                if any(r.obtained == "ingested" for r in reports)
                else [],
            }
        )
    return records
