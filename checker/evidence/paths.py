"""Mapping the file names an evidence file gives to files of the repository.

Tools write names their own way: absolute paths of the machine that ran the
tests (``/home/runner/work/app/src/app.py``), paths relative to where they
ran (``src/app.py``), to a source root (Cobertura's ``<source>``), or a Java
package (``com/acme/Orders.java``). A name is tried as written, then against
each base folder, then by its longest unambiguous tail among the repository's
files. Names that match nothing stay unresolved and are reported.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path, PurePosixPath


class PathResolver:
    def __init__(self, root: Path, files: Iterable[str]) -> None:
        self.root = root
        self.files = frozenset(files)
        self._by_name: dict[str, list[str]] = defaultdict(list)
        for rel in self.files:
            self._by_name[rel.rsplit("/", 1)[-1]].append(rel)
        self._memo: dict[tuple[str, tuple[str, ...]], str | None] = {}

    def inside(self, absolute: str) -> str | None:
        try:
            rel = Path(os.path.normpath(absolute)).relative_to(self.root).as_posix()
        except ValueError:
            return None
        return rel if rel in self.files else None

    def resolve(self, name: str, bases: Sequence[str] = ()) -> str | None:
        """The root-relative path of the repository file ``name`` refers to;
        ``bases`` are root-relative folders to try it against."""
        key = (name, tuple(bases))
        if key not in self._memo:
            self._memo[key] = self._resolve(name.replace("\\", "/"), bases)
        return self._memo[key]

    def _resolve(self, name: str, bases: Sequence[str]) -> str | None:
        if name.startswith("file://"):
            name = name[len("file://") :]
        if os.path.isabs(name):
            found = self.inside(name)
            if found is not None:
                return found
        relative = name.lstrip("/")
        for base in (*bases, ""):
            joined = os.path.normpath(os.path.join(base, relative)) if base else os.path.normpath(relative)
            if joined in self.files:
                return joined
        return self._by_tail(relative)

    def _by_tail(self, name: str) -> str | None:
        parts = PurePosixPath(name).parts
        if not parts:
            return None
        candidates = self._by_name.get(parts[-1], [])
        best: list[str] = []
        best_len = 0
        for candidate in candidates:
            theirs = PurePosixPath(candidate).parts
            common = 0
            while common < min(len(parts), len(theirs)) and parts[-1 - common] == theirs[-1 - common]:
                common += 1
            if common > best_len:
                best, best_len = [candidate], common
            elif common == best_len:
                best.append(candidate)
        # A bare file name matching two files (two app.py) is ambiguous, and a
        # longer name must agree on its folder too (a foreign
        # ``site-packages/x/__init__.py`` is not our ``checker/__init__.py``).
        if len(best) != 1 or best_len < min(2, len(parts)):
            return None
        return best[0]


def folder_of(relpath: str) -> str:
    """The folder of a root-relative path ("" at the root)."""
    return relpath.rsplit("/", 1)[0] if "/" in relpath else ""


class Names:
    """The names one evidence file gives, resolved against the repository
    (with ``bases`` as folders to try), remembering those that match nothing."""

    def __init__(self, resolver: PathResolver, bases: Sequence[str]) -> None:
        self.resolver = resolver
        self.bases = list(bases)
        self.unresolved: set[str] = set()

    def __call__(self, name: str) -> str | None:
        resolved = self.resolver.resolve(name, self.bases)
        if resolved is None:
            self.unresolved.add(name)
        return resolved
