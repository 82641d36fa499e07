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

_MAX_SOURCE_BYTES = 2 * 1024 * 1024
_JS_CONFIGS = ("jest.config.js", "jest.config.ts", "jest.config.mjs", "jest.config.cjs")
_INI_SECTIONS = {".coveragerc": ("run", "report"), "setup.cfg": ("coverage:run", "coverage:report")}
_INI_SECTIONS["tox.ini"] = _INI_SECTIONS["setup.cfg"]


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


def _coverage_settings(
    repository: Repository, relpath: str
) -> tuple[dict[str, list[str]], dict[str, list[str]]] | None:
    """The [run] and [report] settings of a coverage.py configuration file,
    or None when the file has none."""
    name = relpath.rsplit("/", 1)[-1]
    try:
        text = repository.path(relpath).read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", path=relpath) from None
    if name == "pyproject.toml":
        if "tool.coverage" not in text and "[tool]" not in text:
            return None
        try:
            tool = tomllib.loads(text).get("tool", {})
        except tomllib.TOMLDecodeError as exc:
            raise InputError(f"not valid TOML ({exc})", path=relpath) from None
        coverage = tool.get("coverage") if isinstance(tool, dict) else None
        if not isinstance(coverage, dict):
            return None
        sections = [coverage.get("run"), coverage.get("report")]
    else:
        run_name, report_name = _INI_SECTIONS[name]
        if name != ".coveragerc" and "[coverage:" not in text:
            return None
        parser = configparser.RawConfigParser()
        try:
            parser.read_string(text, source=relpath)
        except configparser.Error as exc:
            raise InputError(f"not a readable ini file ({exc.message})", path=relpath) from None
        sections = [
            dict(parser.items(section)) if parser.has_section(section) else None for section in (run_name, report_name)
        ]
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
    for entry in [*run.get("source", []), *run.get("source_pkgs", [])]:
        for candidate in (entry, entry.replace(".", "/")):
            folder_rel = os.path.normpath(os.path.join(folder, candidate)).replace(os.sep, "/")
            prefix = "" if folder_rel == "." else folder_rel + "/"
            if any(f.startswith(prefix) for f in files):
                roots.append(prefix)
                break
    include = [absolute(p) for p in run.get("include", []) + report.get("include", [])]
    omit = [absolute(p) for p in run.get("omit", []) + report.get("omit", [])]
    including = GlobMatcher(include, "include") if include else None
    omitting = GlobMatcher(omit, "omit") if omit else None

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


def _jest(repository: Repository, relpath: str) -> ToolConfig | None:
    raw = repository.path(relpath).read_bytes()
    if relpath.endswith("package.json") and b'"jest"' not in raw:
        return None
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise InputError(f"not valid JSON ({exc})", path=relpath) from None
    config = data.get("jest") if relpath.endswith("package.json") and isinstance(data, dict) else data
    if not isinstance(config, dict):
        return None
    where = "jest" if relpath.endswith("package.json") else None

    def strings(key: str) -> list[str]:
        value = config.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise InputError("must be a list of strings", path=relpath, field=f"{where}.{key}" if where else key)
        return list(value)

    globs, ignores = strings("collectCoverageFrom"), strings("coveragePathIgnorePatterns")
    if not globs and not ignores:
        return None
    folder = _folder(relpath)
    root_dir = config.get("rootDir")
    if isinstance(root_dir, str) and root_dir:
        folder = os.path.normpath(os.path.join(folder, root_dir)).replace(os.sep, "/").removeprefix(".")
    base = str(repository.root / folder) if folder else str(repository.root)
    positives = [g for g in globs if not g.startswith("!")]
    negatives = [g[1:] for g in globs if g.startswith("!")]
    try:
        patterns = [re.compile(p.replace("<rootDir>", base)) for p in ignores]
    except re.error as exc:
        raise InputError(
            f"not a regular expression ({exc})", path=relpath, field="coveragePathIgnorePatterns"
        ) from None
    from wcmatch import glob  # micromatch's semantics: **, {a,b}, extglobs; * does not cross /

    flags = glob.GLOBSTAR | glob.BRACE | glob.EXTGLOB

    def inside(path: str) -> str:
        return path[len(folder) + 1 :] if folder else path

    def selects(path: str) -> bool:
        return bool(positives) and glob.globmatch(inside(path), positives, flags=flags)

    def omits(path: str) -> bool:
        if negatives and glob.globmatch(inside(path), negatives, flags=flags):
            return True
        return any(p.search(str(repository.path(path))) for p in patterns)

    return ToolConfig(relpath, folder, selects, omits)


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
            config = _jest(repository, relpath)
        elif name in _JS_CONFIGS:
            unread.append(f"{relpath}: JavaScript configuration is not evaluated; name the sources in the policy")
        if config is not None:
            configs.append(config)
    return configs, unread


def executable_lines(path: Path, relpath: str) -> tuple[int, ...]:
    """The lines of a source file that a coverage tool would count: Python's
    statements as coverage.py finds them; for other languages, lines that
    hold code (not blank, not only a comment or brackets)."""
    try:
        with open(path, "rb") as handle:
            text = handle.read(_MAX_SOURCE_BYTES).decode("utf-8", errors="replace")
    except OSError as exc:
        raise InputError(f"cannot read a coverage source: {exc.strerror}", path=relpath) from None
    if relpath.endswith(".py"):
        from coverage.exceptions import CoverageException
        from coverage.parser import PythonParser

        parser = PythonParser(text=text)
        try:
            parser.parse_source()
            return tuple(sorted(parser.statements))
        except (CoverageException, SyntaxError, ValueError):
            pass  # not Python coverage.py can read: count its lines of code
    return tuple(_code_lines(text.splitlines()))


def _code_lines(lines: Iterable[str]) -> Iterable[int]:
    in_block = False
    for number, line in enumerate(lines, 1):
        text = line.strip()
        if in_block:
            if "*/" not in text:
                continue
            in_block = False
            text = text.split("*/", 1)[1].strip()
        if text.startswith("/*"):
            if "*/" not in text:
                in_block = True
                continue
            text = text.split("*/", 1)[1].strip()
        if not text or text.startswith(("//", "#", "<!--", "--")) or not text.strip("{}()[];,"):
            continue
        yield number


def coverage_scope(repository: Repository, policy: CoverageSources, reports: Sequence[CoverageReport]) -> CoverageScope:
    """The sources coverage is measured over, and what the team's
    configuration leaves out, for the project's files."""
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
    executable = {f: executable_lines(repository.path(f), f) for f in sorted(sources - reported)}
    defined_by = tuple(dict.fromkeys(named.values()))
    return CoverageScope(sources, defined_by, executable, omitted, refused, excluded, tuple(unread))
