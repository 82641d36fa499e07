"""The ``scan_findings`` view: one record per finding of a required scan."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from checker.facts.repository.scans import reports_for, tool_findings
from checker.ruleapi import SEVERITY_RANK

if TYPE_CHECKING:
    from checker.facts.repository import RepositoryFacts

FIELDS = ("path", "line", "tool", "rule_id", "severity", "rated", "message", "threshold", "blocking")


def build(facts: RepositoryFacts) -> list[dict[str, Any]]:
    inputs = facts.inputs
    records = []
    for tool, requirement in inputs.requirements.items():
        for finding in tool_findings(reports_for(inputs, tool), requirement, inputs.repository):
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
