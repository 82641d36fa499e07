"""The ``new_code_coverage`` view: one record, coverage of the lines changed
since the base ref."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from checker.facts.repository.inputs import percent, project, ranges
from checker.ruleapi import NotApplicable

if TYPE_CHECKING:
    from checker.facts.repository import RepositoryFacts

FIELDS = (
    "path",
    "base_ref",
    "merge_base",
    "lines_total",
    "lines_covered",
    "line_percent",
    "uncovered",
    "unmeasured_files",
)


def build(facts: RepositoryFacts) -> list[dict[str, Any]]:
    inputs = facts.inputs
    if inputs.base_ref is None or inputs.changed is None:
        raise NotApplicable("no base ref to compare with: pass --base-ref (set automatically in pull requests)")
    merge_base, changed = inputs.changed
    merged = facts.current_coverage
    prefix = inputs.repository.project
    total = covered = 0
    uncovered: dict[str, str] = {}
    unmeasured = []
    for path, lines in sorted(changed.items()):
        if prefix and not path.startswith(prefix + "/"):
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
            uncovered[path] = ranges(set(executable) - set(hit))
    return [
        {
            "path": project(inputs),
            "base_ref": inputs.base_ref,
            "merge_base": merge_base,
            "lines_total": total,
            "lines_covered": covered,
            "line_percent": percent(covered, total),
            "uncovered": uncovered,
            "unmeasured_files": unmeasured,
        }
    ]
