"""What coverage is measured over: the sources the organization's policy
names and the team's own coverage configuration declares, and what that
configuration leaves out.

A coverage report lists the files its run imported; a module no test
imports is absent from it, and a floor over the report alone passes
without it. So the figures are taken over the project's sources: files the
policy's ``coverage.sources`` globs match, and those the team's
configuration names (coverage.py's ``[run] source``/``source_pkgs``/
``include``; jest's ``collectCoverageFrom``). A source in no report counts
with its executable lines, none covered.

What the team's configuration leaves out (coverage.py ``omit``, a jest
``!glob`` or ``coveragePathIgnorePatterns``) is a relaxation from the
team's side: it applies only to files within the baseline's
``delegate.coverage_omit`` globs, and every file it touches is listed.

Configuration files are read the way their tools read them (coverage.py's
ini and TOML sections, with its own glob matching; jest's globs through
wcmatch, micromatch's semantics); JavaScript configuration
(``jest.config.js``) cannot be evaluated here and is listed as unread.
"""

from __future__ import annotations

import configparser
import fnmatch
import hashlib
import json
import os
import re
import tomllib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from checker.errors import InputError
from checker.evidence import CoverageReport
from checker.facts.repository import CoverageScope
from checker.facts.repository.inputs import local, matches
from checker.policy import CoverageSources
from checker.repository import Repository

_MAX_CONFIG_BYTES = 2 * 1024 * 1024
# A source larger than this is an error, not a partial count: counting what
# was read would let a file hide code behind a long header.
_MAX_SOURCE_BYTES = 16 * 1024 * 1024
_JS_CONFIGS = ("jest.config.js", "jest.config.ts", "jest.config.mjs", "jest.config.cjs")
_INI_SECTIONS = {
    ".coveragerc": ("run", "report", "coverage:run", "coverage:report"),
    "setup.cfg": ("coverage:run", "coverage:report"),
    "tox.ini": ("coverage:run", "coverage:report"),
}


@dataclass(frozen=True, slots=True)
class ToolConfig:
    """One coverage configuration of the team's, over the files under ``folder``."""

    path: str  # root-relative configuration file
    folder: str  # root-relative folder its paths are relative to ("" for the root)
    selects: Callable[[str], bool]  # a root-relative file is a source it names
    omits: Callable[[str], bool]  # a root-relative file it leaves out

    def holds(self, relpath: str) -> bool:
        return not self.folder or relpath.startswith(self.folder + "/")


def _folder(relpath: str) -> str:
    parent = PurePosixPath(relpath).parent.as_posix()
    return "" if parent == "." else parent


def _coverage_list(value: Any) -> list[str]:
    """A coverage.py list setting: a TOML list, or text split on commas and lines."""
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    if isinstance(value, str):
        return [part.strip() for part in re.split(r"[,\n]", value) if part.strip()]
    return []


Settings = dict[str, list[str]]


def _read(repository: Repository, relpath: str) -> bytes:
    try:
        with open(repository.path(relpath), "rb") as handle:
            raw = handle.read(_MAX_CONFIG_BYTES + 1)
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", path=relpath) from None
    if len(raw) > _MAX_CONFIG_BYTES:
        raise InputError(f"larger than {_MAX_CONFIG_BYTES // 2**20} MiB: not read as configuration", path=relpath)
    return raw


def _coverage_settings(repository: Repository, relpath: str) -> tuple[Settings, Settings] | None:
    """The [run] and [report] settings of a coverage.py configuration file,
    or None when the file has none. A file that cannot be parsed is an error
    when it mentions coverage (coverage.py could not read it either)."""
    name = relpath.rsplit("/", 1)[-1]
    text = _read(repository, relpath).decode("utf-8", errors="replace")
    relevant = "coverage" in text
    if name == "pyproject.toml":
        try:
            data = tomllib.loads(text)
        except (tomllib.TOMLDecodeError, RecursionError) as exc:
            if not relevant:
                return None
            raise InputError(f"not valid TOML ({type(exc).__name__}: {exc})", path=relpath) from None
        tool = data.get("tool")
        coverage = tool.get("coverage") if isinstance(tool, dict) else None
        if not isinstance(coverage, dict):
            return None
        sections = [coverage.get("run"), coverage.get("report")]
    else:
        parser = configparser.RawConfigParser()
        try:
            parser.read_string(text, source=relpath)
        except configparser.Error as exc:
            if not relevant:
                return None
            raise InputError(f"not a readable ini file ({exc.message})", path=relpath) from None
        # .coveragerc takes [run] and [coverage:run] alike; setup.cfg and tox.ini the prefixed ones.
        names = _INI_SECTIONS[name]
        sections = []
        for wanted in ("run", "report"):
            found = [n for n in names if n.removeprefix("coverage:") == wanted and parser.has_section(n)]
            sections.append({k: v for n in found for k, v in parser.items(n)} if found else None)
    run, report = ({k: _coverage_list(v) for k, v in s.items()} if isinstance(s, dict) else {} for s in sections)
    return run, report


