"""A result cache keyed by content digest, so an unchanged rerun is near-instant.

An entry holds one template's outcome (or "not a template"), under a key
made of everything the outcome depends on: the file's bytes and place, the
tool version, the rules' source files, the effective rule settings, the
environment and the IAM catalogue. Change any of them and the key changes.
Entries are JSON written atomically; an unreadable entry is a miss.
Templates with inline suppressions are not cached (they carry source lines
the waiver stage reports).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from checker import __version__
from checker.discovery import Candidate
from checker.engine import TemplateOutcome, TemplateSummary
from checker.ruleapi import Finding, Location

_NOT_A_TEMPLATE = {"template": False}


def run_salt(rule_sources: Sequence[Path], settings: Mapping[str, Any], env: str | None, extra: str) -> str:
    """The part of every key that is the same for the whole run."""
    digest = hashlib.sha256(f"checker {__version__}\0{env}\0{extra}\0".encode())
    for source in sorted(rule_sources):
        for file in sorted(p for p in source.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
            digest.update(file.relative_to(source).as_posix().encode() + b"\0" + file.read_bytes() + b"\0")
    digest.update(json.dumps(settings, sort_keys=True, default=str).encode())
    return digest.hexdigest()


class JsonStore:
    """JSON documents on disk by key, written atomically. An unreadable one
    is a miss and an unwritable one is skipped: a cache only saves time."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _path(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.json"

    def get(self, key: str) -> Any | None:
        try:
            return json.loads(self._path(key).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def put(self, key: str, data: Any) -> None:
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(data, handle)
            os.replace(tmp, path)
        except OSError:
            pass


class OutcomeCache:
    def __init__(self, directory: Path, salt: str) -> None:
        self.store = JsonStore(directory)
        self.salt = salt

    def key(self, candidate: Candidate, raw: bytes) -> str:
        place = f"{candidate.relpath}\0{candidate.explicit}\0{candidate.kind_hint}\0{candidate.stack}\0"
        return hashlib.sha256(self.salt.encode() + place.encode() + hashlib.sha256(raw).digest()).hexdigest()

    def get(self, key: str) -> tuple[bool, TemplateOutcome | None]:
        """(hit, outcome); a hit with None means "not a template"."""
        data = self.store.get(key)
        if data is None:
            return False, None
        if data == _NOT_A_TEMPLATE:
            return True, None
        try:
            return True, _decode(data)
        except (KeyError, TypeError, ValueError):
            return False, None

    def put(self, key: str, outcome: TemplateOutcome | None) -> None:
        if outcome is not None and outcome.inline:
            return
        self.store.put(key, _NOT_A_TEMPLATE if outcome is None else _encode(outcome))


def _encode(outcome: TemplateOutcome) -> dict[str, Any]:
    s = outcome.summary
    return {
        "summary": [s.path, s.sha256, s.kind, s.stack, s.status, s.resources],
        "findings": {
            rule: [[f.message, f.location.path, f.location.line, f.location.resource, f.element] for f in found]
            for rule, found in outcome.findings.items()
        },
        "errors": {rule: list(failed) for rule, failed in outcome.errors.items()},
        "in_scope": list(outcome.in_scope),
    }


def _decode(data: Mapping[str, Any]) -> TemplateOutcome:
    summary = TemplateSummary(*data["summary"])
    findings = {
        rule: tuple(Finding(m, Location(path, line, resource), element) for m, path, line, resource, element in found)
        for rule, found in data["findings"].items()
    }
    errors = {rule: tuple(failed) for rule, failed in data["errors"].items()}
    return TemplateOutcome(summary, findings, errors, tuple(data["in_scope"]))
