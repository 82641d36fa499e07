"""Coverage report readers: coverage.py data and JSON, Cobertura XML, lcov,
JaCoCo XML and Go cover profiles, each into per-file line and branch hits.

Every reader is strict about structure (a truncated lcov record, an XML
document cut short, a profile line that does not parse are input errors
naming the file and line) and lenient about what tools legitimately vary
(absolute or relative paths, missing branch data).
"""

from __future__ import annotations

import contextlib
import json
import re
import tempfile
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from checker.errors import InputError
from checker.evidence import Content, CoverageReport, EvidenceFile, FileCoverage
from checker.evidence.paths import Names, PathResolver, folder_of

Reader = Callable[[Content, EvidenceFile, PathResolver, Path], CoverageReport]


class _Files:
    """Accumulates per-file coverage under resolved names."""

    def __init__(self, resolver: PathResolver, bases: list[str]) -> None:
        self.names = Names(resolver, bases)
        self.files: dict[str, FileCoverage] = {}

    def add(self, name: str, coverage: FileCoverage) -> None:
        resolved = self.names(name)
        if resolved is not None:
            existing = self.files.get(resolved)
            self.files[resolved] = coverage if existing is None else existing.merged(coverage)

    def report(self, source: EvidenceFile) -> CoverageReport:
        has_branches = any(c.branches for c in self.files.values())
        return CoverageReport(source, self.files, tuple(sorted(self.names.unresolved)), has_branches)


def _xml(raw: bytes, source: EvidenceFile) -> ElementTree.Element:
    # The standard library parser does not fetch external entities or DTDs,
    # and expat (>= 2.4) bounds entity expansion.
    try:
        return ElementTree.fromstring(raw)
    except ElementTree.ParseError as exc:
        line = exc.position[0] if exc.position else None
        raise InputError(f"not well-formed XML ({exc}): truncated or corrupt", path=source.relpath, line=line) from None


def _int(value: str | None, source: EvidenceFile, what: str) -> int:
    try:
        return int(value or "")
    except ValueError:
        raise InputError(f"{what} is not a number: {value!r}", path=source.relpath, field=what) from None


_CONDITION = re.compile(r"\((\d+)/(\d+)\)")


def read_cobertura(content: Content, source: EvidenceFile, resolver: PathResolver, root: Path) -> CoverageReport:
    tree = _xml(content.raw, source)
    if tree.tag != "coverage":
        raise InputError("not a Cobertura report: the root element is not <coverage>", path=source.relpath)
    here = folder_of(source.relpath)
    bases = [here]
    for element in tree.iter("source"):
        text = (element.text or "").strip()
        if not text:
            continue
        # A <source> is usually absolute on the machine that ran the tests:
        # used when it is inside this checkout, otherwise names fall back to
        # matching by their tail.
        if Path(text).is_absolute():
            try:
                bases.insert(0, Path(text).resolve().relative_to(root).as_posix())
            except ValueError:
                continue
        else:
            bases.insert(0, f"{here}/{text}".strip("/") if here else text)
    files = _Files(resolver, bases)
    for klass in tree.iter("class"):
        name = klass.get("filename")
        if not name:
            raise InputError("a <class> has no filename", path=source.relpath, field="class.filename")
        coverage = FileCoverage()
        for line in klass.iter("line"):
            number = _int(line.get("number"), source, "line.number")
            coverage.lines[number] = (
                coverage.lines.get(number, False) or _int(line.get("hits"), source, "line.hits") > 0
            )
            condition = line.get("condition-coverage")
            if line.get("branch") == "true" and condition:
                match = _CONDITION.search(condition)
                if match:
                    coverage.branches[number] = (int(match.group(1)), int(match.group(2)))
        files.add(name, coverage)
    timestamp = tree.get("timestamp")
    generated = None
    if timestamp and timestamp.isdigit():
        value = int(timestamp)
        generated = value / 1000 if value > 10**11 else float(value)  # milliseconds (coverage.py, istanbul) or seconds
    return files.report(_with_time(source, generated))


def read_jacoco(content: Content, source: EvidenceFile, resolver: PathResolver, root: Path) -> CoverageReport:
    tree = _xml(content.raw, source)
    if tree.tag != "report":
        raise InputError("not a JaCoCo report: the root element is not <report>", path=source.relpath)
    files = _Files(resolver, [folder_of(source.relpath)])
    for package in tree.iter("package"):
        prefix = package.get("name", "")
        for sourcefile in package.iter("sourcefile"):
            coverage = FileCoverage()
            for line in sourcefile.iter("line"):
                number = _int(line.get("nr"), source, "line.nr")
                missed, covered = _int(line.get("mi"), source, "line.mi"), _int(line.get("ci"), source, "line.ci")
                if missed + covered:
                    coverage.lines[number] = covered > 0
                branches_missed = _int(line.get("mb", "0"), source, "line.mb")
                branches_covered = _int(line.get("cb", "0"), source, "line.cb")
                if branches_missed + branches_covered:
                    coverage.branches[number] = (branches_covered, branches_missed + branches_covered)
            name = f"{prefix}/{sourcefile.get('name', '')}" if prefix else sourcefile.get("name", "")
            files.add(name, coverage)
    dumps = [_int(s.get("dump"), source, "sessioninfo.dump") for s in tree.iter("sessioninfo") if s.get("dump")]
    return files.report(_with_time(source, max(dumps) / 1000 if dumps else None))


