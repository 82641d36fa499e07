"""The report: an in-toto Statement v1 with checker's compliance predicate.

``build_statement`` is a pure function of the run's results; the predicate
is documented by ``checker/schemas/report-predicate.schema.json``. Results,
findings and templates are sorted, so the same inputs give the same bytes
apart from timestamps and run facts.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

from checker import __version__
from checker.discovery import Skipped
from checker.engine import Evaluation, RuleResult, describe_findings
from checker.policy import Policy
from checker.provenance import SourceFacts

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://checker.dev/compliance-report/v1"
TOOL_NAME = "checker"


def report_schema() -> dict[str, Any]:
    """The JSON Schema of a report (Statement + predicate), as published."""
    text = resources.files("checker").joinpath("schemas", "report.schema.json").read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@dataclass(frozen=True, slots=True)
class Subject:
    name: str
    digest: Mapping[str, str]


def _result(result: RuleResult) -> dict[str, Any]:
    out: dict[str, Any] = {
        "rule": result.meta.id,
        "title": result.meta.title,
        "status": result.status,
        "reason": result.reason,
        "severity": result.setting.severity,
        "enforce": result.setting.enforce,
        "tags": list(result.meta.tags),
        "findings": describe_findings(result),
    }
    if result.setting.scope.describe():
        out["scope"] = result.setting.scope.describe()
    if result.errors:
        out["errors"] = list(result.errors)
    return out


def _waivers(evaluation: Evaluation) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {"applied": [], "expired": [], "unused": [], "ignored": []}
    for outcome in evaluation.waivers:
        out[outcome.state].append({**outcome.waiver.describe(), "matched": outcome.matched})
    for inline in evaluation.ignored_inline:
        out["ignored"].append(
            {
                "kind": "inline",
                "rule": str(inline.entry.get("rule")),
                "source": f"{inline.template}:{inline.entry.line}",
                "resource": inline.resource,
                "why": "the baseline does not allow inline suppressions",
            }
        )
    return out


def _break_glass(evaluation: Evaluation) -> dict[str, Any] | None:
    glass = evaluation.break_glass
    if glass is None:
        return None
    return {
        "incident": glass.incident,
        "approved_by": glass.approved_by,
        "reason": glass.reason,
        "expires": glass.expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "source": glass.source,
        "active": evaluation.break_glass_active,
        "overridden": evaluation.blocking if evaluation.break_glass_active else [],
    }


def build_statement(
    *,
    evaluation: Evaluation,
    policy: Policy,
    subjects: Sequence[Subject],
    source: SourceFacts | None,
    ci: Mapping[str, str] | None,
    skipped: Sequence[Skipped],
    evidence: Sequence[Mapping[str, Any]] = (),
    data_sources: Sequence[Mapping[str, str]] = (),
    templates_only: bool = False,
    started: str,
    finished: str,
) -> dict[str, Any]:
    results = [_result(r) for r in sorted(evaluation.results, key=lambda r: r.meta.id)]
    counts = {status: 0 for status in ("pass", "fail", "waived", "error", "skipped")}
    for r in evaluation.results:
        counts[r.status] += 1
    predicate: dict[str, Any] = {
        "verdict": evaluation.verdict,
        "tool": {"name": TOOL_NAME, "version": __version__},
        "policy": {
            "name": policy.name,
            "version": policy.version,
            "digest": policy.digest,
            "layers": [layer.describe() for layer in policy.layers],
        },
        "source": None
        if source is None
        else {
            "repository": source.repository,
            "commit": source.commit,
            "branch": source.branch,
            "dirty": source.dirty,
        },
        "ci": dict(ci) if ci else None,
        # What ran: a templates-only check (a pre-commit hook's) has no coverage,
        # scan or repository results, and verify refuses it unless told otherwise.
        "checked": "templates-only" if templates_only else "repository",
        "templates": [
            {
                "path": t.path,
                "sha256": t.sha256,
                "kind": t.kind,
                "stack": t.stack,
                "status": t.status,
                "resources": t.resources,
            }
            for t in evaluation.templates
        ],
        "skipped_paths": [{"path": s.relpath, "reason": s.reason} for s in skipped],
        "evidence": [dict(e) for e in evidence],
        # Reference data findings depend on (the IAM action catalogue), so a
        # finding can be reproduced later with the same data.
        "data_sources": [dict(d) for d in data_sources],
        "results": results,
        "summary": {
            "rules": counts,
            "findings": sum(len(r["findings"]) for r in results),
            "blocking": evaluation.blocking,
            "templates": len(evaluation.templates),
        },
        "env": policy.env,
        "waivers": _waivers(evaluation),
        "break_glass": _break_glass(evaluation),
        "timestamps": {"started": started, "finished": finished},
    }
    return {
        "_type": STATEMENT_TYPE,
        "subject": [{"name": s.name, "digest": dict(s.digest)} for s in subjects],
        "predicateType": PREDICATE_TYPE,
        "predicate": predicate,
    }
