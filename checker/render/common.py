"""Small helpers the renderers share."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
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
