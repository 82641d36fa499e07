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
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from checker.discovery import Skipped
from checker.errors import InputError
from checker.evidence import MAX_EVIDENCE_BYTES, Content, CoverageReport, EvidenceFile, ScanReport
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


Kind = Literal["coverage", "scan"]


def detect(content: Content, name: str) -> tuple[Kind, str] | None:
    """(kind, format) from a file's content."""
    raw = content.raw
    if not raw.strip():
        # lcov from a run that measured nothing is an empty file: an empty report, not an unknown format.
        lowered = name.lower()
        return ("coverage", "lcov") if lowered.endswith(".info") or "lcov" in lowered else None
    if raw.startswith(b"SQLite format 3\0"):
        return "coverage", "coverage.py"
    head = raw[:4096].lstrip()
    if head.startswith(b"<"):
        if b"<coverage" in head:
            return "coverage", "cobertura"
        if b"<report" in head:
            return "coverage", "jacoco"
        return None
    if head.startswith(b"mode: "):
        return "coverage", "go-cover"
    first = next((line.strip() for line in head.splitlines() if line.strip()), b"")
    if first.startswith((b"TN:", b"SF:")):
        return "coverage", "lcov"
    if not head.startswith((b"{", b"[")):
        return None
    data = content.json
    if isinstance(data, dict):
        if isinstance(data.get("meta"), dict) and "files" in data:
            return "coverage", "coverage.py-json"
        if "results" in data and "metrics" in data:
            return "scan", "bandit-json"
        if "runs" in data and ("version" in data or "sarif" in str(data.get("$schema", ""))):
            return "scan", "sarif"
        if "check_type" in data or "checkov_version" in data or "checkov_version" in (data.get("summary") or {}):
            return "scan", "checkov-json"
        return None
    if isinstance(data, list):
        items = [item for item in data if isinstance(item, dict)]
        if items and all("check_type" in item for item in items):
            return "scan", "checkov-json"
        if items and all("Rule" in item and "Level" in item for item in items):
            return "scan", "cfn-lint-json"
        if not data and "cfn" in name.lower():
            return "scan", "cfn-lint-json"  # cfn-lint prints [] when it finds nothing
    return None


def _malformed(source: EvidenceFile, exc: Exception) -> InputError:
    # Each reader names what it expects; a shape it did not foresee is still
    # the file's fault: an input error, never a crash and never a pass.
    return InputError(f"malformed {source.format} content ({type(exc).__name__}: {exc})", path=source.relpath)


_SHAPE_ERRORS = (KeyError, TypeError, ValueError, AttributeError, IndexError)


def read_coverage(content: Content, source: EvidenceFile, resolver: PathResolver, root: Path) -> CoverageReport:
    from checker.evidence import coverage

    try:
        return coverage.READERS[source.format](content, source, resolver, root)
    except _SHAPE_ERRORS as exc:
        raise _malformed(source, exc) from None


def read_scan(content: Content, source: EvidenceFile, resolver: PathResolver) -> list[ScanReport]:
    from checker.evidence import scans

    try:
        return scans.READERS[source.format](content, source, resolver)
    except _SHAPE_ERRORS as exc:
        raise _malformed(source, exc) from None


def _read(item: EvidenceInput) -> bytes:
    try:
        if item.path.stat().st_size > MAX_EVIDENCE_BYTES:
            raise InputError(f"larger than {MAX_EVIDENCE_BYTES // 2**20} MiB", path=item.relpath)
        return item.path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", path=item.relpath) from None


def load_evidence(items: Sequence[EvidenceInput], resolver: PathResolver, root: Path) -> Evidence:
    files: list[EvidenceFile] = []
    coverage_reports: list[CoverageReport] = []
    scan_reports: list[ScanReport] = []
    skipped: list[Skipped] = []
    for item in sorted({i.relpath: i for i in items}.values(), key=lambda i: i.relpath):
        content = Content(_read(item), item.relpath)
        found = detect(content, item.path.name)
        if found is None:
            if not content.raw.strip():
                if item.explicit:
                    raise InputError(
                        "the file is empty: the tool that should have written it wrote nothing", path=item.relpath
                    )
                skipped.append(Skipped(item.relpath, "named like evidence, but empty"))
                continue
            if item.explicit:
                raise InputError(
                    "not a recognised evidence format",
                    path=item.relpath,
                    hint="coverage: coverage.py data or JSON, Cobertura XML, lcov, JaCoCo XML, Go profile; "
                    "scans: bandit JSON, checkov JSON, cfn-lint JSON, SARIF 2.1.0",
                )
            skipped.append(Skipped(item.relpath, "named like evidence, but not a recognised format"))
            continue
        kind, fmt = found
        source = EvidenceFile(item.relpath, hashlib.sha256(content.raw).hexdigest(), kind, fmt)
        if kind == "coverage":
            report = read_coverage(content, source, resolver, root)
            coverage_reports.append(report)
            files.append(report.source)
            continue
        runs = read_scan(content, source, resolver)
        # checker's own SARIF output is a report, not a scanner's evidence.
        runs = [r for r in runs if r.tool != "checker"]
        if not runs:
            skipped.append(Skipped(item.relpath, "checker's own output, not scanner evidence"))
            continue
        scan_reports.extend(runs)
        files.append(source)
    return Evidence(tuple(files), tuple(coverage_reports), tuple(scan_reports), tuple(skipped))
