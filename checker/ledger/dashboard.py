"""``checker ledger dashboard``: the questions as a static, self-contained site.

One HTML file per question and per repository, with the charts drawn as
inline SVG when the site is built: no script, no server, nothing fetched at
view time, so it can be published to any bucket or opened from disk. Every
value shown comes from reports the teams signed, so every one is escaped.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from checker.ledger.query import NAMES, Params, Table, run, sql_of

if TYPE_CHECKING:
    import duckdb

_TITLES = {
    "compliance": "Compliance by repository and environment",
    "failing": "Repositories whose last build failed",
    "waivers-expiring": "Waivers expiring soon",
    "break-glass": "Break-glass use",
    "releases": "Releases: verifications by the release side",
    "rule-trend": "Findings per rule, per week",
    "unverified": "Not authentic: forged, unsigned or malformed reports and records",
}

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
header{background:#1d2330;color:#fff;padding:14px 24px}header a{color:#cfe0ff;margin-right:14px;text-decoration:none}
header h1{font-size:18px;margin:0 0 6px}main{padding:18px 24px;max-width:1200px}
h2{font-size:16px;margin:22px 0 8px}.muted{color:#5b6577}
table{border-collapse:collapse;width:100%;background:#fff;margin:6px 0 16px}
th,td{border-bottom:1px solid #e3e6eb;padding:6px 8px;text-align:left;vertical-align:top}
th{background:#eef1f5;font-weight:600}td.num{text-align:right}
.ok{color:#11683a;font-weight:600}.bad{color:#b3261e;font-weight:600}
.cards{display:flex;gap:12px;flex-wrap:wrap}
.card{background:#fff;border:1px solid #e3e6eb;padding:10px 14px;min-width:150px}
.card b{display:block;font-size:22px}.scroll{overflow-x:auto}td ul{margin:0;padding-left:16px}
svg{background:#fff;border:1px solid #e3e6eb}
"""


@dataclass(frozen=True, slots=True)
class Site:
    pages: tuple[Path, ...]


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _cell(column: str, value: Any, repo_links: bool) -> str:
    text = html.escape(_text(value))
    if column in ("compliant", "fixed_after", "accepted", "authentic") and isinstance(value, bool):
        return f'<td class="{"ok" if value else "bad"}">{text}</td>'
    if column == "verdict" or column == "last_verdict":
        return f'<td class="{"ok" if value == "pass" else "bad"}">{text}</td>'
    if column == "repository" and repo_links and value:
        return f'<td><a href="repo/{_slug(str(value))}.html">{text}</a></td>'
    if column == "reasons" and isinstance(value, str):
        try:
            reasons = json.loads(value)
        except ValueError:
            reasons = None
        if isinstance(reasons, list):
            items = "".join(
                f"<li><b>{html.escape(str(r.get('code')))}</b> {html.escape(str(r.get('message')))}</li>"
                for r in reasons
                if isinstance(r, dict)
            )
            return f"<td><ul>{items}</ul></td>" if items else "<td></td>"
    if column in ("commit_sha", "report_sha256") and isinstance(value, str):
        return f'<td title="{text}"><code>{html.escape(value[:12])}</code></td>'
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f'<td class="num">{text}</td>'
    return f"<td>{text}</td>"


def _table(table: Table, repo_links: bool = True, prefix: str = "") -> str:
    if not table.rows:
        return '<p class="muted">None.</p>'
    head = "".join(f"<th>{html.escape(c)}</th>" for c in table.columns)
    body = "".join(
        "<tr>" + "".join(_cell(c, v, repo_links) for c, v in zip(table.columns, row, strict=True)) + "</tr>"
        for row in table.rows
    )
    out = f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'
    return out.replace('href="repo/', f'href="{prefix}repo/') if prefix else out


def _slug(name: str) -> str:
    """A file name for a repository's page, unique per name: "billing" and
    "billing " (or any two names that read alike) never share a page."""
    readable = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_.")[:80] or "unnamed"
    return f"{readable}-{hashlib.sha256(name.encode('utf-8', 'surrogatepass')).hexdigest()[:10]}"


