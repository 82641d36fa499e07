"""Running the required scanners (``checker check --run-scans``).

Each tool runs as a subprocess of the installed executable, on the exact
files its requirement covers, split into batches that run in parallel (one
per core). Results are kept per file in the cache (``--cache DIR``) under a
key made of the tool, its version, its arguments, the file's path and the
sha256 of its content, so a rerun scans only what changed and an unchanged
rerun starts no scanner at all.
"""

from __future__ import annotations

import hashlib
import math
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass
from pathlib import Path

from checker.cache import JsonStore
from checker.errors import CheckerError
from checker.evidence import Content, EvidenceFile, ScanFinding, ScanReport
from checker.evidence.load import read_scan
from checker.evidence.paths import PathResolver

_TIMEOUT = 1800
# Environment variables the scanners read as settings (checkov's CKV_CHECK,
# CKV_SKIP_CHECK, BC_*...): the team's CI sets its environment, so they are
# not passed on.
_TOOL_SETTINGS = ("CKV_", "BC_", "CHECKOV_", "PRISMA_", "CFN_LINT", "CFNLINT", "BANDIT")


@dataclass(frozen=True, slots=True)
class ScanTool:
    name: str
    distribution: str
    format: str
    argv: Callable[[str, Sequence[str]], list[str]]  # (output file, files) -> arguments
    to_stdout: bool
    batch: int  # files per batch below which splitting costs more than it saves
    # Whether its output lists every file it scanned (bandit's metrics do;
    # checkov --quiet and cfn-lint list findings only): a file missing from
    # such a list was not scanned (it did not parse), whatever we passed.
    lists_scanned: bool = False


def _bandit(out: str, files: Sequence[str]) -> list[str]:
    # A `# nosec` in the team's code is a relaxation it grants itself: the
    # organization's scan ignores it (a waiver set an approver signs is the way).
    # bandit's default exclusions (.git, .tox, *.egg ...) match anywhere in a
    # path, so a file under .github/ or a workspace named *.git was skipped:
    # the files passed are exactly the ones the requirement covers.
    return ["-f", "json", "-q", "--ignore-nosec", "-x", "", "-o", out, "--", *files]


def _cfn_lint(out: str, files: Sequence[str]) -> list[str]:
    return ["--format", "json", "--output-file", out, "--", *files]


def _checkov(out: str, files: Sequence[str]) -> list[str]:
    args = ["--output", "json", "--quiet", "--compact", "--skip-download", "--framework", "cloudformation"]
    for file in files:
        args += ["--file", file]
    return args


# The scanners checker knows how to run; any other can still be ingested as SARIF.
TOOLS: dict[str, ScanTool] = {
    "bandit": ScanTool("bandit", "bandit", "bandit-json", _bandit, False, 50, lists_scanned=True),
    "cfn-lint": ScanTool("cfn-lint", "cfn-lint", "cfn-lint-json", _cfn_lint, False, 20),
    "checkov": ScanTool("checkov", "checkov", "checkov-json", _checkov, True, 50),
}


def _own_bin() -> list[Path]:
    return list(dict.fromkeys([Path(sysconfig.get_path("scripts")), Path(sys.executable).parent]))


def find_executable(name: str) -> str | None:
    """The tool installed beside checker (its own environment) first, then PATH."""
    for folder in _own_bin():
        candidate = folder / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return shutil.which(name)