def _coverage_py(repository: Repository, relpath: str, files: Sequence[str]) -> ToolConfig | None:
    settings = _coverage_settings(repository, relpath)
    if settings is None:
        return None
    run, report = settings
    folder = _folder(relpath)
    from coverage.files import GlobMatcher  # the tool's own pattern semantics

    base = os.path.join(str(repository.root), folder) if folder else str(repository.root)

    def absolute(pattern: str) -> str:
        # As coverage.py does: a pattern that starts with a wildcard matches
        # anywhere, any other is relative to where coverage runs.
        return pattern if pattern.startswith("*") else os.path.normpath(os.path.join(base, pattern))

    roots = []
    for entry in [*run.get("source", []), *run.get("source_pkgs", []), *run.get("source_dirs", [])]:
        for candidate in (entry, entry.replace(".", "/")):
            folder_rel = os.path.normpath(os.path.join(folder, candidate)).replace(os.sep, "/")
            prefix = "" if folder_rel == "." else folder_rel + "/"
            if any(f.startswith(prefix) for f in files):
                roots.append(prefix)
                break
    include = [absolute(p) for p in run.get("include", []) + report.get("include", [])]
    omit = [absolute(p) for p in run.get("omit", []) + report.get("omit", [])]
    from coverage.exceptions import CoverageException

    try:
        including = GlobMatcher(include, "include") if include else None
        omitting = GlobMatcher(omit, "omit") if omit else None
    except (CoverageException, re.error) as exc:
        raise InputError(f"a pattern coverage.py cannot read: {exc}", path=relpath, field="include/omit") from None

    def selects(path: str) -> bool:
        if not path.endswith(".py"):
            return False
        if any(path.startswith(root) for root in roots):
            return True
        return including is not None and including.match(str(repository.path(path)))

    def omits(path: str) -> bool:
        return omitting is not None and omitting.match(str(repository.path(path)))

    if not roots and including is None and omitting is None:
        return None
    return ToolConfig(relpath, folder, selects, omits)


def _jest(repository: Repository, relpath: str) -> tuple[ToolConfig | None, str | None]:
    """A jest configuration's sources and omits, and why part of it is not
    applied (``coveragePathIgnorePatterns``)."""
    raw = _read(repository, relpath)
    if relpath.endswith("package.json") and b'"jest"' not in raw:
        return None, None
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise InputError(f"not valid JSON ({type(exc).__name__}: {exc})", path=relpath) from None
    in_package = relpath.endswith("package.json")
    config = data.get("jest") if in_package and isinstance(data, dict) else data
    if not isinstance(config, dict):
        return None, None
    where = "jest." if in_package else ""

    def strings(key: str) -> list[str]:
        value = config.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise InputError("must be a list of strings", path=relpath, field=where + key)
        return list(value)

    globs, ignores = strings("collectCoverageFrom"), strings("coveragePathIgnorePatterns")
    # The team's regular expressions are not run: a pattern can take exponential
    # time, and an omit is a relaxation anyway. Negated globs say the same thing.
    unread = (
        f"{relpath}: {where}coveragePathIgnorePatterns is not applied; leave files out with "
        "collectCoverageFrom negations (!glob), within the baseline's delegate.coverage_omit"
        if ignores
        else None
    )
    if not globs:
        return None, unread
    folder = _folder(relpath)
    root_dir = config.get("rootDir")
    if isinstance(root_dir, str) and root_dir:
        joined = os.path.normpath(os.path.join(folder or ".", root_dir.replace("<rootDir>", "."))).replace(os.sep, "/")
        folder = "" if joined == "." else joined
    positives = [g for g in globs if not g.startswith("!")]
    negatives = [g[1:] for g in globs if g.startswith("!")]
    from wcmatch import glob  # micromatch's semantics: **, {a,b}, extglobs; * does not cross /

    flags = glob.GLOBSTAR | glob.BRACE | glob.EXTGLOB
    try:
        selecting = glob.compile(positives, flags=flags) if positives else None
        omitting = glob.compile(negatives, flags=flags) if negatives else None
    except Exception as exc:  # wcmatch raises its own errors (a pattern limit, a bad pattern)
        raise InputError(
            f"a glob jest's rules cannot expand: {exc}", path=relpath, field=where + "collectCoverageFrom"
        ) from None

    def inside(path: str) -> str:
        return path[len(folder) + 1 :] if folder else path

    def selects(path: str) -> bool:
        return selecting is not None and selecting.match(inside(path))

    def omits(path: str) -> bool:
        return omitting is not None and omitting.match(inside(path))

    return ToolConfig(relpath, folder, selects, omits), unread


