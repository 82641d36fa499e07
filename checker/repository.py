"""The repository a check runs over: its files, and what git knows of them.

Read once per run, at the edge (file system and ``git`` subprocesses), and
handed to the repository-scope fact views as plain data. The *project* is
the directory being checked (``checker check services/orders``), or the root
when several paths are given; paths are always relative to the root.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

from checker.errors import InputError
from checker.provenance import git
from checker.times import utc_text

# Not the team's own files: VCS data, dependencies, environments, caches.
_SKIP_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        "node_modules",
        "bower_components",
        "__pycache__",
        ".venv",
        "venv",
        ".tox",
        ".nox",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        "site-packages",
        ".gradle",
        "target",
        ".checker-cache",
        # Build output: copies of the team's code and templates (the templates
        # are judged through discovery; the code through its tracked original).
        "cdk.out",
        ".aws-sam",
        ".serverless",
    }
)
_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@")


def _split_z(text: str | None) -> list[str]:
    return [p for p in (text or "").split("\0") if p]


@dataclass(frozen=True)
class Repository:
    """The project's files (root-relative POSIX paths) and their git state.

    ``clean`` holds the tracked files with no change in the working tree:
    their age is their last commit's, not their modification time (which a
    fresh clone sets to the moment of checkout).
    """

    root: Path
    project: str
    files: tuple[str, ...]
    in_git: bool
    clean: frozenset[str]
    # Every file git tracks in the project, dependency and build folders
    # included: a key committed under target/ or node_modules/ is committed.
    tracked: tuple[str, ...] = ()
    # The top of the git checkout, when the root is below it (a monorepo
    # service checked with --root at its own folder).
    top: Path | None = None

    def path(self, relpath: str) -> Path:
        return self.root / relpath

    def age(self, relpath: str) -> float | None:
        """When a file was last written: a committed, unchanged file at its
        last commit (a checkout rewrites files, not their content); any other
        at its modification time."""
        if relpath in self.clean:
            out = git(self.root, "log", "-1", "--format=%ct", "--", relpath)
            if out and out.strip().isdigit():
                return float(out.strip())
        try:
            return self.path(relpath).stat().st_mtime
        except OSError:
            return None

    def changed_after(self, relpaths: Iterable[str], moment: float) -> tuple[str, float] | None:
        """One of ``relpaths`` whose content may have changed after ``moment``,
        and when; None when none did. A file changed if it was written after
        ``moment`` and, when it is committed and unchanged, was also committed
        after it: a fresh checkout writes every file anew without changing
        what any of them says."""
        written: dict[str, float] = {}
        for rel in relpaths:
            try:
                mtime = self.path(rel).stat().st_mtime
            except OSError:
                continue
            if mtime > moment:
                written[rel] = mtime
        edited = [(mtime, rel) for rel, mtime in written.items() if rel not in self.clean]
        if edited:
            mtime, rel = max(edited)
            return rel, mtime
        committed = sorted(rel for rel in written if rel in self.clean)
        since = utc_text(datetime.fromtimestamp(moment, UTC))
        for start in range(0, len(committed), 500):
            chunk = committed[start : start + 500]
            out = git(
                self.root, "log", "-1", "--format=%ct", "--name-only", "--relative", f"--since={since}", "--", *chunk
            )
            lines = (out or "").split("\n")
            if lines[0].strip().isdigit() and float(lines[0]) > moment:
                named = set(chunk)
                return next((line for line in lines[1:] if line in named), chunk[0]), float(lines[0])
        return None

    def changed_lines(self, base_ref: str) -> tuple[str, dict[str, frozenset[int]]]:
        """Lines added or changed since the merge base with ``base_ref``
        (commits and uncommitted edits), by file; and the merge base."""
        if not self.in_git:
            raise InputError(f"--base-ref {base_ref}: the root is not in a git checkout", field="--base-ref")
        base = git(self.root, "merge-base", base_ref, "HEAD")
        if base is None:
            raise InputError(
                f"no merge base between {base_ref!r} and HEAD",
                field="--base-ref",
                hint=f"fetch the base first (git fetch origin {base_ref.removeprefix('origin/')}); "
                "a shallow clone needs enough depth to reach it",
            )
        base = base.strip()
        diff = git(self.root, "diff", "-U0", "--no-color", "--no-ext-diff", "--no-renames", "--relative", base)
        if diff is None:
            raise InputError(f"git diff against {base} failed", field="--base-ref")
        return base, _parse_diff(diff)


def _parse_diff(diff: str) -> dict[str, frozenset[int]]:
    changed: dict[str, set[int]] = {}
    current: set[int] | None = None
    for line in diff.splitlines():
        if line.startswith("+++ "):
            target = line[4:]
            if target == "/dev/null":
                current = None
                continue
            target = target.strip('"')
            current = changed.setdefault(target[2:] if target.startswith("b/") else target, set())
        elif line.startswith("@@") and current is not None:
            match = _HUNK.match(line)
            if match:
                start, count = int(match.group(1)), int(match.group(2) or 1)
                current.update(range(start, start + count))
    return {path: frozenset(lines) for path, lines in changed.items() if lines}


def project_of(paths: Sequence[Path], root: Path) -> str:
    """The project a check covers: the one directory given, else the root."""
    directories = [p for p in paths if p.is_dir()]
    if len(paths) == 1 and len(directories) == 1:
        rel = Path(os.path.realpath(directories[0])).relative_to(root).as_posix()
        return "" if rel == "." else rel
    return ""


def _walk(top: Path, root: Path) -> list[str]:
    found: list[str] = []
    for dirpath, dirnames, filenames in os.walk(top):
        here = Path(dirpath)
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS and not (here / d / "pyvenv.cfg").is_file())
        rel_dir = here.relative_to(root).as_posix()
        prefix = "" if rel_dir == "." else rel_dir + "/"
        found.extend(prefix + name for name in sorted(filenames))
    return found


def load_repository(root: Path, project: str) -> Repository:
    """List the project's files: git's view (tracked and untracked but not
    ignored) inside a checkout, a walk of the folder otherwise."""
    root = Path(os.path.realpath(root))
    top = root / project if project else root
    tracked = git(top, "ls-files", "-z", "--cached", "--full-name")
    toplevel = git(top, "rev-parse", "--show-toplevel")
    if tracked is None or toplevel is None:
        walked = tuple(_walk(top, root))
        return Repository(root, project, walked, False, frozenset(), walked)
    # git prints paths from the top of the checkout; we want them from the root.
    git_top = Path(os.path.realpath(toplevel.strip()))

    def from_root(path: str) -> str | None:
        try:
            return (git_top / path).relative_to(root).as_posix()
        except ValueError:
            return None

    # The commit's files count with the index's: one taken out of the index
    # (`git rm --cached`) is still in the commit a report names.
    committed = git(top, "ls-tree", "-r", "-z", "--name-only", "--full-name", "HEAD")
    listed = {p for p in map(from_root, _split_z(tracked) + _split_z(committed)) if p is not None}
    others = git(top, "ls-files", "-z", "--others", "--exclude-standard", "--full-name")
    untracked = {p for p in map(from_root, _split_z(others)) if p is not None}
    changed_out = git(top, "diff", "--name-only", "-z", "HEAD", "--")
    changed = {p for p in map(from_root, _split_z(changed_out)) if p is not None}
    if changed_out is None:  # no commit yet: nothing is clean
        changed = listed
    # What git tracks is the team's, in any folder (src/target/runner.py is
    # code to scan); untracked files in dependency or tool folders are not.
    files = sorted(
        p
        for p in listed | {u for u in untracked if not _SKIP_DIRS.intersection(PurePosixPath(u).parts)}
        if (root / p).is_file()
    )
    # What REPO003 reads: every tracked file in any folder, and untracked ones
    # outside dependency and build folders (a node_modules git does not ignore
    # holds the documentation's example keys, not the team's).
    return Repository(root, project, tuple(files), True, frozenset(listed - changed - untracked), tuple(files), git_top)
