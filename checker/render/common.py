"""Small helpers the renderers share."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

LEVELS = {"error": "error", "warn": "warning", "off": "note"}


def results(statement: Mapping[str, Any]) -> list[dict[str, Any]]:
    return list(statement["predicate"]["results"])


def label(result: Mapping[str, Any]) -> str:
    """What a person should read a result as: FAIL, WARN, ERROR, WAIVED, PASS, SKIPPED."""
    status = result["status"]
    if status == "fail":
        return "FAIL" if result["enforce"] == "error" else "WARN"
    return str(status).upper()


def open_findings(result: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    return (f for f in result["findings"] if "waived_by" not in f)


def waived_findings(result: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    return (f for f in result["findings"] if "waived_by" in f)


def where(finding: Mapping[str, Any]) -> str:
    loc = finding["location"]
    return f"{loc['path']}:{loc['line']}" if loc.get("line") else str(loc["path"])


def resource_label(location: Mapping[str, Any]) -> str:
    """The resource a finding is on, with the CDK construct that made it when
    the template was synthesized: the hashed logical id is not what a
    developer edits."""
    resource = location.get("resource") or ""
    construct = location.get("construct")
    return f"{resource} (construct {construct})" if construct else resource


def first_paragraph(text: str) -> str:
    return " ".join(text.strip().split("\n\n")[0].split())


def evidence_summary(entries: Sequence[Mapping[str, Any]]) -> list[str]:
    """One line per coverage report and per scan: what the verdict rests on."""
    lines = []
    for entry in entries:
        if entry["kind"] == "coverage":
            branches = f", branches {entry['branch_percent']}%" if entry["branch_percent"] is not None else ""
            stale = " STALE" if entry["stale"] else ""
            figure = "no executable line" if entry["line_percent"] is None else f"lines {entry['line_percent']}%"
            lines.append(f"coverage: {entry['path']} ({entry['format']}): {figure}{branches}{stale}")
        elif entry["kind"] == "coverage-scope":
            lines += _scope_lines(entry)
        elif entry.get("required"):
            counts = {k: v for k, v in entry["counts"].items() if v}
            total = sum(counts.values())
            detail = (
                f"{total} finding(s) ({', '.join(f'{v} {k}' for k, v in counts.items())})" if total else "no findings"
            )
            scanned = entry["required_files"] - entry["uncovered_count"]
            version = f" {entry['version']}" if entry["version"] else ""
            how = "/".join(entry["obtained"]) or "missing"
            lines.append(
                f"scan: {entry['tool']}{version} ({how}): {scanned} of {entry['required_files']} file(s), "
                f"{detail}; blocks {entry['threshold']} and above"
            )
    return lines


def _listed(paths: Sequence[str], limit: int = 5) -> str:
    return ", ".join(paths[:limit]) + (f" and {len(paths) - limit} more" if len(paths) > limit else "")


def _scope_lines(entry: Mapping[str, Any]) -> list[str]:
    """What coverage was measured over, when anything besides the reports' files counts or was left out."""
    lines = []
    if entry["current_reports"]:
        figure = "no executable line" if entry["line_percent"] is None else f"lines {entry['line_percent']}%"
        branches = f", branches {entry['branch_percent']}%" if entry["branch_percent"] is not None else ""
        lines.append(
            f"coverage judged: {figure}{branches} ({entry['lines_covered']} of {entry['lines_total']} lines), "
            f"merged over {len(entry['current_reports'])} current report(s)"
        )
    if entry["sources"]:
        line = f"coverage sources: {entry['sources']} file(s), named by {', '.join(entry['defined_by'])}"
        if entry["unmeasured"]:
            line += f"; {len(entry['unmeasured'])} in no report count as uncovered: {_listed(entry['unmeasured'])}"
        lines.append(line)
    if entry["omitted"]:
        omitted = [o["path"] for o in entry["omitted"]]
        lines.append(f"coverage omitted by the team's configuration (delegated): {_listed(omitted)}")
    if entry["omit_refused"]:
        refused = [f"{o['path']} ({o['by']})" for o in entry["omit_refused"]]
        lines.append(f"coverage omits refused (outside delegate.coverage_omit, still counted): {_listed(refused)}")
    unread: dict[str, list[str]] = {}
    for text in entry["unread"]:
        name, _, why = text.partition(": ")
        unread.setdefault(why, []).append(name)
    lines += [f"coverage configuration not read ({why}): {_listed(names)}" for why, names in unread.items()]
    if entry["unreported"]:
        counted = [f"{u['path']} ({u['lines']})" for u in entry["unreported"]]
        lines.append(f"coverage: statements the reports left out (exclusions) count, uncovered: {_listed(counted)}")
    return lines


def break_glass_state(glass: Mapping[str, Any]) -> tuple[str, str]:
    """(state, approval) of a break-glass record, for a sentence: "active" or
    why it was not applied, and ", approved by ..." when it was approved."""
    state = "active" if glass["active"] else f"not applied: {glass.get('refused') or 'expired'}"
    approved = f", approved by {glass['approved_by']}" if glass.get("approved_by") else ""
    return state, approved