def read_configs(repository: Repository, files: Sequence[str]) -> tuple[list[ToolConfig], list[str]]:
    """The team's coverage configurations among ``files``, and the ones that
    cannot be read here (with why)."""
    configs: list[ToolConfig] = []
    unread: list[str] = []
    for relpath in files:
        name = relpath.rsplit("/", 1)[-1]
        config = None
        if name in _INI_SECTIONS or name == "pyproject.toml":
            config = _coverage_py(repository, relpath, files)
        elif name in ("package.json", "jest.config.json"):
            config, why = _jest(repository, relpath)
            if why:
                unread.append(why)
        elif name in _JS_CONFIGS:
            unread.append(f"{relpath}: JavaScript configuration is not evaluated; name the sources in the policy")
        if config is not None:
            configs.append(config)
    return configs, unread


def executable_lines(path: Path, relpath: str) -> tuple[tuple[int, ...], bool]:
    """The lines of a source file a coverage tool counts, and whether the
    count is exact: Python's statements as coverage.py finds them, with no
    exclusion (a ``# pragma: no cover`` or an ``exclude_lines`` pattern is
    the team's own relaxation); for other languages, and Python that does
    not parse here, every line that is not blank, a line comment or
    brackets alone (an over-count, never an under-count)."""
    try:
        size = path.stat().st_size
        if size > _MAX_SOURCE_BYTES:
            raise InputError(
                f"a coverage source larger than {_MAX_SOURCE_BYTES // 2**20} MiB",
                path=relpath,
                hint="the baseline can exclude it (coverage.exclude) or delegate omitting it",
            )
        text = path.read_bytes().decode("utf-8", errors="replace")
    except OSError as exc:
        raise InputError(f"cannot read a coverage source: {exc.strerror}", path=relpath) from None
    if relpath.endswith(".py"):
        if not text.strip():
            return (), True
        from coverage.exceptions import CoverageException
        from coverage.parser import PythonParser

        parser = PythonParser(text=text, exclude=None)
        try:
            parser.parse_source()
            return tuple(sorted(parser.statements)), True
        except (CoverageException, SyntaxError, ValueError, RecursionError, MemoryError):
            pass  # not Python this interpreter reads: count its lines instead
    return tuple(_code_lines(text.splitlines())), False


def _code_lines(lines: Iterable[str]) -> Iterable[int]:
    # No block-comment state: "/*" inside a string must not hide what follows.
    for number, line in enumerate(lines, 1):
        text = line.strip()
        if not text or text.startswith(("//", "#")) or not text.strip("{}()[];,"):
            continue
        yield number


_MAX_DEPLOYED_FILES = 50_000
_NOT_CODE = frozenset({".git", "node_modules", "__pycache__", ".venv", "venv", ".tox", ".pytest_cache", ".mypy_cache"})


