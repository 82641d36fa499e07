"""The repository side of a check: gather the evidence (discovered, named
with ``--evidence``, or produced by running the scans), build the repository
fact views once, and run the repository rules over them.

This is the I/O edge for evidence, as discovery is for templates: files and
git are read here, and the views and rules after it are pure.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from checker.discovery import Discovery, Skipped, excluded
from checker.engine import RuleResult, active_rules, judge_repository
from checker.errors import UsageError
from checker.evidence.ages import evidence_ages
from checker.evidence.load import Evidence, EvidenceInput, load_evidence
from checker.evidence.paths import PathResolver
from checker.evidence.secrets import read_markers
from checker.facts.repository import Codeowners, RepoInputs, RepositoryFacts
from checker.facts.repository.scans import required_files
from checker.gate import display_path
from checker.policy import Policy
from checker.provenance import SourceFacts, base_ref_from
from checker.repository import Repository, load_repository, project_of
from checker.ruleapi import Rule

if TYPE_CHECKING:
    from checker.cache import JsonStore
    from checker.gate import CheckRequest
    from checker.policy import Exclude


def _explicit(paths: Sequence[Path], root: Path) -> list[EvidenceInput]:
    items = []
    for given in paths:
        if not given.is_file():
            raise UsageError(f"--evidence {given}: no such file")
        # Evidence may come from outside the checkout (a CI artifact): named relative to the root.
        items.append(EvidenceInput(Path(os.path.realpath(given)), display_path(given, root), True))
    return items


def _reads(active: Sequence[tuple[Rule, Any]], view: str) -> bool:
    return any(view in rule.meta.views for rule, _ in active)


def judge_evidence(
    request: CheckRequest,
    found: Discovery,
    policy: Policy,
    registry: Mapping[str, Rule],
    templates: Sequence[str],
    excludes: Sequence[Exclude],
    source: SourceFacts | None = None,
    scan_cache: JsonStore | None = None,
    deployed: Sequence[str] = (),
) -> tuple[dict[str, RuleResult], list[dict[str, Any]], list[Skipped]]:
    """Run the repository rules; also return the report's evidence entries
    and the evidence files skipped."""
    active = active_rules(registry, policy, "repository")
    root = found.root
    repository = load_repository(root, project_of(request.paths, root))
    if excludes:  # what the policy or --exclude keeps out of a check is out of every rule
        repository = replace(
            repository,
            files=tuple(f for f in repository.files if not excluded(f, excludes)),
            tracked=tuple(f for f in repository.tracked if not excluded(f, excludes)),
        )
    resolver = PathResolver(root, repository.files)
    explicit = _explicit(request.evidence, root)
    discovered = [EvidenceInput(c.path, c.relpath, False) for c in found.evidence]
    evidence = load_evidence([*discovered, *explicit], resolver, root)
    skipped = list(evidence.skipped)
    scans = list(evidence.scans)
    if request.run_scans:
        from checker.evidence.scanrun import run_scans

        named = {item.relpath for item in explicit}
        # What the run produces supersedes results found lying in the tree
        # (but not what the user named with --evidence).
        superseded = [
            r for r in scans if r.tool in policy.scans and r.source is not None and r.source.relpath not in named
        ]
        skipped += [
            Skipped(r.source.relpath, f"{r.tool} results superseded by --run-scans") for r in superseded if r.source
        ]
        scans = [r for r in scans if r not in superseded]
        wanted = {tool: required_files(req, repository, templates) for tool, req in policy.scans.items()}
        scans += run_scans(
            wanted,
            root,
            resolver,
            jobs=request.jobs or os.cpu_count() or 1,
            cache=scan_cache,
            progress=request.scan_progress,
        )
    base_ref = request.base_ref or base_ref_from(request.environ)
    changed = None
    if base_ref and _reads(active, "new_code_coverage"):
        changed = repository.changed_lines(base_ref)
    inputs = RepoInputs(
        repository,
        evidence.coverage,
        tuple(scans),
        policy.scans,
        tuple(templates),
        base_ref,
        read_markers(repository) if _reads(active, "repo_files") else {},
        changed,
        source,
        template_suppressions(root, templates) if _reads(active, "scans") else {},
        evidence_ages(repository, evidence.coverage, scans, policy.scans, templates),
        read_codeowners(repository) if _reads(active, "repo") else None,
        scanner_configs=scanner_configs(repository) if _reads(active, "scans") else {},
    )
    if any(_reads(active, view) for view in ("coverage", "coverage_files", "new_code_coverage")):
        from checker.evidence.sources import coverage_scope

        scope = coverage_scope(repository, policy.coverage, evidence.coverage, deployed)
        inputs = replace(inputs, coverage_scope=scope)
    facts = RepositoryFacts(inputs)
    return judge_repository(facts, active, policy.env), _evidence_entries(facts, evidence), skipped


# Files a scanner reads from the folder it runs in (or is pointed at): they
# can skip checks, lower severities or exclude paths.
_SCANNER_CONFIGS = {
    ".checkov.yaml": "checkov",
    ".checkov.yml": "checkov",
    ".cfnlintrc": "cfn-lint",
    ".cfnlintrc.yaml": "cfn-lint",
    ".cfnlintrc.yml": "cfn-lint",
    ".cfnlintrc.json": "cfn-lint",
    ".bandit": "bandit",
}


def scanner_configs(repository: Repository) -> dict[str, tuple[str, ...]]:
    """The repository's scanner configuration files, by tool (a pyproject.toml
    counts for bandit when it has a [tool.bandit] table)."""
    found: dict[str, list[str]] = {}
    for relpath in repository.files:
        name = relpath.rsplit("/", 1)[-1]
        tool = _SCANNER_CONFIGS.get(name)
        if tool is None and name == "pyproject.toml":
            try:
                text = repository.path(relpath).read_text(encoding="utf-8", errors="replace")
            except OSError:
                text = ""
            tool = "bandit" if "[tool.bandit" in text else None
        if tool is not None:
            found.setdefault(tool, []).append(relpath)
    return {tool: tuple(paths) for tool, paths in found.items()}


CODEOWNERS_LOCATIONS = ("CODEOWNERS", ".github/CODEOWNERS", ".gitlab/CODEOWNERS", "docs/CODEOWNERS")


def read_codeowners(repository: Repository) -> Codeowners | None:
    """The CODEOWNERS file that applies: the project's, else (a monorepo's)
    the one at the root or at the top of the git checkout; with the lines
    that assign owners. Named relative to the root."""
    folders = [repository.root / repository.project, repository.root]
    if repository.top is not None:
        folders.append(repository.top)
    for folder in dict.fromkeys(folders):
        for location in CODEOWNERS_LOCATIONS:
            candidate = folder / location
            if candidate.is_file():
                text = candidate.read_text(encoding="utf-8", errors="replace")
                entries = sum(1 for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#"))
                return Codeowners(display_path(candidate, repository.root), entries)
    return None


def _evidence_entries(facts: RepositoryFacts, evidence: Evidence) -> list[dict[str, Any]]:
    """Each evidence file with its digest, and each required scan's record."""
    entries: list[dict[str, Any]] = []
    for record in facts.view("coverage_reports"):
        entries.append(
            {
                "kind": "coverage",
                "path": record["path"],
                "sha256": record["sha256"],
                "format": record["format"],
                "files": record["files"],
                "line_percent": record["line_percent"],
                "branch_percent": record["branch_percent"],
                "stale": record["stale"],
                "stale_reasons": record["stale_reasons"],
            }
        )
    (summary,) = facts.view("coverage")
    scope = facts.inputs.coverage_scope
    entries.append(
        {
            "kind": "coverage-scope",
            "sources": summary["sources"],
            "defined_by": summary["sources_defined_by"],
            "unmeasured": summary["unmeasured"],
            "omitted": [{"path": p, "by": by} for p, by in sorted(scope.omitted.items())],
            "omit_refused": [{"path": p, "by": by} for p, by in sorted(scope.refused.items())],
            "excluded": sorted(scope.excluded),
            "unread": summary["unread_configs"],
            "unreported": [{"path": p, "lines": len(lines)} for p, lines in sorted(scope.unreported.items())],
            # The figures the coverage rules judged: merged over the current reports, over this scope.
            "current_reports": summary["current_reports"],
            **{key: summary[key] for key in ("lines_total", "lines_covered", "line_percent", "branch_percent")},
        }
    )
    digests = {f.relpath: f.sha256 for f in evidence.files}
    required = set()
    for record in facts.view("scans"):
        required.add(record["tool"])
        findings = sorted(
            [f.rule_id, f.severity, f.path, f.line or 0, f.message]
            for r in facts.inputs.scans
            if r.tool == record["tool"]
            for f in r.findings
        )
        entries.append(
            {
                "kind": "scan",
                "tool": record["tool"],
                "version": record["version"],
                "obtained": record["obtained"],
                "evidence": [{"path": p, "sha256": digests[p]} for p in record["evidence"] if p in digests],
                # The digest of the findings themselves: what a run produced has no file of its own.
                "results_sha256": hashlib.sha256(json.dumps(findings).encode()).hexdigest(),
                "required": True,
                "present": record["present"],
                "threshold": record["threshold"],
                "counts": record["counts"],
                "blocking": record["blocking"],
                "required_files": record["required_files"],
                "uncovered_count": record["uncovered_count"],
                "stale": record["stale"],
                "suppressed": sum(r.suppressed for r in facts.inputs.scans if r.tool == record["tool"]),
            }
        )
    for report in evidence.scans:
        if report.tool not in required and report.source is not None:
            entries.append(
                {
                    "kind": "scan",
                    "tool": report.tool,
                    "version": report.version,
                    "obtained": [report.obtained],
                    "evidence": [{"path": report.source.relpath, "sha256": report.source.sha256}],
                    "required": False,
                    "findings": len(report.findings),
                    "suppressed": report.suppressed,
                }
            )
    return entries


