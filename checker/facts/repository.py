"""Repository-scope fact views: coverage, scans and the repository's files.

They are built once per run from :class:`RepoInputs` (the repository
listing, the evidence read, the scans run, the policy's scan requirements)
and judged by rules that read no template. Each view is a pure function of
those inputs; git and the file system were read before.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import cached_property
from itertools import groupby
from typing import Any

from checker.evidence import SEVERITY_RANK, CoverageReport, FileCoverage, ScanFinding, ScanReport
from checker.policy_scans import TEMPLATES, ScanRequirement, at_least, version_key
from checker.provenance import SourceFacts
from checker.repository import Repository
from checker.ruleapi import NotApplicable
from checker.times import utc_text

# File times within this many seconds count as the same moment (file systems
# store mtimes coarsely; a checkout writes every file within a second or two).
_SLACK = 2.0
_LISTED = 10  # names shown in a record's message-sized lists


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


class RepositoryFacts:
    """The repository-scope views of one run, each built on first use."""

    def __init__(self, inputs: RepoInputs) -> None:
        self.inputs = inputs
        self._cache: dict[str, Sequence[Mapping[str, Any]] | NotApplicable] = {}

    def view(self, name: str) -> Sequence[Mapping[str, Any]]:
        cached = self._cache.get(name)
        if cached is None:
            builder = BUILDERS.get(name)
            if builder is None:
                raise KeyError(f"no repository fact view named {name!r}")
            try:
                cached = tuple(builder(self))
            except NotApplicable as exc:
                cached = exc
            self._cache[name] = cached
        if isinstance(cached, NotApplicable):
            raise cached
        return cached

    @cached_property
    def current_coverage(self) -> dict[str, FileCoverage]:
        """Coverage merged by lines over the reports that are not stale."""
        stale = {r["path"] for r in self.view("coverage_reports") if r["stale"]}
        merged: dict[str, FileCoverage] = {}
        for report in self.inputs.coverage:
            if report.source.relpath in stale:
                continue
            for path, coverage in report.files.items():
                existing = merged.get(path)
                merged[path] = coverage if existing is None else existing.merged(coverage)
        return merged


def _iso(moment: float | None) -> str | None:
    return None if moment is None else utc_text(datetime.fromtimestamp(moment, UTC))


def _percent(covered: int, total: int) -> float | None:
    return None if total == 0 else round(100.0 * covered / total, 2)


def _project(inputs: RepoInputs) -> str:
    return inputs.repository.project or "."


def _evidence_time(inputs: RepoInputs, relpath: str | None, generated: float | None) -> float | None:
    """When evidence was produced. A committed evidence file is as old as its
    commit (whatever time it records inside: it was reviewed and committed
    with the code); any other is as old as the earlier of the time it records
    and its modification time (a downloaded artifact gets a new mtime)."""
    repository = inputs.repository
    if relpath is not None and relpath in repository.clean:
        return repository.age(relpath)
    times = [t for t in (generated,) if t is not None]
    if relpath is not None:
        written = repository.age(relpath)
        if written is not None:
            times.append(written)
    return min(times) if times else None


def _staleness(
    inputs: RepoInputs, relpath: str | None, generated: float | None, sources: Iterable[str], unresolved: Sequence[str]
) -> tuple[list[str], float | None, float | None]:
    """Why evidence is stale (names files the repository lacks; produced
    before a file it covers changed), when it was produced, and when the
    first such file changed."""
    reasons = []
    if unresolved:
        shown = ", ".join(unresolved[:_LISTED]) + (" ..." if len(unresolved) > _LISTED else "")
        reasons.append(f"names {len(unresolved)} file(s) not in the repository: {shown}")
    produced = _evidence_time(inputs, relpath, generated)
    changed = None if produced is None else inputs.repository.changed_after(sources, produced + _SLACK)
    if produced is not None and changed is not None:
        reasons.append(f"produced {_iso(produced)}, before {changed[0]} last changed ({_iso(changed[1])})")
    return reasons, produced, None if changed is None else changed[1]


def _totals(files: Mapping[str, FileCoverage]) -> dict[str, Any]:
    lines_total = sum(len(c.lines) for c in files.values())
    lines_covered = sum(sum(c.lines.values()) for c in files.values())
    branches_total = sum(t for c in files.values() for _, t in c.branches.values())
    branches_covered = sum(k for c in files.values() for k, _ in c.branches.values())
    return {
        "lines_total": lines_total,
        "lines_covered": lines_covered,
        "line_percent": _percent(lines_covered, lines_total),
        "branches_total": branches_total,
        "branches_covered": branches_covered,
        "branch_percent": _percent(branches_covered, branches_total),
    }


def coverage_reports(facts: RepositoryFacts) -> list[dict[str, Any]]:
    inputs = facts.inputs
    records = []
    for report in inputs.coverage:
        reasons, produced, newest = _staleness(
            inputs, report.source.relpath, report.source.generated, report.files, report.unresolved
        )
        records.append(
            {
                "path": report.source.relpath,
                "format": report.source.format,
                "sha256": report.source.sha256,
                "files": len(report.files),
                "unresolved": list(report.unresolved),
                "has_branches": report.has_branches,
                "produced": _iso(produced),
                "sources_changed": _iso(newest),
                "stale": bool(reasons),
                "stale_reasons": reasons,
                **_totals(report.files),
            }
        )
    return records


def coverage(facts: RepositoryFacts) -> list[dict[str, Any]]:
    merged = facts.current_coverage
    reports = facts.view("coverage_reports")
    return [
        {
            "path": _project(facts.inputs),
            "reports": [r["path"] for r in reports],
            "current_reports": [r["path"] for r in reports if not r["stale"]],
            "stale_reports": sorted(r["path"] for r in reports if r["stale"]),
            "has_branches": any(c.branches for c in merged.values()),
            **_totals(merged),
        }
    ]


def _ranges(lines: Iterable[int]) -> str:
    """Line numbers as ranges: 3,5-7,12."""
    spans = []
    for _, run in groupby(enumerate(sorted(lines)), key=lambda pair: pair[1] - pair[0]):
        numbers = [line for _, line in run]
        spans.append(str(numbers[0]) if len(numbers) == 1 else f"{numbers[0]}-{numbers[-1]}")
    return ",".join(spans)


def coverage_files(facts: RepositoryFacts) -> list[dict[str, Any]]:
    merged = facts.current_coverage
    return [
        {
            "path": path,
            "missing_lines": _ranges(line for line, hit in cov.lines.items() if not hit),
            **_totals({path: cov}),
        }
        for path, cov in sorted(merged.items())
    ]


def new_code_coverage(facts: RepositoryFacts) -> list[dict[str, Any]]:
    inputs = facts.inputs
    if inputs.base_ref is None or inputs.changed is None:
        raise NotApplicable("no base ref to compare with: pass --base-ref (set automatically in pull requests)")
    merge_base, changed = inputs.changed
    merged = facts.current_coverage
    project = inputs.repository.project
    total = covered = 0
    uncovered: dict[str, str] = {}
    unmeasured = []
    for path, lines in sorted(changed.items()):
        if project and not path.startswith(project + "/"):
            continue
        cov = merged.get(path)
        if cov is None:
            unmeasured.append(path)
            continue
        executable = [line for line in lines if line in cov.lines]
        total += len(executable)
        hit = [line for line in executable if cov.lines[line]]
        covered += len(hit)
        if len(hit) < len(executable):
            uncovered[path] = _ranges(set(executable) - set(hit))
    return [
        {
            "path": _project(inputs),
            "base_ref": inputs.base_ref,
            "merge_base": merge_base,
            "lines_total": total,
            "lines_covered": covered,
            "line_percent": _percent(covered, total),
            "uncovered": uncovered,
            "unmeasured_files": unmeasured,
        }
    ]


def _local(repository: Repository, path: str) -> str:
    """A root-relative path as the policy's globs see it: relative to the project."""
    prefix = repository.project + "/" if repository.project else ""
    return path[len(prefix) :] if path.startswith(prefix) else path


