"""Finding the files to check under a root, without following escapes.

Inside a git checkout every file git tracks (or would: untracked, not
ignored) is a candidate, whatever its name or folder, plus the build output
git ignores (``cdk.out`` beside a ``cdk.json``, ``.serverless`` beside a
``serverless.yml``). Outside git (a source zip) every file is walked, but
dependency and tool folders, each listed as skipped. Whether a candidate is
a CloudFormation template is decided from its content when it is loaded
(:mod:`checker.templates`): a template named ``stack.cfn`` is found and a
``package.json`` is not mistaken for one. Everything left out is in the
report with the reason.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from checker.errors import UsageError
from checker.loaders.limits import MAX_FILE_BYTES

if TYPE_CHECKING:
    from checker.policy import Exclude


# Outside git: folders not walked (dependencies, virtual environments, tool
# caches, build copies of templates such as ``.aws-sam/build``); each one
# skipped is listed in the report. Inside git, what git lists is walked.
SKIP_DIRS = frozenset(
    {
        "node_modules",
        "bower_components",
        "__pycache__",
        "venv",
        "site-packages",
        "cdk.out.bak",
        ".aws-sam",  # sam build's copies
        ".tox",
        ".nox",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
    }
)


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
    # The commit's files, when a folder was walked in a checkout; a template
    # not in the commit identical to one that is, is judged as a copy of it.
    committed: frozenset[str] | None = None


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
    except (OSError, ValueError, RecursionError):
        # An unreadable manifest only loses stack names: the templates beside
        # it are still found by content.
        return {}
    stacks: dict[Path, str] = {}
    artifacts = manifest.get("artifacts") if isinstance(manifest, dict) else None
    for name, artifact in (artifacts.items() if isinstance(artifacts, dict) else ()):
        props = artifact.get("properties") if isinstance(artifact, dict) else None
        if not isinstance(props, dict):
            continue
        if artifact.get("type") == "aws:cloudformation:stack" and isinstance(props.get("templateFile"), str):
            stack = props.get("stackName") or artifact.get("displayName") or name
            stacks[(assembly / props["templateFile"]).resolve()] = str(stack)
        elif artifact.get("type") == "cdk:cloud-assembly" and isinstance(props.get("directoryName"), str):
            stacks.update(_cdk_stacks((assembly / props["directoryName"]).resolve(), root, seen))
    return stacks


# Where build tools write the templates they generate: usually git-ignored,
# so walked from disk beside the project files that produce them.
BUILD_OUTPUTS = {"cdk.json": "cdk.out", "serverless.yml": ".serverless", "serverless.yaml": ".serverless",
                 "serverless.ts": ".serverless", "serverless.js": ".serverless", "serverless.json": ".serverless"}


def _regular(path: Path) -> bool:
    """A regular file (following a link): a pipe would block a read forever."""
    import stat

    try:
        return stat.S_ISREG(path.stat().st_mode)
    except OSError:
        return False


def _output_folder(config: Path, default: str) -> str:
    """Where a build tool writes: ``cdk.json`` may name another folder (``output``)."""
    if config.name != "cdk.json":
        return default
    try:
        data = json.loads(config.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return default
    output = data.get("output") if isinstance(data, dict) else None
    return output if isinstance(output, str) and output else default


def _git_files(root: Path) -> tuple[list[str], frozenset[str], frozenset[str]] | None:
    """Root-relative files of the commit, of the index (submodules included)
    and untracked but not ignored, which of them are tracked (in the commit
    or the index), and which are in the commit; None outside a git checkout. The commit's own list
    counts: a file taken out of the index (`git rm --cached`) is still in
    the commit a report names."""
    from checker.provenance import git, refuse_unwritable_names

    committed = git(root, "ls-tree", "-r", "-z", "--name-only", "HEAD") or ""  # none before a first commit
    tracked = git(root, "ls-files", "-z", "--cached", "--recurse-submodules")
    others = git(root, "ls-files", "-z", "--others", "--exclude-standard")
    if tracked is None or others is None:
        return None
    refuse_unwritable_names("\0".join((committed, tracked, others)).split("\0"))
    known = frozenset(p for p in "\0".join((committed, tracked)).split("\0") if p)
    in_commit = frozenset(p for p in committed.split("\0") if p)
    return sorted(known | {p for p in others.split("\0") if p}), known, in_commit


class _Walker:
    def __init__(self, root: Path, excludes: Sequence[Exclude], find_evidence: bool) -> None:
        self.root = root
        self.excludes = excludes
        self.find_evidence = find_evidence
        self.skipped: list[Skipped] = []
        self._skipped_paths: set[str] = set()
        self.stacks: dict[Path, str] = {}
        self.seen_assemblies: set[Path] = set()
        self.evidence: list[Candidate] = []
        self._namespaces: dict[Path, str | None] = {}
        self.evidence_searched = False
        self._venvs: dict[str, bool] = {}

    def rel(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()

    @cached_property
    def _git(self) -> tuple[list[str], frozenset[str], frozenset[str]] | None:
        return _git_files(self.root)

    @property
    def listing(self) -> list[str] | None:
        """What git lists (None outside git), asked when a folder is first
        walked: a run that names files (a hook) starts no git process."""
        return self._git[0] if self._git is not None else None

    @property
    def committed(self) -> frozenset[str] | None:
        """The files of the commit (HEAD), when git was asked (a folder was
        walked). Only these own untracked copies: a file merely staged is
        no more reviewed than the copy."""
        if "_git" not in self.__dict__ or self._git is None:
            return None
        return self._git[2]

    def skip(self, relpath: str, reason: str) -> None:
        if relpath not in self._skipped_paths:
            self._skipped_paths.add(relpath)
            self.skipped.append(Skipped(relpath, reason))

    def inside_root(self, path: Path) -> bool:
        try:
            path.resolve().relative_to(self.root)
        except ValueError:
            return False
        return True

    def walk(self, top: Path) -> Iterator[Candidate]:
        """Every file under ``top``: what git lists inside a checkout (any name,
        any folder) plus the build output it ignores; every file otherwise."""
        listing = self.listing
        prefix = self.rel(top)
        inside = [p for p in listing or () if prefix == "." or p == prefix or p.startswith(prefix + "/")]
        if not inside:
            # Outside git; or a folder git ignores, named on the command line
            # (build output: `checker check out/`): what is in it is what was asked for.
            yield from self._walk_disk(top)
            return
        outputs: set[Path] = set()
        for relpath in inside:
            path = self.root / relpath
            name = PurePosixPath(relpath).name
            held = self._untracked_elsewhere(relpath)
            if held is not None:
                self.skip(*held)
                continue
            if name in BUILD_OUTPUTS:
                output = Path(os.path.realpath(path.parent / _output_folder(path, BUILD_OUTPUTS[name])))
                if self.inside_root(output):
                    outputs.add(output)
                else:
                    self.skip(relpath, f"writes its output outside the root ({output}): not read")
            if not path.is_file() and not path.is_symlink():
                continue  # deleted in the working tree, or a submodule
            candidate = self.file(path)
            if candidate is not None:
                yield candidate
        for output in sorted(outputs | ({top / "cdk.out", top / ".serverless"} if top.is_dir() else set())):
            if output.is_dir() and not self._listed(output):
                yield from self._walk_disk(output)
            elif output in outputs and not output.exists():
                # An app whose templates exist only once synthesized or packaged: say so, never pass silently.
                self.skip(
                    self.rel(output),
                    "build output not there: synthesize or package the app (cdk synth, serverless package) "
                    "before checker check, or its templates are not judged",
                )
        if self.find_evidence:
            self.find_evidence_under(top)

    def _untracked_elsewhere(self, relpath: str) -> tuple[str, str] | None:
        """(folder, why) for an untracked file in a dependency or tool folder
        (a node_modules git does not ignore, a virtual environment, a CDK
        asset copy): not the team's, so not judged; the folder is listed.
        What git tracks is the team's wherever it sits."""
        tracked = self._git[1] if self._git is not None else frozenset()
        if relpath in tracked:
            return None
        parts = PurePosixPath(relpath).parts[:-1]
        for depth, part in enumerate(parts):
            folder = "/".join(parts[: depth + 1])
            if part in SKIP_DIRS or part == ".venv":
                return folder, "untracked dependency or tool folder, not walked (git does not ignore it)"
            if depth and parts[depth - 1] == "cdk.out" and part.startswith("asset."):
                return folder, "CDK asset folder (bundled code; the assembly's templates are in its manifest)"
            if self._venv(folder):
                return folder, "untracked virtual environment, not walked (git does not ignore it)"
        return None

    def _venv(self, folder: str) -> bool:
        if folder not in self._venvs:
            self._venvs[folder] = _is_venv(self.root / folder)
        return self._venvs[folder]

    def find_evidence_under(self, top: Path) -> None:
        """Coverage reports and scan results are build output git usually
        ignores: found on disk by name, outside dependency folders."""
        self.evidence_searched = True
        seen = {c.relpath for c in self.evidence}
        for dirpath, dirnames, filenames in os.walk(top):
            here = Path(dirpath)
            dirnames[:] = sorted(d for d in dirnames if self._not_walked(here / d) is None)
            for name in sorted(filenames):
                if is_evidence_name(name) and self.rel(here / name) not in seen and _regular(here / name):
                    self.file(here / name)

    def _listed(self, folder: Path) -> bool:
        """Whether git lists files in ``folder`` (then they were walked already)."""
        rel = self.rel(folder)
        return any(p.startswith(rel + "/") for p in self.listing or ())

    def _walk_disk(self, top: Path) -> Iterator[Candidate]:
        from checker.provenance import refuse_unwritable_names

        self.evidence_searched |= self.find_evidence  # file() takes the evidence it meets
        for dirpath, dirnames, filenames in os.walk(top):
            here = Path(dirpath)
            refuse_unwritable_names(self.rel(here / name) for name in (*dirnames, *filenames))
            if here.name == "cdk.out" or ((here / "manifest.json").is_file() and (here / "tree.json").is_file()):
                self.stacks.update(_cdk_stacks(here.resolve(), self.root, self.seen_assemblies))
            dirnames[:] = sorted(d for d in dirnames if self.keep_dir(here, d))
            for name in sorted(filenames):
                candidate = self.file(here / name)
                if candidate is not None:
                    yield candidate

    def file(self, path: Path) -> Candidate | None:
        """A candidate for any file (its content decides); evidence aside."""
        if is_evidence_name(path.name):
            if not self.find_evidence:
                return None
            evidence = self.candidate(path, explicit=False)
            if evidence is not None:
                self.evidence.append(evidence)
            return None
        return self.candidate(path, explicit=False)

    def keep_dir(self, parent: Path, name: str) -> bool:
        why = self._not_walked(parent / name)
        if why:
            self.skip(self.rel(parent / name), why)
        return why is None

    def _not_walked(self, path: Path) -> str | None:
        """Why a folder is not walked ("" for git's own), or None."""
        name = path.name
        exclude = excluded(self.rel(path), self.excludes)
        if exclude is not None:
            return _excluded_by(exclude)
        if name == ".git":
            return ""
        if path.is_symlink():
            # os.walk does not follow them either; saying so keeps nothing silent.
            return "symbolic link to a directory not followed"
        # Without git to say what is the team's, dependency and tool folders are
        # not walked; each is listed, so nothing is left out silently.
        if name in SKIP_DIRS or name.endswith(".egg-info") or _is_venv(path):
            return "dependency or tool folder, not walked (outside git, nothing says it is the team's)"
        if path.parent.name == "cdk.out" and name.startswith("asset."):
            return "CDK asset folder (bundled code; the assembly's templates are in its manifest)"
        return None

    def candidate(self, path: Path, *, explicit: bool) -> Candidate | None:
        relpath = self.rel(path)
        if not explicit and not _regular(path):
            self.skip(relpath, "not a regular file (a pipe, socket or device): not read")
            return None
        exclude = None if explicit else excluded(relpath, self.excludes)
        if exclude is not None:
            self.skip(_excluded_prefix(relpath, exclude), _excluded_by(exclude))
            return None
        if path.is_symlink() and not self.inside_root(path):
            self.skip(relpath, "symbolic link leads outside the root")
            return None
        if not explicit:
            try:
                size = path.stat().st_size
            except OSError:
                size = 0
            if size > MAX_FILE_BYTES:
                # CloudFormation takes templates up to 1 MB: this cannot be one.
                self.skip(relpath, f"{size} bytes, over the {MAX_FILE_BYTES}-byte limit: not read")
                return None
        parts = PurePosixPath(relpath).parts
        hint = None
        if "cdk.out" in parts or (self.stacks and path.resolve() in self.stacks):
            hint = "cdk"
        elif ".serverless" in parts:
            return Candidate(path, relpath, explicit, "serverless", self.serverless_namespace(path.parent))
        return Candidate(path, relpath, explicit, hint)

    def assembly_of(self, path: Path) -> Path | None:
        """The outermost cloud assembly (a cdk.out, or a folder with a manifest
        and a tree) that holds ``path``, inside the root."""
        found = None
        for parent in Path(os.path.realpath(path)).parents:
            if not parent.is_relative_to(self.root):
                break
            if parent.name == "cdk.out" or ((parent / "manifest.json").is_file() and (parent / "tree.json").is_file()):
                found = parent
        return found

    def serverless_namespace(self, folder: Path) -> str | None:
        """``service-stage`` from the Serverless Framework's state file beside
        its output: the prefix of the names the framework derives, and its
        default stack name. Only from build output (a state file in the
        commit is hand-made), and only for the service the committed
        ``serverless.yml`` beside it names; None otherwise."""
        if folder not in self._namespaces:
            state = folder / "serverless-state.json"
            committed = self.committed or frozenset()
            made = self.inside_root(state) and self.rel(state) not in committed
            service = _configured_service(folder.parent) if made else None
            self._namespaces[folder] = _serverless_namespace(state, service) if service else None
        return self._namespaces[folder]