# Function records and totals: checker counts lines and branches itself.
_LCOV_IGNORED = frozenset({"FN", "FNDA", "FNF", "FNH", "FNL", "FNA", "LF", "LH", "BRF", "BRH", "VER"})


def read_lcov(content: Content, source: EvidenceFile, resolver: PathResolver, root: Path) -> CoverageReport:
    files = _Files(resolver, [folder_of(source.relpath)])
    name: str | None = None
    coverage = FileCoverage()
    started = 0
    try:
        text = content.raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError("lcov data is not UTF-8 text", path=source.relpath) from None
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("TN:"):
            continue
        if line.startswith("SF:"):
            if name is not None:
                raise InputError(f"record for {name} has no end_of_record", path=source.relpath, line=number)
            name, coverage, started = line[3:], FileCoverage(), number
        elif line == "end_of_record":
            if name is None:
                raise InputError("end_of_record without SF:", path=source.relpath, line=number)
            files.add(name, coverage)
            name = None
        elif name is None:
            raise InputError(f"data outside a record: {line[:40]!r}", path=source.relpath, line=number)
        elif line.startswith("DA:"):
            fields = line[3:].split(",")
            try:
                at, hits = int(fields[0]), int(float(fields[1]))
            except (ValueError, IndexError):
                raise InputError(f"malformed DA line {line!r}", path=source.relpath, line=number) from None
            coverage.lines[at] = coverage.lines.get(at, False) or hits > 0
        elif line.startswith("BRDA:"):
            fields = line[5:].split(",")
            if len(fields) != 4 or not fields[0].isdigit():
                raise InputError(f"malformed BRDA line {line!r}", path=source.relpath, line=number)
            at = int(fields[0])
            taken, total = coverage.branches.get(at, (0, 0))
            coverage.branches[at] = (taken + (fields[3] not in ("-", "0")), total + 1)
        elif line.split(":", 1)[0] in _LCOV_IGNORED:
            continue
        else:
            raise InputError(f"unknown lcov record {line[:40]!r}", path=source.relpath, line=number)
    if name is not None:
        raise InputError(
            f"record for {name} (from line {started}) has no end_of_record: the file is truncated",
            path=source.relpath,
        )
    if not files.files and not files.names.unresolved and text.strip():
        raise InputError("no SF: records: not lcov data", path=source.relpath)
    return files.report(source)


def _coverage_json(data: Any, source: EvidenceFile, resolver: PathResolver, bases: list[str]) -> CoverageReport:
    if not isinstance(data, dict) or not isinstance(data.get("files"), dict) or not isinstance(data.get("meta"), dict):
        raise InputError("not a coverage.py JSON report (needs meta and files)", path=source.relpath)
    files = _Files(resolver, bases)
    for name, entry in data["files"].items():
        if not isinstance(entry, dict) or not isinstance(entry.get("executed_lines"), list):
            raise InputError("a file entry has no executed_lines", path=source.relpath, field=f"files.{name}")
        coverage = FileCoverage()
        for line in entry.get("missing_lines", []):
            coverage.lines[int(line)] = False
        for line in entry["executed_lines"]:
            coverage.lines[int(line)] = True
        branches: dict[int, list[int]] = {}
        for key, hit in (("executed_branches", 1), ("missing_branches", 0)):
            for arc in entry.get(key, []):
                counts = branches.setdefault(abs(int(arc[0])), [0, 0])
                counts[0] += hit
                counts[1] += 1
        coverage.branches.update({line: (c[0], c[1]) for line, c in branches.items()})
        files.add(str(name), coverage)
    generated = None
    stamp = data["meta"].get("timestamp")
    if isinstance(stamp, str):
        try:
            generated = datetime.fromisoformat(stamp).timestamp()  # coverage.py writes local time
        except ValueError:
            generated = None
    return files.report(_with_time(source, generated))


def read_coverage_json(content: Content, source: EvidenceFile, resolver: PathResolver, root: Path) -> CoverageReport:
    return _coverage_json(content.json, source, resolver, [folder_of(source.relpath)])


_GO_LINE = re.compile(r"^(.+):(\d+)\.\d+,(\d+)\.\d+ (\d+) (\d+)$")


