"""The ``coverage_reports`` view: one record per coverage evidence file."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from checker.facts.repository.inputs import TOTALS, iso, staleness, totals

if TYPE_CHECKING:
    from checker.facts.repository import RepositoryFacts

FIELDS = (
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
    *TOTALS,
)


def build(facts: RepositoryFacts) -> list[dict[str, Any]]:
    inputs = facts.inputs
    records = []
    for report in inputs.coverage:
        # Stale means older than its sources; names the repository lacks are
        # listed (COV005 reports them) but do not drop the files it does name.
        reasons, age = staleness(inputs, ("coverage", report.source.relpath), ())
        records.append(
            {
                "path": report.source.relpath,
                "format": report.source.format,
                "sha256": report.source.sha256,
                "files": len(report.files),
                "unresolved": list(report.unresolved),
                "has_branches": report.has_branches,
                "produced": iso(age.produced),
                "sources_changed": iso(age.changed[1]) if age.changed else None,
                "stale": bool(reasons),
                "stale_reasons": reasons,
                **totals(report.files),
            }
        )
    return records