def _matches(path: str, globs: Sequence[str]) -> bool:
    return any(fnmatch.fnmatchcase(path, glob) for glob in globs)


def required_files(requirement: ScanRequirement, repository: Repository, templates: Sequence[str]) -> list[str]:
    """The root-relative files a scan must cover: its globs over the project's
    files (relative to the project), plus every template when it says so."""
    prefix = repository.project + "/" if repository.project else ""
    globs = [g for g in requirement.covers if g != TEMPLATES]
    wanted = {t for t in templates if t.startswith(prefix)} if TEMPLATES in requirement.covers else set()
    if globs:
        wanted.update(path for path in repository.files if _matches(_local(repository, path), globs))
    return sorted(p for p in wanted if not _matches(_local(repository, p), requirement.exclude))


def _reports_for(inputs: RepoInputs, tool: str) -> list[ScanReport]:
    return [r for r in inputs.scans if r.tool == tool]


def scans(facts: RepositoryFacts) -> list[dict[str, Any]]:
    inputs = facts.inputs
    records = []
    for tool, requirement in inputs.requirements.items():
        reports = _reports_for(inputs, tool)
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
                sources = [p for p in required if report.scanned is None or p in report.scanned]
                reasons, _, _ = _staleness(inputs, report.source.relpath, report.generated, sources, report.unresolved)
                stale_reasons += [f"{report.source.relpath}: {r}" for r in reasons]
        versions = sorted({r.version for r in reports if r.version}, key=version_key)
        counts = {s: 0 for s in SEVERITY_RANK}
        blocking = 0
        for finding in _tool_findings(reports, requirement, inputs.repository):
            counts[finding.severity] += 1
            blocking += SEVERITY_RANK[finding.severity] >= SEVERITY_RANK[requirement.threshold]
        records.append(
            {
                "path": _project(inputs),
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
                "uncovered": uncovered[:_LISTED],
                "uncovered_count": len(uncovered),
                "findings_only": findings_only,
                "stale": bool(stale_reasons),
                "stale_reasons": stale_reasons,
                "threshold": requirement.threshold,
                "counts": counts,
                "blocking": blocking,
                "suppressions": [
                    s
                    for s in inputs.template_suppressions.get(tool, ())
                    if s.split(": ", 1)[0] in set(required)
                ],
            }
        )
    return records


