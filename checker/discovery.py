"""Finding the files to check under a root, without following escapes.

Discovery only decides *which* files are candidates; whether a candidate is a
CloudFormation template is decided from its content when it is loaded
(:mod:`checker.templates`), so that a template named ``stack.txt.json`` is
found and a ``package.json`` is not mistaken for one.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from checker.errors import UsageError

if TYPE_CHECKING:
    from checker.policy import Exclude

TEMPLATE_SUFFIXES = (".yaml", ".yml", ".json", ".template")

# Directories that never hold a team's own templates: VCS data, dependencies,
# virtual environments, tool caches, and build output that copies templates
# (``.aws-sam/build``). Hidden directories are skipped too, except the
# Serverless Framework's output folder.
SKIP_DIRS = frozenset({"node_modules", "bower_components", "__pycache__", "venv", "site-packages", "cdk.out.bak"})
KEEP_HIDDEN = frozenset({".serverless"})


# Names build tools give their outputs; discovery picks these up, and the
# content still decides the format.
EVIDENCE_NAMES = (
    ".coverage",
    "coverage.xml",
    "cobertura.xml",
    "cobertura-coverage.xml",
    "coverage.cobertura.xml",
    "coverage.json",
    "lcov.info",
    "jacoco.xml",
    "jacocoTestReport.xml",
    "coverage.out",
    "cover.out",
    "bandit.json",
    "bandit-report.json",
    "checkov.json",
    "results_json.json",
    "cfn-lint.json",
)
EVIDENCE_SUFFIXES = (".sarif",)
_NAMES = frozenset(EVIDENCE_NAMES)


def is_evidence_name(name: str) -> bool:
    return name in _NAMES or name.endswith(EVIDENCE_SUFFIXES)


@dataclass(frozen=True, slots=True)
class Candidate:
    """A file that may be a template.

    ``relpath`` is POSIX-style and relative to the root; ``kind_hint`` is set
    when the location says what produced it (``cdk``, ``serverless``);
    ``stack`` is the stack name a CDK manifest gives; ``explicit`` means the
    user named the file, so it is checked even if it does not look like a
    template.
    """

    path: Path
    relpath: str
    explicit: bool = False
    kind_hint: str | None = None
    stack: str | None = None


@dataclass(frozen=True, slots=True)
class Skipped:
    relpath: str
    reason: str


@dataclass(frozen=True, slots=True)
class Discovery:
    root: Path
    candidates: tuple[Candidate, ...]
    skipped: tuple[Skipped, ...]
    evidence: tuple[Candidate, ...] = ()  # files named like coverage reports or scan results


def _is_venv(directory: Path) -> bool:
    return (directory / "pyvenv.cfg").is_file()


def excluded(relpath: str, excludes: Sequence[Exclude]) -> Exclude | None:
    """The first exclusion that keeps ``relpath`` (or a folder above it) out, if any."""
    return next((e for e in excludes if e.matches(relpath)), None)


def _excluded_by(exclude: Exclude) -> str:
    return f"excluded by {exclude.source}: {exclude.glob}"


def _cdk_stacks(assembly: Path, root: Path, seen: set[Path]) -> dict[Path, str]:
    """Map each stack template of a cloud assembly (and its nested ones) to its stack name."""
    manifest_path = assembly / "manifest.json"
    if assembly in seen or not manifest_path.is_file():
        return {}
    seen.add(assembly)
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        # An unreadable manifest only loses stack names: the templates beside
        # it are still found by content.
        return {}
    stacks: dict[Path, str] = {}
    artifacts = manifest.get("artifacts") if isinstance(manifest, dict) else None
    for name, artifact in (artifacts or {}).items():
        if not isinstance(artifact, dict):
            continue
        props = artifact.get("properties") or {}
        if artifact.get("type") == "aws:cloudformation:stack" and isinstance(props.get("templateFile"), str):
            stack = props.get("stackName") or artifact.get("displayName") or name
            stacks[(assembly / props["templateFile"]).resolve()] = str(stack)
        elif artifact.get("type") == "cdk:cloud-assembly" and isinstance(props.get("directoryName"), str):
            stacks.update(_cdk_stacks((assembly / props["directoryName"]).resolve(), root, seen))
    return stacks


class _Walker:
    def __init__(self, root: Path, excludes: Sequence[Exclude]) -> None:
        self.root = root
        self.excludes = excludes
        self.skipped: list[Skipped] = []
        self.stacks: dict[Path, str] = {}
        self.seen_assemblies: set[Path] = set()
        self.evidence: list[Candidate] = []

    def rel(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()

    def inside_root(self, path: Path) -> bool:
        try:
            path.resolve().relative_to(self.root)
        except ValueError:
            return False
        return True

    def walk(self, top: Path) -> Iterator[Candidate]:
        for dirpath, dirnames, filenames in os.walk(top):
            here = Path(dirpath)
            if here.name == "cdk.out" or ((here / "manifest.json").is_file() and (here / "tree.json").is_file()):
                self.stacks.update(_cdk_stacks(here.resolve(), self.root, self.seen_assemblies))
            dirnames[:] = sorted(d for d in dirnames if self.keep_dir(here, d))
            for name in sorted(filenames):
                if is_evidence_name(name):
                    evidence = self.candidate(here / name, explicit=False)
                    if evidence is not None:
                        self.evidence.append(evidence)
                    continue
                if not name.endswith(TEMPLATE_SUFFIXES):
                    continue
                candidate = self.candidate(here / name, explicit=False)
                if candidate is not None:
                    yield candidate

    def keep_dir(self, parent: Path, name: str) -> bool:
        path = parent / name
        if name in SKIP_DIRS or (name.startswith(".") and name not in KEEP_HIDDEN):
            return False
        if name.endswith(".egg-info") or (parent.name == "cdk.out" and name.startswith("asset.")):
            return False
        exclude = excluded(self.rel(path), self.excludes)
        if exclude is not None:
            self.skipped.append(Skipped(self.rel(path), _excluded_by(exclude)))
            return False
        if path.is_symlink():
            # os.walk does not follow them either; saying so keeps nothing silent.
            self.skipped.append(Skipped(self.rel(path), "symbolic link to a directory not followed"))
            return False
        return not _is_venv(path)

    def candidate(self, path: Path, *, explicit: bool) -> Candidate | None:
        relpath = self.rel(path)
        exclude = None if explicit else excluded(relpath, self.excludes)
        if exclude is not None:
            self.skipped.append(Skipped(relpath, _excluded_by(exclude)))
            return None
        if path.is_symlink() and not self.inside_root(path):
            self.skipped.append(Skipped(relpath, "symbolic link leads outside the root"))
            return None
        parts = PurePosixPath(relpath).parts
        hint = None
        if "cdk.out" in parts or (self.stacks and path.resolve() in self.stacks):
            hint = "cdk"
        elif ".serverless" in parts:
            hint = "serverless"
        return Candidate(path, relpath, explicit, hint)


def discover(
    paths: Iterable[Path], root: Path, excludes: Sequence[Exclude] = (), *, sniff_named_files: bool = False
) -> Discovery:
    """Collect candidate template files under ``paths`` (files or directories).

    Every path must lie inside ``root``; findings name files relative to it.
    Files named explicitly are checked even if they do not look like
    templates, unless ``sniff_named_files`` (the pre-commit hook, which is
    handed every changed YAML and JSON file); directories are walked.
    """
    root = Path(os.path.realpath(root))
    walker = _Walker(root, excludes)
    found: dict[str, Candidate] = {}
    for given in paths:
        if not given.exists():
            raise UsageError(f"no such file or directory: {given}")
        # Resolve the folder, not a file's own link, so a linked file is still
        # seen as a link and checked against the root.
        if given.is_dir():
            absolute = Path(os.path.realpath(given))
        else:
            absolute = Path(os.path.realpath(given.parent)) / given.name
        try:
            absolute.relative_to(root)
        except ValueError:
            raise UsageError(f"{given} is outside the root {root}", hint="pass --root to widen it") from None
        if absolute.is_dir():
            for candidate in walker.walk(absolute):
                found.setdefault(candidate.relpath, candidate)
        else:
            explicit = walker.candidate(absolute, explicit=not sniff_named_files)
            if explicit is not None:
                found[explicit.relpath] = explicit
    candidates = tuple(_with_stack(c, walker.stacks) for _, c in sorted(found.items()))
    return Discovery(root, candidates, tuple(walker.skipped), tuple(walker.evidence))


def _with_stack(candidate: Candidate, stacks: dict[Path, str]) -> Candidate:
    if not stacks:
        return candidate
    stack = stacks.get(candidate.path.resolve())
    if stack is None:
        return candidate
    return Candidate(candidate.path, candidate.relpath, candidate.explicit, "cdk", stack)