def template_suppressions(root: Path, templates: Sequence[str]) -> dict[str, tuple[str, ...]]:
    """Scanner suppressions the team wrote inside its templates, by tool:
    cfn-lint's ``Metadata: {cfn-lint: {config: {ignore_checks: [...]}}}`` (on
    the template or a resource) and checkov's ``Metadata: {checkov: {skip:
    [{id: ...}]}}`` on a resource. The scanners honour them; the organization
    did not grant them, so each is reported."""
    from checker.errors import InputError
    from checker.loaders import load_document

    found: dict[str, list[str]] = {"cfn-lint": [], "checkov": []}
    for relpath in templates:
        try:
            data = load_document(root / relpath, relpath)
        except InputError:
            continue  # TPL001 says so already
        if not isinstance(data, dict):
            continue
        places: list[tuple[str, Any]] = [("Metadata", data.get("Metadata"))]
        resources = data.get("Resources")
        for name, body in resources.items() if isinstance(resources, dict) else ():
            if isinstance(body, dict):
                places.append((f"Resources.{name}.Metadata", body.get("Metadata")))
        for where, metadata in places:
            if not isinstance(metadata, dict):
                continue
            lint = metadata.get("cfn-lint")
            config = lint.get("config") if isinstance(lint, dict) else None
            if isinstance(config, dict) and config:
                # ignore_checks, configure_rules, regions, include_checks...: any of them
                # changes what the organization's cfn-lint run reports.
                keys = ", ".join(sorted(map(str, config)))
                found["cfn-lint"].append(f"{relpath}: {where} sets cfn-lint config {keys}")
            for vendor in ("checkov", "bridgecrew"):
                skipper = metadata.get(vendor)
                skips = skipper.get("skip") if isinstance(skipper, dict) else None
                if skips:
                    entries = skips if isinstance(skips, list) else [skips]
                    ids = [s.get("id") if isinstance(s, dict) else s for s in entries]
                    found["checkov"].append(f"{relpath}: {where} skips {', '.join(map(str, ids))}")
        try:
            text = (root / relpath).read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        for line, content in enumerate(text.splitlines(), 1):
            if "checkov:skip" in content or "bridgecrew:skip" in content:
                found["checkov"].append(f"{relpath}: line {line} has a skip comment")
    return {tool: tuple(items) for tool, items in found.items() if items}