def _tool_findings(
    reports: Sequence[ScanReport], requirement: ScanRequirement, repository: Repository
) -> list[ScanFinding]:
    """A tool's findings outside the requirement's excluded paths, unrated
    ones at the severity the policy gives them, each once even when two
    evidence files report it."""
    seen: dict[tuple[str, str, int | None, str], ScanFinding] = {}
    for report in reports:
        for finding in report.findings:
            if _matches(_local(repository, finding.path), requirement.exclude):
                continue
            if not finding.rated:
                finding = replace(finding, severity=requirement.unrated)
            seen.setdefault((finding.rule_id, finding.path, finding.line, finding.message), finding)
    return list(seen.values())


def scan_findings(facts: RepositoryFacts) -> list[dict[str, Any]]:
    inputs = facts.inputs
    records = []
    for tool, requirement in inputs.requirements.items():
        for finding in _tool_findings(_reports_for(inputs, tool), requirement, inputs.repository):
            records.append(
                {
                    "path": finding.path,
                    "line": finding.line,
                    "tool": tool,
                    "rule_id": finding.rule_id,
                    "severity": finding.severity,
                    "rated": finding.rated,
                    "message": finding.message,
                    "threshold": requirement.threshold,
                    "blocking": SEVERITY_RANK[finding.severity] >= SEVERITY_RANK[requirement.threshold],
                }
            )
    return sorted(records, key=lambda r: (r["path"], r["line"] or 0, r["tool"], r["rule_id"]))


# Files that hold secrets by their very name.
SECRET_NAMES = (
    "id_rsa",
    "id_dsa",
    "id_ecdsa",
    "id_ed25519",
    "*.p12",
    "*.pfx",
    "*.ppk",
    "*.jks",
    "*.keystore",
    "*.kdbx",
    ".git-credentials",
    ".pgpass",
    ".netrc",
)
SECRET_PATHS = ("*.aws/credentials", "*.docker/config.json", "*.ssh/*")
_MAX_SCANNED_BYTES = 2 * 1024 * 1024
# Key material by its shape, wherever it sits in a file. Each pattern is the
# format's own: a placeholder such as AWS_SECRET_ACCESS_KEY=AWS_SECRET_ACCESS_KEY
# (moto's dummy) has no secret of the right shape in it.
_SECRET = rb"(?<![A-Za-z0-9/+])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])"
_MARKERS: tuple[tuple[str, re.Pattern[bytes]], ...] = (
    ("private-key", re.compile(rb"-----BEGIN (?:RSA |DSA |EC |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY(?: BLOCK)?-----")),
    ("putty-private-key", re.compile(rb"^PuTTY-User-Key-File-\d+:", re.M)),
    ("aws-credentials", re.compile(rb"(?im)^\s*aws_secret_access_key\s*[=:]\s*[\"']?" + _SECRET)),
    ("aws-access-key", re.compile(rb"(?<![A-Z0-9])(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}(?![A-Z0-9])")),
    ("github-token", re.compile(rb"(?<![A-Za-z0-9_])gh[pousr]_[A-Za-z0-9]{36}(?![A-Za-z0-9_])")),
    ("gitlab-token", re.compile(rb"(?<![A-Za-z0-9_-])glpat-[A-Za-z0-9_-]{20}(?![A-Za-z0-9_-])")),
    ("slack-token", re.compile(rb"(?<![A-Za-z0-9-])xox[abposr]-[0-9]{10,13}-[0-9A-Za-z-]{10,}")),
    ("stripe-live-key", re.compile(rb"(?<![A-Za-z0-9_])[sr]k_live_[0-9A-Za-z]{24,}(?![A-Za-z0-9_])")),
    ("google-api-key", re.compile(rb"(?<![A-Za-z0-9_-])AIza[0-9A-Za-z_-]{35}(?![A-Za-z0-9_-])")),
)
_AWS_SECRET = re.compile(_SECRET)