def _configured_service(app: Path) -> str | None:
    """The ``service`` a Serverless app's YAML configuration names."""
    for name in ("serverless.yml", "serverless.yaml"):
        config = app / name
        if not _regular(config):
            continue
        try:
            text = config.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None
        match = re.search(r"^service:[ \t]*(?:\n[ \t]+name:[ \t]*)?[\"']?([A-Za-z0-9][A-Za-z0-9-]*)", text, re.M)
        return match.group(1) if match else None
    return None


def _serverless_namespace(state: Path, service: str) -> str | None:
    try:
        if not _regular(state) or state.stat().st_size > 10 * MAX_FILE_BYTES:
            return None
        data = json.loads(state.read_bytes())
    except (OSError, ValueError, RecursionError):
        return None
    body = data.get("service") if isinstance(data, dict) else None
    name = body.get("service") if isinstance(body, dict) else None
    if isinstance(name, dict):  # older framework versions: service: {name: ...}
        name = name.get("name")
    if name != service:
        return None
    # The stage the package was made for: its artifact folder names it
    # (serverless/<service>/<stage>/...); provider.stage is only the
    # configured default when --stage overrode it.
    package = data.get("package") if isinstance(data, dict) else None
    folder = package.get("artifactDirectoryName") if isinstance(package, dict) else None
    parts = folder.split("/") if isinstance(folder, str) else []
    provider = body.get("provider") if isinstance(body, dict) else None
    configured = provider.get("stage") if isinstance(provider, dict) else None
    stage = parts[2] if len(parts) > 2 and parts[1] == service else configured
    if isinstance(stage, str) and stage.strip():
        return f"{service}-{stage}"
    return None


