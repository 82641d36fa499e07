"""The fields of the repository-scope views (built in
:mod:`checker.facts.repository`), apart from their builders so that listing
the views costs no import of the evidence machinery."""

from __future__ import annotations

_TOTALS = ("lines_total", "lines_covered", "line_percent", "branches_total", "branches_covered", "branch_percent")

FIELDS: dict[str, tuple[str, ...]] = {
    "coverage": (
        "path",
        "reports",
        "current_reports",
        "stale_reports",
        "has_branches",
        *_TOTALS,
    ),
    "coverage_reports": (
        "path",
        "format",
        "sha256",
        "files",
        "unresolved",
        "has_branches",
        "produced",
        "sources_changed",
        "stale",
        "stale_reasons",
        *_TOTALS,
    ),
    "coverage_files": (
        "path",
        "missing_lines",
        *_TOTALS,
    ),
    "new_code_coverage": (
        "path",
        "base_ref",
        "merge_base",
        "lines_total",
        "lines_covered",
        "line_percent",
        "uncovered",
        "unmeasured_files",
    ),
    "scans": (
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
    ),
    "scan_findings": ("path", "line", "tool", "rule_id", "severity", "rated", "message", "threshold", "blocking"),
    "repo_files": ("path", "name", "secret_name", "markers", "line"),
    "repo": ("path", "in_git", "commit", "branch", "dirty", "files", "templates", "codeowners", "codeowners_entries"),
}
