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
from checker.times import utc_text

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
    if result.meta.source:
        out["source"] = result.meta.source
    if result.meta.source_sha256:
        out["source_sha256"] = result.meta.source_sha256
    return out


def _waivers(evaluation: Evaluation) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {"applied": [], "expired": [], "unused": [], "ignored": []}
    for outcome in evaluation.waivers:
        out[outcome.state].append({**outcome.waiver.describe(), "matched": outcome.matched})
    for decision in evaluation.decisions:
        if not decision.approved:
            out["ignored"] += [{**w.describe(), "why": decision.why} for w in decision.relaxation.waivers]
    return out


def _break_glass(evaluation: Evaluation) -> dict[str, Any] | None:
    glass = evaluation.break_glass
    if glass is None:
        return None
    decision = next((d for d in evaluation.decisions if d.relaxation.break_glass is glass), None)
    approved = decision is not None and decision.approved
    refused = None
    if not approved:
        refused = decision.why if decision is not None else "not approved"
    elif not evaluation.break_glass_active:
        refused = "the break-glass record has expired"
    return {
        "incident": glass.incident,
        "approved_by": decision.approvers if decision is not None and approved else "",
        "reason": glass.reason,
        "expires": utc_text(glass.expires),
        "source": glass.source,
        "active": evaluation.break_glass_active,
        "refused": refused,
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
    inputs: Mapping[str, Any],
    bundle: Mapping[str, Any] | None = None,
    started: str,
    finished: str,
) -> dict[str, Any]:
    results = [_result(r) for r in sorted(evaluation.results, key=lambda r: r.meta.id)]
    # A rule that found something but is enforced as a warning is "warn",
    # not "fail": the counts say what the verdict rests on, as the text does.
    counts = {status: 0 for status in ("pass", "fail", "warn", "waived", "error", "skipped")}
    for r in evaluation.results:
        counts["warn" if r.status == "fail" and r.setting.enforce != "error" else r.status] += 1
    predicate: dict[str, Any] = {
        "verdict": evaluation.verdict,
        "tool": {"name": TOOL_NAME, "version": __version__},
        "policy": {
            "name": policy.name,
            "version": policy.version,
            "digest": policy.digest,
            "layers": [layer.describe() for layer in policy.layers],
            # The baseline itself (its digest is `digest`), so that verify can
            # check approvals against the approvers it names.
            "document": dict(policy.document),
            # The signed bundle the baseline came from, with its manifest and
            # signatures, so verify can check who published it.
            **({"bundle": dict(bundle)} if bundle is not None else {}),
        },
        "source": None if source is None else source.describe(),
        "vcs": "none" if source is None else "git",
        "inputs": dict(inputs),
        "relaxations": [d.describe() for d in evaluation.decisions],
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
                **({"copies": list(t.copies)} if t.copies else {}),
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