def _excluded_prefix(relpath: str, exclude: Exclude) -> str:
    """The shortest leading part of ``relpath`` an exclusion matches: a folder
    excluded is listed once, not file by file."""
    parts = relpath.split("/")
    for i in range(1, len(parts) + 1):
        if exclude.matches("/".join(parts[:i])):
            return "/".join(parts[:i])
    return relpath


def discover(
    paths: Iterable[Path],
    root: Path,
    excludes: Sequence[Exclude] = (),
    *,
    sniff_named_files: bool = False,
    find_evidence: bool = True,
) -> Discovery:
    """Collect candidate template files under ``paths`` (files or directories).

    Every path must lie inside ``root``; findings name files relative to it.
    Files named explicitly are checked even if they do not look like
    templates, unless ``sniff_named_files`` (the pre-commit hook, which is
    handed every changed YAML and JSON file); directories are walked.
    """
    root = Path(os.path.realpath(root))
    walker = _Walker(root, excludes, find_evidence)
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
    # Every template a CDK manifest names is judged, wherever it sits.
    for template in sorted(walker.stacks):
        if not walker.inside_root(template):
            walker.skip(str(template), "a CDK manifest names this template outside the root: not read")
            continue
        relpath = walker.rel(template)
        if relpath not in found and template.is_file():
            named = walker.candidate(template, explicit=False)
            if named is not None:
                found[relpath] = named
    # A template of an assembly that was not walked (named on the command
    # line, or listed by git as untracked): its manifest still names its stack.
    for candidate in found.values():
        if candidate.kind_hint == "cdk" and candidate.path.resolve() not in walker.stacks:
            assembly = walker.assembly_of(candidate.path)
            if assembly is not None:
                walker.stacks.update(_cdk_stacks(assembly, root, walker.seen_assemblies))
    if find_evidence and not walker.evidence_searched:
        # Files were named, no folder walked: the repository rules still need
        # the evidence of the project they judge (the root, for files).
        walker.find_evidence_under(root)
    candidates = tuple(_with_stack(c, walker.stacks) for _, c in sorted(found.items()))
    return Discovery(root, candidates, tuple(walker.skipped), tuple(walker.evidence), walker.committed)


def _with_stack(candidate: Candidate, stacks: dict[Path, str]) -> Candidate:
    if not stacks:
        return candidate
    stack = stacks.get(candidate.path.resolve())
    if stack is None:
        return candidate
    return Candidate(candidate.path, candidate.relpath, candidate.explicit, "cdk", stack)