def bar_chart(title: str, labels: Sequence[str], series: Sequence[tuple[str, str, Sequence[float]]]) -> str:
    """A stacked bar chart as inline SVG: ``series`` is (name, colour, values)."""
    width, height, left, bottom, top = 760, 240, 44, 40, 28
    count = max(len(labels), 1)
    totals = [sum(values[i] for _, _, values in series) for i in range(len(labels))]
    peak = max([*totals, 1.0])
    slot = (width - left - 10) / count
    bar = max(slot * 0.7, 2)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}"><title>{html.escape(title)}</title>',
        f'<text x="{left}" y="18" font-size="13" font-weight="600">{html.escape(title)}</text>',
        f'<line x1="{left}" y1="{height - bottom}" x2="{width - 6}" y2="{height - bottom}" stroke="#9aa3b2"/>',
        f'<text x="{left - 6}" y="{top + 4}" font-size="11" text-anchor="end">{_text(peak)}</text>',
        f'<text x="{left - 6}" y="{height - bottom}" font-size="11" text-anchor="end">0</text>',
    ]
    scale = (height - bottom - top) / peak
    for i, label in enumerate(labels):
        x = left + i * slot + (slot - bar) / 2
        y = float(height - bottom)
        for name, colour, values in series:
            h = values[i] * scale
            if h > 0:
                y -= h
                parts.append(
                    f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" fill="{colour}">'
                    f"<title>{html.escape(label)}: {html.escape(name)} {_text(values[i])}</title></rect>"
                )
        if count <= 16 or i % max(count // 12, 1) == 0:
            parts.append(
                f'<text x="{x + bar / 2:.1f}" y="{height - bottom + 14}" font-size="10" '
                f'text-anchor="middle">{html.escape(label)}</text>'
            )
    legend_x = left
    for name, colour, _ in series:
        parts.append(f'<rect x="{legend_x}" y="{height - 16}" width="10" height="10" fill="{colour}"/>')
        parts.append(f'<text x="{legend_x + 14}" y="{height - 7}" font-size="11">{html.escape(name)}</text>')
        legend_x += 16 + 7 * len(name) + 18
    parts.append("</svg>")
    return "".join(parts)


def _naive(moment: datetime) -> datetime:
    """The UTC wall time DuckDB compares the views' timestamps with."""
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def _page(title: str, body: str, depth: int, as_of: datetime) -> str:
    up = "../" * depth
    nav = f'<a href="{up}index.html">Overview</a>' + "".join(
        f'<a href="{up}{name}.html">{html.escape(name)}</a>' for name in NAMES
    )
    stamp = as_of.strftime("%Y-%m-%d %H:%M UTC")
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        # Nothing runs and nothing is fetched, whatever a team's report managed to put in a value.
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">"
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>"
        f"<header><h1>{html.escape(title)}</h1><nav>{nav}</nav></header>"
        f'<main><p class="muted">As of {stamp}. Compliant: verified under the organization\'s expectations '
        "when the ledger first saw the report.</p>"
        f"{body}</main></body></html>\n"
    )


def _weekly(db: duckdb.DuckDBPyConnection, as_of: datetime, where: str = "TRUE", args: Sequence[Any] = ()) -> str:
    rows = db.execute(
        "SELECT CAST(date_trunc('week', finished_at) AS DATE) AS week, "
        "SUM(CASE WHEN verdict = 'pass' AND compliant THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN verdict = 'pass' AND NOT compliant THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN verdict <> 'pass' OR verdict IS NULL THEN 1 ELSE 0 END) "
        f"FROM reports WHERE finished_at <= ? AND {where} GROUP BY 1 ORDER BY 1",
        [_naive(as_of), *args],
    ).fetchall()
    labels = [r[0].isoformat() for r in rows]
    return bar_chart(
        "Builds per week",
        labels,
        [
            ("passed, compliant", "#2e7d4f", [float(r[1]) for r in rows]),
            ("passed, not verified", "#e0a100", [float(r[2]) for r in rows]),
            ("failed", "#c0392b", [float(r[3]) for r in rows]),
        ],
    )


