"""Terminal output: findings grouped by rule and file, each ``file:line``
first so that editors and terminals link it, then why and how to fix."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from itertools import groupby
from typing import Any

from checker.render.common import break_glass_state, evidence_summary, resource_label
from checker.ruleapi import RuleMeta

_STATUS_STYLE = {
    "fail": "31;1",
    "error": "35;1",
    "pass": "32",
    "skipped": "2",
    "waived": "36",
    "warn": "33;1",
}


# The summary's rule counts, in the order and words the verdict line uses.
_TALLY = {
    "fail": "failed",
    "error": "errored",
    "warn": "warned",
    "pass": "passed",
    "waived": "waived",
    "skipped": "skipped",
}

def _style(text: str, code: str, color: bool) -> str:
    return f"\033[{code}m{text}\033[0m" if color else text


def _first_paragraph(text: str) -> str:
    return " ".join(text.strip().split("\n\n")[0].split())


def _wrap(label: str, text: str) -> list[str]:
    return textwrap.wrap(
        _first_paragraph(text),
        width=96,
        initial_indent=f"    {label}: ",
        subsequent_indent=" " * (6 + len(label)),
    )


def render(statement: Mapping[str, Any], rules: Mapping[str, RuleMeta], *, color: bool) -> str:
    predicate = statement["predicate"]
    lines: list[str] = []
    glass = predicate.get("break_glass")
    if glass:
        state, approved = break_glass_state(glass)
        state = state.upper() if glass["active"] else state.replace("not applied", "NOT APPLIED", 1)
        lines.append(
            _style(
                f"BREAK GLASS {state}: incident {glass['incident']}{approved}, until {glass['expires']}",
                _STATUS_STYLE["error"],
                color,
            )
        )
        lines.append(f"  {glass['reason']}")
        if glass["overridden"]:
            lines.append(
                f"  lets through: {', '.join(glass['overridden'])} (verify rejects this report "
                "unless --allow-break-glass)"
            )
        lines.append("")
    shown = [r for r in predicate["results"] if r["status"] in ("fail", "error")]
    for result in shown:
        label = "ERROR" if result["status"] == "error" else ("FAIL" if result["enforce"] == "error" else "WARN")
        style = {"ERROR": "error", "FAIL": "fail", "WARN": "warn"}[label]
        lines.append(
            f"{_style(label, _STATUS_STYLE[style], color)} {result['rule']} {result['title']} "
            f"[{result['severity']}, {result['enforce']}]"
        )
        for error in result.get("errors", []):
            lines.append(f"  {error}")
        findings = result["findings"]
        for path, group in groupby(findings, key=lambda f: f["location"]["path"]):
            for finding in group:
                loc = finding["location"]
                where = f"{path}:{loc['line']}" if loc["line"] else path
                resource = f" {resource_label(loc)}" if loc["resource"] else ""
                lines.append(f"  {where}{resource}: {finding['message']}")
        meta = rules.get(result["rule"])
        if meta is not None and findings:
            lines.extend(_wrap("why", meta.rationale))
            lines.extend(_wrap("fix", meta.remediation))
        lines.append("")
    waivers = predicate.get("waivers", {})
    for relaxation in predicate.get("relaxations", []):
        if relaxation["kind"] == "break-glass":
            continue  # shown first, above
        if relaxation["status"] == "approved":
            who = ", ".join(f"{a['owner']} ({a['keyid'][:12]})" for a in relaxation["approvals"] if a["valid"])
            lines.append(f"note: {relaxation['kind']} {relaxation['source']} approved by {who}")
        else:
            lines.append(f"note: {relaxation['kind']} {relaxation['source']} NOT APPLIED: {relaxation['why']}")
    for state, words in (("expired", "expired, no longer waives"), ("unused", "matched nothing")):
        for waiver in waivers.get(state, []):
            where = f"{waiver['rule']} at {waiver['source']}"
            lines.append(f"note: waiver for {where} {words} (expires {waiver['expires']})")
    applied = waivers.get("applied", [])
    if applied:
        count = sum(w["matched"] for w in applied)
        lines.append(f"note: {len(applied)} waiver(s) applied to {count} finding(s)")
    lines.extend(evidence_summary(predicate.get("evidence", [])))
    for template in predicate.get("templates", []):
        if template.get("copies"):
            lines.append(f"note: judged as {template['path']} (identical, untracked): {', '.join(template['copies'])}")
    for skipped in predicate.get("skipped_paths", []):
        lines.append(f"note: skipped {skipped['path']}: {skipped['reason']}")
    counted = predicate["summary"]["rules"]
    tally = {word: counted.get(status, 0) for status, word in _TALLY.items()}
    verdict = predicate["verdict"].upper()
    templates = predicate["summary"]["templates"]
    policy = predicate["policy"].get("bundle") or predicate["policy"]
    parts = [f"{count} {word}" for word, count in tally.items() if count]
    lines.append(
        f"{_style(verdict, _STATUS_STYLE['pass' if verdict == 'PASS' else 'fail'], color)}: "
        f"rules {', '.join(parts) or 'none'}; {predicate['summary']['findings']} finding(s), "
        f"{templates} template(s) judged; policy {policy['name']} {policy['version']} ({policy['digest']})"
    )
    return "\n".join(lines) + "\n"
