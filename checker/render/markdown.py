"""Markdown for ``$GITHUB_STEP_SUMMARY`` and pull-request comments: verdict
first, break-glass and waivers visible, details folded away."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from checker.render.common import (
    break_glass_state,
    evidence_summary,
    first_paragraph,
    label,
    open_findings,
    resource_label,
    results,
    waived_findings,
    where,
)
from checker.ruleapi import RuleMeta


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render(statement: Mapping[str, Any], rules: Mapping[str, RuleMeta]) -> str:
    predicate = statement["predicate"]
    policy = predicate["policy"]
    verdict = predicate["verdict"]
    out = [f"## {'✅ checker: PASS' if verdict == 'pass' else '❌ checker: FAIL'}", ""]
    glass = predicate.get("break_glass")
    if glass:
        state, approved = break_glass_state(glass)
        out += [
            f"> [!CAUTION]\n> **Break glass ({state})**: incident {glass['incident']}{approved}, "
            f"until {glass['expires']}. {glass['reason']}"
            + (f" Lets through: {', '.join(glass['overridden'])}." if glass["overridden"] else ""),
            "",
        ]
    subjects = ", ".join(f"`{s['name']}`" for s in statement["subject"])
    out.append(
        f"Policy **{policy['name']} {policy['version']}** (`{policy['digest'][:19]}…`) · "
        f"{predicate['summary']['templates']} template(s) · subject {subjects}"
        + (f" · env {predicate['env']}" if predicate.get("env") else "")
    )
    out += ["", "| rule | result | severity | findings | title |", "|---|---|---|---|---|"]
    for result in results(statement):
        count = sum(1 for _ in open_findings(result))
        waived = sum(1 for _ in waived_findings(result))
        found = f"{count}" + (f" (+{waived} waived)" if waived else "")
        out.append(
            f"| {result['rule']} | {label(result)} | {result['severity']} | {found} | {_cell(result['title'])} |"
        )
    out.append("")
    for result in results(statement):
        findings = list(open_findings(result))
        if not findings and result["status"] != "error":
            continue
        out += [
            f"<details><summary><b>{label(result)} {result['rule']}</b>: {_cell(result['title'])} "
            f"({len(findings)})</summary>",
            "",
        ]
        meta = rules.get(result["rule"])
        if meta is not None:
            out += [
                f"**Why:** {first_paragraph(meta.rationale)}",
                "",
                f"**Fix:** {first_paragraph(meta.remediation)}",
                "",
            ]
        for error in result.get("errors", []):
            out.append(f"- error: {_cell(error)}")
        if findings:
            out += ["| location | resource | message |", "|---|---|---|"]
            out += [
                f"| `{where(f)}` | {_cell(resource_label(f['location']))} | {_cell(f['message'])} |" for f in findings
            ]
        out += ["", "</details>", ""]
    evidence = evidence_summary(predicate.get("evidence", []))
    if evidence:
        out += ["### Evidence", "", *(f"- {_cell(line)}" for line in evidence), ""]
    waivers = predicate["waivers"]
    rows = [(state, w) for state in ("applied", "expired", "unused", "ignored") for w in waivers[state]]
    if rows:
        out += [
            "### Waivers",
            "",
            "| state | rule | approved by | expires | reason | source |",
            "|---|---|---|---|---|---|",
        ]
        out += [
            f"| {state} | {w['rule']} | {w.get('approved_by', '')} | {w.get('expires', '')} | "
            f"{_cell(w.get('reason') or w.get('why', ''))} | `{w['source']}` |"
            for state, w in rows
        ]
        out.append("")
    return "\n".join(out) + "\n"