def build(db: duckdb.DuckDBPyConnection, folder: Path, as_of: datetime, days: int = 14) -> Site:
    """Write the site into ``folder``; the pages written."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "repo").mkdir(exist_ok=True)
    written: list[Path] = []
    answers = {name: run(db, sql_of(name), Params(as_of, days)) for name in NAMES if name != "rule-trend"}

    def write(relpath: str, text: str) -> None:
        path = folder / relpath
        path.write_text(text, encoding="utf-8")
        written.append(path)

    compliance = answers["compliance"]
    index = {c: i for i, c in enumerate(compliance.columns)}
    compliant = sum(1 for r in compliance.rows if r[index["compliant"]] and r[index["verdict"]] == "pass")
    cards = (
        f'<div class="cards"><div class="card"><b>{len(compliance.rows)}</b>repositories and environments</div>'
        f'<div class="card"><b class="ok">{compliant}</b>last build compliant</div>'
        f'<div class="card"><b class="bad">{len(answers["failing"].rows)}</b>failing</div>'
        f'<div class="card"><b>{len(answers["waivers-expiring"].rows)}</b>waivers expiring in {days} days</div>'
        f'<div class="card"><b>{len(answers["break-glass"].rows)}</b>break-glass uses</div></div>'
    )
    write(
        "index.html",
        _page(
            "Compliance ledger",
            cards
            + "<h2>Builds per week</h2>"
            + _weekly(db, as_of)
            + "<h2>Failing now</h2>"
            + _table(answers["failing"])
            + "<h2>Compliance</h2>"
            + _table(compliance),
            0,
            as_of,
        ),
    )
    for name, table in answers.items():
        write(f"{name}.html", _page(_TITLES[name], _table(table), 0, as_of))
    write("rule-trend.html", _page(_TITLES["rule-trend"], _rule_trends(db, as_of), 0, as_of))
    for (repository,) in db.execute(
        "SELECT DISTINCT repository FROM reports WHERE repository IS NOT NULL ORDER BY 1"
    ).fetchall():
        write(f"repo/{_slug(repository)}.html", _page(repository, _repository(db, repository, as_of), 1, as_of))
    return Site(tuple(written))


def _rule_trends(db: duckdb.DuckDBPyConnection, as_of: datetime) -> str:
    rules = [
        r[0]
        for r in db.execute(
            "SELECT x.rule FROM report_rules x JOIN reports r ON r.digest = x.digest "
            "WHERE r.finished_at <= ? GROUP BY x.rule HAVING SUM(x.findings) > 0 ORDER BY SUM(x.findings) DESC, x.rule",
            [_naive(as_of)],
        ).fetchall()
    ]
    if not rules:
        return '<p class="muted">No findings.</p>'
    parts = []
    for rule in rules[:20]:
        table = run(db, sql_of("rule-trend"), Params(as_of, rule=rule))
        labels = [_text(r[0]) for r in table.rows]
        parts.append(
            f"<h2>{html.escape(rule)}</h2>"
            + bar_chart(
                f"{rule}: findings per week",
                labels,
                [("findings", "#3b6fb6", [float(r[3] or 0) for r in table.rows])],
            )
        )
    return "".join(parts)


def _repository(db: duckdb.DuckDBPyConnection, repository: str, as_of: datetime) -> str:
    cursor = db.execute(
        "SELECT finished_at, env, verdict, compliant, policy_version, waivers_applied, break_glass_active, "
        "commit_sha, reasons FROM reports WHERE repository = ? AND finished_at <= ? ORDER BY finished_at DESC",
        [repository, _naive(as_of)],
    )
    columns = tuple(d[0] for d in cursor.description or ())
    history = Table(columns, tuple(tuple(r) for r in cursor.fetchall()))
    chart = _weekly(db, as_of, "repository = ?", [repository])
    return "<h2>Builds per week</h2>" + chart + "<h2>Reports</h2>" + _table(history, repo_links=False)