def _version(tool: ScanTool, executable: str) -> str | None:
    """The tool's version: from package metadata when the executable is this
    environment's own, else from ``--version``."""
    if Path(executable).parent in _own_bin():
        from importlib import metadata

        try:
            return metadata.version(tool.distribution)
        except metadata.PackageNotFoundError:
            pass
    try:
        done = subprocess.run([executable, "--version"], capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    for token in (done.stdout + " " + done.stderr).replace(",", " ").split():
        if token[:1].isdigit() and "." in token:
            return token
    return None


def _cached(cache: JsonStore, key: str) -> list[ScanFinding] | None:
    """A file's findings from the cache; a damaged entry is a miss."""
    entry = cache.get(key)
    try:
        return [ScanFinding(**finding) for finding in entry] if isinstance(entry, list) else None
    except TypeError:
        return None


def _run_batch(
    tool: ScanTool, executable: str, root: Path, files: Sequence[str], resolver: PathResolver
) -> tuple[dict[str, list[ScanFinding]], frozenset[str]]:
    """Scan one batch; findings by file and the files the tool did scan."""
    with tempfile.TemporaryDirectory(prefix="checker-scan-") as scratch:
        out = str(Path(scratch) / "out.json")
        argv = [executable, *tool.argv(out, [str(root / f) for f in files])]
        # Run from an empty folder with an empty home: the repository's own
        # scanner settings (.checkov.yaml, .cfnlintrc, ~/.cfnlintrc) are the
        # team's relaxations, not the organization's scan.
        env = {k: v for k, v in os.environ.items() if not k.upper().startswith(_TOOL_SETTINGS)}
        env |= {"HOME": scratch, "XDG_CONFIG_HOME": scratch}
        try:
            done = subprocess.run(argv, cwd=scratch, env=env, capture_output=True, timeout=_TIMEOUT, check=False)
        except subprocess.TimeoutExpired:
            raise CheckerError(f"{tool.name} did not finish within {_TIMEOUT} s") from None
        except OSError as exc:
            raise CheckerError(f"{tool.name} could not start: {exc.strerror}") from None
        raw = done.stdout if tool.to_stdout else (Path(out).read_bytes() if Path(out).is_file() else b"")
    if not raw.strip():
        tail = done.stderr.decode("utf-8", "replace").strip().splitlines()[-3:]
        raise CheckerError(f"{tool.name} exited {done.returncode} without output: {' | '.join(tail)}")
    source = EvidenceFile(f"({tool.name} output)", hashlib.sha256(raw).hexdigest(), "scan", tool.format)
    (report,) = read_scan(Content(raw, source.relpath), source, resolver)
    by_file: dict[str, list[ScanFinding]] = {f: [] for f in files}
    for finding in report.findings:
        by_file.setdefault(finding.path, []).append(finding)
    if tool.lists_scanned and report.scanned is not None:
        return by_file, report.scanned & set(files)
    return by_file, frozenset(files)


def _key(tool: ScanTool, version: str, root: Path, relpath: str) -> str:
    digest = hashlib.sha256((root / relpath).read_bytes()).hexdigest()
    argv = " ".join(tool.argv("OUT", ["FILE"]))
    return hashlib.sha256(f"{tool.name}\0{version}\0{argv}\0{relpath}\0{digest}".encode()).hexdigest()


def _failed(tool: str, why: str) -> ScanReport:
    return ScanReport(tool, None, "ran", None, (), frozenset(), failure=why)


def run_scans(
    wanted: dict[str, list[str]],
    root: Path,
    resolver: PathResolver,
    *,
    jobs: int,
    cache: JsonStore | None,
    progress: Callable[[str], None] | None = None,
) -> list[ScanReport]:
    """Run each tool in ``wanted`` (tool -> root-relative files) and return
    one report per tool; a tool that is missing or fails gives a report with
    ``failure`` set, never an empty pass."""
    reports: dict[str, ScanReport] = {}
    pending: list[tuple[str, ScanTool, str, list[str]]] = []
    found: dict[str, dict[str, list[ScanFinding]]] = {}
    scanned: dict[str, set[str]] = {}
    versions: dict[str, str | None] = {}
    keys: dict[tuple[str, str], str] = {}
    for name, files in sorted(wanted.items()):
        tool = TOOLS.get(name)
        executable = find_executable(tool.name) if tool else None
        if tool is None:
            reports[name] = _failed(
                name, f"checker cannot run {name}: run it in the build, pass its SARIF with --evidence"
            )
            continue
        if executable is None:
            reports[name] = _failed(
                name, f"{name} is not installed (pip install 'checker[scanners]', or put it on PATH)"
            )
            continue
        version = versions[name] = _version(tool, executable)
        found[name], scanned[name] = {}, set()
        todo = []
        for relpath in files:
            hit = None
            if cache is not None and version is not None:
                keys[(name, relpath)] = _key(tool, version, root, relpath)
                hit = _cached(cache, keys[(name, relpath)])
            if hit is None:
                todo.append(relpath)
                continue
            found[name][relpath] = hit
            scanned[name].add(relpath)
        batches = max(1, min(jobs, math.ceil(len(todo) / tool.batch))) if todo else 0
        for index in range(batches):
            pending.append((name, tool, executable, todo[index::batches]))
    failures: dict[str, str] = {}
    if pending:
        done_count = 0
        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            futures = {
                pool.submit(_run_batch, tool, executable, root, batch, resolver): (name, batch)
                for name, tool, executable, batch in pending
            }
            for future in as_completed(futures):
                name, batch = futures[future]
                done_count += 1
                if progress is not None:
                    progress(f"scans: {done_count}/{len(futures)} batches ({name} done)")
                try:
                    by_file, ok = future.result()
                except CheckerError as exc:  # the tool failed or its output was unusable
                    failures[name] = exc.message
                    continue
                except OSError as exc:
                    failures[name] = f"{name}: {exc}"
                    continue
                scanned[name] |= ok
                for relpath in batch:
                    found[name][relpath] = by_file.get(relpath, [])
                    key = keys.get((name, relpath))
                    if cache is not None and key is not None and relpath in ok:
                        cache.put(key, [asdict(f) for f in by_file.get(relpath, [])])
                for relpath, extra in by_file.items():
                    if relpath not in batch:  # reported under a name we did not pass
                        found[name].setdefault(relpath, []).extend(extra)
    for name in found:
        findings = tuple(f for relpath in sorted(found[name]) for f in found[name][relpath])
        reports[name] = ScanReport(
            name, versions[name], "ran", None, findings, frozenset(scanned[name]), failure=failures.get(name)
        )
    return [reports[name] for name in sorted(reports)]
