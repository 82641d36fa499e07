"""The ``coverage`` view: one record, coverage merged over the current reports."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from checker.facts.repository.inputs import TOTALS, project, totals

if TYPE_CHECKING:
    from checker.facts.repository import RepositoryFacts

FIELDS = (
    "path",
    "reports",
    "current_reports",
    "stale_reports",
    "has_branches",
    *TOTALS,
    "sources",
    "sources_defined_by",
    "unmeasured",
    "omitted",
    "omit_refused",
    "unread_configs",
)


def build(facts: RepositoryFacts) -> list[dict[str, Any]]:
    merged = facts.current_coverage
    reports = facts.view("coverage_reports")
    scope = facts.inputs.coverage_scope
    return [
        {
            "path": project(facts.inputs),
            "reports": [r["path"] for r in reports],
            "current_reports": [r["path"] for r in reports if not r["stale"]],
            "stale_reports": sorted(r["path"] for r in reports if r["stale"]),
            "has_branches": any(c.branches for c in merged.values()),
            **totals(merged),
            "sources": len(scope.sources),
            "sources_defined_by": list(scope.defined_by),
            "unmeasured": facts.unmeasured,
            "omitted": sorted(scope.omitted),
            "omit_refused": sorted(scope.refused),
            "unread_configs": list(scope.unread),
        }
    ]
