"""The ``coverage_files`` view: one record per covered source file."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from checker.facts.repository.inputs import TOTALS, ranges, totals

if TYPE_CHECKING:
    from checker.facts.repository import RepositoryFacts

FIELDS = ("path", "missing_lines", *TOTALS)


def build(facts: RepositoryFacts) -> list[dict[str, Any]]:
    return [
        {
            "path": path,
            "missing_lines": ranges(line for line, hit in cov.lines.items() if not hit),
            **totals({path: cov}),
        }
        for path, cov in sorted(facts.current_coverage.items())
    ]