def _deployed_files(repository: Repository, globs: Sequence[str], files: Sequence[str]) -> list[str]:
    """The source files the deployed code folders hold on disk (links
    followed inside the checkout, a git-ignored build folder included), each
    as the repository file it is: itself when listed, else the one listed
    file with its content (the original a build copy was made from), else
    itself (deployed code nobody committed still counts)."""
    root = Path(os.path.realpath(repository.root))
    listed = set(files)
    by_name: dict[str, list[str]] = {}
    for relpath in files:
        by_name.setdefault(relpath.rsplit("/", 1)[-1], []).append(relpath)
    digests: dict[str, str | None] = {}

    def digest(relpath: str) -> str | None:
        if relpath not in digests:
            path = root / relpath
            try:
                small = path.is_file() and path.stat().st_size <= _MAX_SOURCE_BYTES
                digests[relpath] = hashlib.sha256(path.read_bytes()).hexdigest() if small else None
            except OSError:
                digests[relpath] = None
        return digests[relpath]

    found: dict[str, None] = {}
    seen_dirs: set[Path] = set()
    for pattern in globs:
        folder, _, name = pattern.rpartition("/")  # a literal folder, a file-name glob
        top = root / folder if folder else root
        for dirpath, dirnames, filenames in os.walk(top, followlinks=True):
            here = Path(os.path.realpath(dirpath))
            if not here.is_relative_to(root) or here in seen_dirs:
                dirnames[:] = []
                continue
            seen_dirs.add(here)
            dirnames[:] = sorted(d for d in dirnames if d not in _NOT_CODE)
            for filename in sorted(filenames):
                real = Path(os.path.realpath(Path(dirpath) / filename))
                if not fnmatch.fnmatchcase(filename, name) or not real.is_relative_to(root) or not real.is_file():
                    continue
                relpath = real.relative_to(root).as_posix()
                if relpath not in listed:
                    same = [
                        c for c in by_name.get(filename, ()) if digest(c) is not None and digest(c) == digest(relpath)
                    ]
                    relpath = same[0] if len(same) == 1 else relpath
                found[relpath] = None
                if len(found) > _MAX_DEPLOYED_FILES:
                    # Counting part of the code would let files placed first hide the rest.
                    raise InputError(
                        f"more than {_MAX_DEPLOYED_FILES} source files under the deployed code folder",
                        path=folder or ".",
                        hint="name the sources in the policy (coverage.sources) and exclude what does not ship",
                    )
        seen_dirs.clear()
    return list(found)


def coverage_scope(
    repository: Repository,
    policy: CoverageSources,
    reports: Sequence[CoverageReport],
    deployed: Sequence[str] = (),
) -> CoverageScope:
    """The sources coverage is measured over, and what the team's
    configuration leaves out, for the project's files. ``deployed``: the
    code the judged templates' functions deploy (``folder/*.py``, see
    :func:`checker.facts.deployed_code.deployed_code`)."""
    prefix = repository.project + "/" if repository.project else ""
    files = [f for f in repository.files if f.startswith(prefix)]
    configs, unread = read_configs(repository, files)
    named: dict[str, str] = {}
    if policy.sources:
        named.update((f, "policy") for f in files if matches(local(repository, f), policy.sources))
    for config in configs:
        for f in files:
            if config.holds(f) and config.selects(f):
                named.setdefault(f, config.path)
    if deployed:
        # The code the artifact ships counts, whatever the configuration says;
        # through a linked folder too (git lists the link's target's files).
        for relpath in _deployed_files(repository, deployed, files):
            named.setdefault(relpath, "templates' function code")
    reported = {path for report in reports for path in report.files}
    candidates = sorted(named.keys() | reported)
    omits: dict[str, str] = {}
    for f in candidates:
        by = next((c.path for c in configs if c.holds(f) and c.omits(f)), None)
        if by is not None:
            omits[f] = by
    excluded = frozenset(f for f in candidates if matches(local(repository, f), policy.exclude))
    omitted = {f: by for f, by in omits.items() if matches(local(repository, f), policy.omit_within)}
    refused = {f: by for f, by in omits.items() if f not in omitted and f not in excluded}
    sources = frozenset(named) - excluded - omitted.keys()
    executable = {f: executable_lines(repository.path(f), f)[0] for f in sorted(sources - reported)}
    defined_by = tuple(dict.fromkeys(named.values()))
    return CoverageScope(
        sources,
        defined_by,
        executable,
        omitted,
        refused,
        excluded,
        tuple(unread),
        _unreported(repository, reports, reported - excluded - omitted.keys()),
    )


def _unreported(
    repository: Repository, reports: Sequence[CoverageReport], measured: Iterable[str]
) -> dict[str, tuple[int, ...]]:
    """For each measured Python file, the statements coverage.py finds in it
    that no report lists: lines the team's exclusions (``# pragma: no
    cover``, ``exclude_lines``, ``exclude_also``) kept out of its reports.
    They count, uncovered."""
    listed: dict[str, set[int]] = {}
    for report in reports:
        for path, cov in report.files.items():
            listed.setdefault(path, set()).update(cov.lines)
    found = {}
    for path in sorted(measured):
        if not path.endswith(".py"):
            continue
        statements, exact = executable_lines(repository.path(path), path)
        missing = tuple(line for line in statements if line not in listed.get(path, ()))
        if exact and missing:
            found[path] = missing
    return found