def content_markers(content: bytes) -> tuple[tuple[str, int], ...]:
    """What a file holds that is key material, each with the line it starts on.
    An AWS access key id counts when a secret of the right shape is near it
    (the id alone is not a credential; with its secret, it is)."""
    found: list[tuple[str, int]] = []
    for kind, pattern in _MARKERS:
        for match in pattern.finditer(content):
            if kind == "aws-access-key":
                window = content[max(0, match.start() - 400) : match.end() + 400]
                if not _AWS_SECRET.search(window.replace(match.group(0), b"")):
                    continue
            found.append((kind, content.count(b"\n", 0, match.start()) + 1))
            break  # one of each kind a file is enough to say
    return tuple(sorted(found, key=lambda item: item[1]))


def read_markers(repository: Repository) -> dict[str, tuple[tuple[str, int], ...]]:
    """Key material in every file git tracks in the project (every file,
    outside git), in any folder, read up to 2 MiB each."""
    markers = {}
    for relpath in repository.tracked or repository.files:
        try:
            with open(repository.path(relpath), "rb") as handle:
                content = handle.read(_MAX_SCANNED_BYTES)
        except OSError:
            continue
        found = content_markers(content)
        if found:
            markers[relpath] = found
    return markers


def repo_files(facts: RepositoryFacts) -> list[dict[str, Any]]:
    inputs = facts.inputs
    records = []
    for path in sorted({*inputs.repository.files, *inputs.markers}):
        name = path.rsplit("/", 1)[-1]
        secret_name = any(fnmatch.fnmatchcase(name, p) for p in SECRET_NAMES) or any(
            fnmatch.fnmatchcase("/" + path, p) for p in SECRET_PATHS
        )
        records.append(
            {
                "path": path,
                "name": name,
                "secret_name": secret_name,
                "markers": [kind for kind, _ in inputs.markers.get(path, ())],
                "line": next((line for _, line in inputs.markers.get(path, ())), None),
            }
        )
    return records


CODEOWNERS_LOCATIONS = ("CODEOWNERS", ".github/CODEOWNERS", ".gitlab/CODEOWNERS", "docs/CODEOWNERS")


def repo(facts: RepositoryFacts) -> list[dict[str, Any]]:
    inputs = facts.inputs
    repository = inputs.repository
    prefix = repository.project + "/" if repository.project else ""
    codeowners = None
    entries = 0
    # A monorepo's CODEOWNERS is at the top of the checkout, above the project.
    for base in dict.fromkeys((prefix, "")):
        for location in CODEOWNERS_LOCATIONS:
            candidate = repository.path(base + location)
            if candidate.is_file():
                codeowners = base + location
                text = candidate.read_text(encoding="utf-8", errors="replace")
                entries = sum(1 for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#"))
                break
        if codeowners:
            break
    return [
        {
            "path": _project(inputs),
            "in_git": repository.in_git,
            "commit": inputs.source.commit if inputs.source else None,
            "branch": inputs.source.branch if inputs.source else None,
            "dirty": inputs.source.dirty if inputs.source else None,
            "files": len(repository.files),
            "templates": len(inputs.templates),  # judged in this check
            "codeowners": codeowners,
            "codeowners_entries": entries,
        }
    ]


BUILDERS: dict[str, Callable[[RepositoryFacts], list[dict[str, Any]]]] = {
    "coverage": coverage,
    "coverage_reports": coverage_reports,
    "coverage_files": coverage_files,
    "new_code_coverage": new_code_coverage,
    "scans": scans,
    "scan_findings": scan_findings,
    "repo_files": repo_files,
    "repo": repo,
}
