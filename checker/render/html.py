"""One self-contained HTML page for the approver at a manual release gate:
verdict, policy and digests, subject, commit, findings by rule, waivers.
No script, no external resource: it opens the same anywhere, offline."""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
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

_STYLE = """
body{font:15px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:72rem;
color:#1f2328;padding:0 1rem}
h1{font-size:1.6rem;margin:.2rem 0}.verdict{display:inline-block;padding:.3rem .9rem;border-radius:.4rem;
color:#fff;font-weight:700}.pass{background:#1a7f37}.fail{background:#cf222e}
.glass{border:2px solid #cf222e;background:#ffebe9;padding:.8rem 1rem;border-radius:.4rem;margin:1rem 0}
table{border-collapse:collapse;width:100%;margin:.6rem 0 1.2rem}th,td{border:1px solid #d0d7de;
padding:.35rem .55rem;text-align:left;vertical-align:top}th{background:#f6f8fa}
code{font:13px ui-monospace,SFMono-Regular,Menlo,monospace;word-break:break-all}
.FAIL,.ERROR{color:#cf222e;font-weight:700}.WARN{color:#9a6700;font-weight:700}.PASS{color:#1a7f37}
.WAIVED,.SKIPPED{color:#57606a}section{margin-top:1.4rem}dl{display:grid;grid-template-columns:max-content 1fr;
gap:.2rem 1rem}dt{color:#57606a}dd{margin:0}
"""


def _e(value: Any) -> str:
    return escape(str(value if value is not None else ""))


def render(statement: Mapping[str, Any], rules: Mapping[str, RuleMeta]) -> str:
    predicate = statement["predicate"]
    policy, source = predicate["policy"], predicate.get("source") or {}
    verdict = predicate["verdict"]
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        # A strict policy: the page may load nothing at all from anywhere.
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">",
        f"<title>checker report: {_e(verdict.upper())}</title><style>{_STYLE}</style></head><body>",
        f'<h1>Compliance report <span class="verdict {_e(verdict)}">{_e(verdict.upper())}</span></h1>',
    ]
    glass = predicate.get("break_glass")
    if glass:
        state, approved = break_glass_state(glass)
        parts.append(
            f'<div class="glass"><b>Break glass ({_e(state)})</b>: '
            f"incident {_e(glass['incident'])}{_e(approved)}, until {_e(glass['expires'])}."
            f" {_e(glass['reason'])}"
            + (f" Lets through: {_e(', '.join(glass['overridden']))}." if glass["overridden"] else "")
            + "</div>"
        )
    subjects = "<br>".join(
        f"<code>{_e(s['name'])}</code> {_e(', '.join(f'{k}:{v}' for k, v in s['digest'].items()))}"
        for s in statement["subject"]
    )
    layers = "<br>".join(
        f"{_e(layer['role'])}: {_e(layer['name'])} {_e(layer['version'])} <code>{_e(layer['digest'])}</code>"
        for layer in policy["layers"]
    )
    ci = predicate.get("ci") or {}
    parts += [
        "<section><dl>",
        f"<dt>Subject</dt><dd>{subjects}</dd>",
        f"<dt>Policy</dt><dd>{_e(policy['name'])} {_e(policy['version'])} <code>{_e(policy['digest'])}</code></dd>",
        f"<dt>Layers</dt><dd>{layers}</dd>",
        f"<dt>Commit</dt><dd><code>{_e(source.get('commit', 'not in git'))}</code> {_e(source.get('branch') or '')}"
        + (" (uncommitted changes)" if source.get("dirty") else "")
        + "</dd>",
        f"<dt>Environment</dt><dd>{_e(predicate.get('env') or 'not set')}</dd>",
        f"<dt>Run</dt><dd>{_e(ci.get('system', 'local'))} {_e(ci.get('run_url', ''))} {_e(ci.get('actor', ''))}</dd>",
        f"<dt>Checked</dt><dd>{predicate['summary']['templates']} template(s), "
        f"{_e(predicate['timestamps']['finished'])} by checker {_e(predicate['tool']['version'])}</dd>",
        "</dl></section>",
        "<section><h2>Rules</h2><table><tr><th>rule</th><th>result</th><th>severity</th><th>findings</th>"
        "<th>title</th></tr>",
    ]
    for result in results(statement):
        count = sum(1 for _ in open_findings(result))
        waived = sum(1 for _ in waived_findings(result))
        lab = label(result)
        parts.append(
            f'<tr><td>{_e(result["rule"])}</td><td class="{lab}">{lab}</td><td>{_e(result["severity"])}</td>'
            f"<td>{count}{f' (+{waived} waived)' if waived else ''}</td><td>{_e(result['title'])}</td></tr>"
        )
    parts.append("</table></section>")
    for result in results(statement):
        if not result["findings"] and not result.get("errors"):
            continue
        lab = label(result)
        parts.append(f'<section><h3 class="{lab}">{lab} {_e(result["rule"])}: {_e(result["title"])}</h3>')
        meta = rules.get(result["rule"])
        if meta is not None:
            parts.append(
                f"<p><b>Why:</b> {_e(first_paragraph(meta.rationale))}<br>"
                f"<b>Fix:</b> {_e(first_paragraph(meta.remediation))}</p>"
            )
        parts += [f'<p class="ERROR">{_e(error)}</p>' for error in result.get("errors", [])]
        parts.append("<table><tr><th>location</th><th>resource</th><th>message</th><th>waived by</th></tr>")
        parts += [
            f"<tr><td><code>{_e(where(f))}</code></td><td>{_e(resource_label(f['location']))}</td>"
            f"<td>{_e(f['message'])}</td><td>{_e(f.get('waived_by', ''))}</td></tr>"
            for f in result["findings"]
        ]
        parts.append("</table></section>")
    evidence = evidence_summary(predicate.get("evidence", []))
    if evidence:
        parts.append(
            "<section><h2>Evidence</h2><ul>" + "".join(f"<li>{_e(line)}</li>" for line in evidence) + "</ul></section>"
        )
    waivers = predicate["waivers"]
    rows = [(state, w) for state in ("applied", "expired", "unused", "ignored") for w in waivers[state]]
    if rows:
        parts.append(
            "<section><h2>Waivers</h2><table><tr><th>state</th><th>rule</th><th>approved by</th>"
            "<th>expires</th><th>ticket</th><th>reason</th><th>source</th></tr>"
        )
        parts += [
            f"<tr><td>{_e(state)}</td><td>{_e(w['rule'])}</td><td>{_e(w.get('approved_by'))}</td>"
            f"<td>{_e(w.get('expires'))}</td><td>{_e(w.get('ticket'))}</td>"
            f"<td>{_e(w.get('reason') or w.get('why'))}</td><td><code>{_e(w['source'])}</code></td></tr>"
            for state, w in rows
        ]
        parts.append("</table></section>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
