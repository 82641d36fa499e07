"""Recognising and reading evidence files.

Discovery finds files by the names tools give them (``coverage.xml``,
``lcov.info``, ``.coverage``, ``jacoco.xml``, ``bandit.json``, ``*.sarif``
...); ``--evidence FILE`` names any other. The format always comes from the
content. A named or discovered file that is corrupt is an input error; a
discovered file that turns out to be something else (a ``coverage.json``
that is not coverage.py's) is skipped with the reason recorded.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from checker.discovery import Skipped
from checker.errors import InputError
from checker.evidence import MAX_EVIDENCE_BYTES, CoverageReport, EvidenceFile, ScanReport
from checker.evidence.paths import PathResolver


@dataclass(frozen=True, slots=True)
class EvidenceInput:
    path: Path
    relpath: str
    explicit: bool


@dataclass(frozen=True, slots=True)
class Evidence:
    files: tuple[EvidenceFile, ...]
    coverage: tuple[CoverageReport, ...]
    scans: tuple[ScanReport, ...]
    skipped: tuple[Skipped, ...]


def detect(raw: bytes, name: str) -> tuple[str, str, Any] | None:
    """(kind, format, parsed JSON or None) from a file's content."""
    if raw.startswith(b"SQLite format 3\0"):
        return "coverage", "coverage.py", None
    head = raw[:4096].lstrip()
    if head.startswith(b"<"):
        if b"<coverage" in head:
            return "coverage", "cobertura", None
        if b"<report" in head:
            return "coverage", "jacoco", None
        return None
    if head.startswith(b"mode: "):
        return "coverage", "go-cover", None
    first = next((line.strip() for line in head.splitlines() if line.strip()), b"")
    if first.startswith((b"TN:", b"SF:")):
        return "coverage", "lcov", None
    if not head.startswith((b"{", b"[")):
        return None
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError) as exc:  # RecursionError: nesting deeper than any report
        raise InputError(f"not valid JSON ({exc}): truncated or corrupt") from None
    if isinstance(data, dict):
        if isinstance(data.get("meta"), dict) and "files" in data:
            return "coverage", "coverage.py-json", data
        if "results" in data and "metrics" in data:
            return "scan", "bandit-json", data
        if "runs" in data and ("version" in data or "sarif" in str(data.get("$schema", ""))):
            return "scan", "sarif", data
        if "check_type" in data or "checkov_version" in data or "checkov_version" in (data.get("summary") or {}):
            return "scan", "checkov-json", data
        return None
    if isinstance(data, list):
        items = [item for item in data if isinstance(item, dict)]
        if items and all("check_type" in item for item in items):
            return "scan", "checkov-json", data
        if items and all("Rule" in item and "Level" in item for item in items):
            return "scan", "cfn-lint-json", data
        if not data and "cfn" in name.lower():
            return "scan", "cfn-lint-json", data  # cfn-lint prints [] when it finds nothing
    return None


def _read(item: EvidenceInput) -> bytes:
    try:
        if item.path.stat().st_size > MAX_EVIDENCE_BYTES:
            raise InputError(f"larger than {MAX_EVIDENCE_BYTES // 2**20} MiB", path=item.relpath)
        return item.path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", path=item.relpath) from None


def load_evidence(items: Sequence[EvidenceInput], resolver: PathResolver, root: Path) -> Evidence:
    from checker.evidence import coverage, scans

    files: list[EvidenceFile] = []
    coverage_reports: list[CoverageReport] = []
    scan_reports: list[ScanReport] = []
    skipped: list[Skipped] = []
    for item in sorted({i.relpath: i for i in items}.values(), key=lambda i: i.relpath):
        raw = _read(item)
        try:
            found = detect(raw, item.path.name)
        except InputError as exc:
            raise InputError(exc.message, path=item.relpath) from None
        if found is None:
            if item.explicit:
                raise InputError(
                    "not a recognised evidence format",
                    path=item.relpath,
                    hint="coverage: coverage.py data or JSON, Cobertura XML, lcov, JaCoCo XML, Go profile; "
                    "scans: bandit JSON, checkov JSON, cfn-lint JSON, SARIF 2.1.0",
                )
            skipped.append(Skipped(item.relpath, "named like evidence, but not a recognised format"))
            continue
        kind, fmt, data = found
        source = EvidenceFile(item.relpath, hashlib.sha256(raw).hexdigest(), kind, fmt)  # type: ignore[arg-type]
        if kind == "coverage":
            report = coverage.READERS[fmt](raw, source, resolver, root)
            coverage_reports.append(report)
            files.append(report.source)
        else:
            runs = scans.READERS[fmt](data, source, resolver, [])
            # checker's own SARIF output is a report, not a scanner's evidence.
            runs = [r for r in runs if r.tool != "checker"]
            if not runs:
                skipped.append(Skipped(item.relpath, "checker's own output, not scanner evidence"))
                continue
            scan_reports.extend(runs)
            files.append(source)
    return Evidence(tuple(files), tuple(coverage_reports), tuple(scan_reports), tuple(skipped))
