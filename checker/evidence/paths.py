"""Mapping the file names an evidence file gives to files of the repository.

Tools write names their own way: absolute paths of the machine that ran the
tests (``/home/runner/work/app/src/app.py``), paths relative to where they
ran (``src/app.py``), to a source root (Cobertura's ``<source>``), or a Java
package (``com/acme/Orders.java``). A name is tried as written, then against
each base folder, then by its longest unambiguous tail among the repository's
files. Names that match nothing stay unresolved and are reported.
"""

from __future__ import annotations

import hashlib
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
        self._digests: dict[str, str | None] = {}

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
        on_disk: list[Path] = []
        if os.path.isabs(name):
            found = self.inside(name)
            if found is not None:
                return found
            on_disk.append(Path(os.path.normpath(name)))
        relative = name.lstrip("/")
        for base in (*bases, ""):
            joined = os.path.normpath(os.path.join(base, relative)) if base else os.path.normpath(relative)
            if joined in self.files:
                return joined
            if not joined.startswith(".."):
                on_disk.append(self.root / joined)
        return self._by_content(relative, on_disk) or self._by_tail(relative, bases)

    def _by_content(self, name: str, copies: Sequence[Path]) -> str | None:
        """The repository file a build copy was made from: the copy the report
        names still exists (an ignored ``build/`` folder), and exactly one
        file of the repository with its name has its content."""
        candidates = self._by_name.get(PurePosixPath(name).name, [])
        if not candidates:
            return None
        for copy in copies:
            digest = self._sourced_digest(copy)
            if digest is None:
                continue
            same = [c for c in candidates if self._digest_of(c) == digest]
            if len(same) == 1:
                return same[0]
        return None

    def _digest_of(self, relpath: str) -> str | None:
        if relpath not in self._digests:
            self._digests[relpath] = self._sourced_digest(self.root / relpath)
        return self._digests[relpath]

    def _sourced_digest(self, path: Path) -> str | None:
        """The digest of a source-sized regular file inside the checkout; None
        for anything else (a device, a link leading out, a huge blob): matching
        by content reads only what could be a copy of the team's code."""
        try:
            real = path.resolve()
            if not real.is_relative_to(self.root) or not real.is_file() or real.stat().st_size > _MAX_MATCHED_BYTES:
                return None
            return _digest(real)
        except OSError:
            return None

    def _by_tail(self, name: str, bases: Sequence[str] = ()) -> str | None:
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
        # Two services with the same layout (orders/src/x/main.py and
        # products/src/x/main.py): the one beside the evidence file wins.
        if len(best) > 1 and bases:
            near = [c for c in best if any(base and c.startswith(base + "/") for base in bases)]
            best = near if len(near) == 1 else best
        # A bare file name matching two files (two app.py) is ambiguous, and a
        # longer name must agree on its folder too (a foreign
        # ``site-packages/x/__init__.py`` is not our ``checker/__init__.py``).
        if len(best) != 1 or best_len < min(2, len(parts)):
            return None
        return best[0]


_MAX_MATCHED_BYTES = 16 * 1024 * 1024


def _digest(path: Path) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


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
