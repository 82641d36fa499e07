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


def first_paragraph(text: str) -> str:
    return " ".join(text.strip().split("\n\n")[0].split())


def evidence_summary(entries: Sequence[Mapping[str, Any]]) -> list[str]:
    """One line per coverage report and per scan: what the verdict rests on."""
    lines = []
    for entry in entries:
        if entry["kind"] == "coverage":
            branches = f", branches {entry['branch_percent']}%" if entry["branch_percent"] is not None else ""
            stale = " STALE" if entry["stale"] else ""
            lines.append(
                f"coverage: {entry['path']} ({entry['format']}): lines {entry['line_percent']}%{branches}{stale}"
            )
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


def break_glass_state(glass: Mapping[str, Any]) -> tuple[str, str]:
    """(state, approval) of a break-glass record, for a sentence: "active" or
    why it was not applied, and ", approved by ..." when it was approved."""
    state = "active" if glass["active"] else f"not applied: {glass.get('refused') or 'expired'}"
    approved = f", approved by {glass['approved_by']}" if glass.get("approved_by") else ""
    return state, approved