def _go_module(root: Path, resolver: PathResolver) -> Iterator[tuple[str, str]]:
    """(module path, folder) for each go.mod in the repository."""
    for rel in sorted(resolver.files):
        if rel == "go.mod" or rel.endswith("/go.mod"):
            try:
                text = (root / rel).read_text(encoding="utf-8", errors="replace")
            except OSError:
                continue
            match = re.search(r"^module\s+(\S+)", text, re.MULTILINE)
            if match:
                yield match.group(1).strip('"'), folder_of(rel)


def read_go_profile(content: Content, source: EvidenceFile, resolver: PathResolver, root: Path) -> CoverageReport:
    text = content.raw.decode("utf-8", errors="replace")
    lines = text.splitlines()
    if not lines or not lines[0].startswith("mode: "):
        raise InputError("a Go cover profile starts with 'mode:'", path=source.relpath, line=1)
    modules = sorted(_go_module(root, resolver), key=lambda m: -len(m[0]))
    per_name: dict[str, FileCoverage] = {}
    for number, line in enumerate(lines[1:], 2):
        if not line.strip():
            continue
        match = _GO_LINE.match(line.strip())
        if match is None:
            raise InputError(f"malformed profile line {line[:60]!r}", path=source.relpath, line=number)
        name, start, end, count = match.group(1), int(match.group(2)), int(match.group(3)), int(match.group(5))
        coverage = per_name.setdefault(name, FileCoverage())
        for at in range(start, end + 1):
            coverage.lines[at] = coverage.lines.get(at, False) or count > 0
    files = _Files(resolver, [folder_of(source.relpath)])
    for name, coverage in per_name.items():
        local = name
        for module, folder in modules:
            if name.startswith(module + "/"):
                local = f"{folder}/{name[len(module) + 1 :]}" if folder else name[len(module) + 1 :]
                break
        files.add(local, coverage)
    return files.report(source)


def read_coverage_data(content: Content, source: EvidenceFile, resolver: PathResolver, root: Path) -> CoverageReport:
    """A coverage.py data file, through the coverage library: its own JSON
    report (which needs the sources, to know the statements that never ran),
    with measured paths mapped onto this checkout first."""
    try:
        from coverage import Coverage, CoverageData
        from coverage.exceptions import CoverageException
    except ImportError:
        raise InputError(
            "reading a .coverage data file needs the coverage package", path=source.relpath, hint="pip install coverage"
        ) from None
    import os
    import sqlite3

    root = Path(os.path.realpath(root))  # coverage canonicalizes the paths it reports on
    with tempfile.TemporaryDirectory(prefix="checker-coverage-") as scratch:
        original = Path(scratch) / "measured"
        original.write_bytes(content.raw)
        try:
            data = CoverageData(basename=str(original))
            data.read()
            measured = sorted(data.measured_files())
        except (CoverageException, sqlite3.Error) as exc:
            raise InputError(f"not a readable coverage.py data file: {exc}", path=source.relpath) from None
        where = folder_of(source.relpath)
        mapping = {m: resolver.resolve(m, [where]) for m in measured}
        remapped = CoverageData(basename=str(Path(scratch) / "remapped"))
        targets = {m: str(root / rel) for m, rel in mapping.items() if rel is not None}
        remapped.update(data, map_path=lambda p: targets.get(p, p))
        remapped.write()
        found = list(targets.values())
        report: dict[str, Any] = {"meta": {}, "files": {}}
        if found:
            out = Path(scratch) / "report.json"
            try:
                # coverage names files relative to the working directory it
                # starts in: start it at the root, so names are ours.
                with contextlib.chdir(root):
                    coverage = Coverage(data_file=str(Path(scratch) / "remapped"), config_file=False)
                    coverage.load()
                    coverage.json_report(morfs=found, outfile=str(out), ignore_errors=True)
            except CoverageException as exc:
                raise InputError(f"coverage could not report on this data: {exc}", path=source.relpath) from None
            report = json.loads(out.read_text(encoding="utf-8"))
            report["meta"].pop("timestamp", None)  # the time of our report, not of the tests
    result = _coverage_json(report, source, resolver, [])
    unresolved = sorted({*result.unresolved, *(m for m, rel in mapping.items() if rel is None)})
    return CoverageReport(result.source, result.files, tuple(unresolved), result.has_branches or data.has_arcs())


def _with_time(source: EvidenceFile, generated: float | None) -> EvidenceFile:
    if generated is None:
        return source
    return EvidenceFile(source.relpath, source.sha256, source.kind, source.format, generated)


READERS: dict[str, Reader] = {
    "coverage.py": read_coverage_data,
    "coverage.py-json": read_coverage_json,
    "cobertura": read_cobertura,
    "jacoco": read_jacoco,
    "lcov": read_lcov,
    "go-cover": read_go_profile,
}
