"""A result cache keyed by content digest, so an unchanged rerun is near-instant.

An entry holds one template's outcome (or "not a template"), under a key
made of everything the outcome depends on: the file's bytes and place, the
tool version, the rules' source files, the effective rule settings, the
environment and the IAM catalogue. Change any of them and the key changes.
Entries are JSON written atomically; an unreadable entry is a miss.
Templates with inline suppressions are not cached (they carry source lines
the waiver stage reports).

Whoever can write the cache folder (it may sit in the checkout, or be
restored from a CI cache) must not decide a verdict: every entry carries an
HMAC-SHA256 keyed by a secret only the CI holds (``CHECKER_CACHE_KEY``).
Without the secret the cache is not used at all; an entry whose MAC does
not check out is a miss. The report says whether the cache was used.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from checker import __version__
from checker.canonical import folder_digest
from checker.discovery import Candidate
from checker.engine import TemplateOutcome, TemplateSummary
from checker.ruleapi import Finding, Location

_NOT_A_TEMPLATE = {"template": False}
CACHE_KEY_ENV = "CHECKER_CACHE_KEY"
MIN_SECRET_BYTES = 16


def cache_secret(environ: Mapping[str, str]) -> bytes | None:
    """The CI's cache secret, or None when it is not set (or too short to be one)."""
    value = environ.get(CACHE_KEY_ENV, "")
    return value.encode() if len(value.encode()) >= MIN_SECRET_BYTES else None


def run_salt(rule_sources: Sequence[Path], settings: Mapping[str, Any], env: str | None, extra: str) -> str:
    """The part of every key that is the same for the whole run."""
    digest = hashlib.sha256(f"checker {__version__}\0{env}\0{extra}\0".encode())
    for source in sorted(rule_sources):
        digest.update(folder_digest(source).encode())
    digest.update(json.dumps(settings, sort_keys=True, default=str).encode())
    return digest.hexdigest()


class JsonStore:
    """JSON documents on disk by key, written atomically and authenticated
    with an HMAC under ``secret``. An unreadable or unauthenticated one is a
    miss and an unwritable one is skipped: a cache only saves time. ``hits``
    counts what was served (in this process)."""

    def __init__(self, directory: Path, secret: bytes) -> None:
        self.directory = directory
        self._secret = secret
        self.hits = 0

    def _path(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.json"

    def _mac(self, key: str, body: str) -> str:
        return hmac.new(self._secret, f"{key}\0{body}".encode(), hashlib.sha256).hexdigest()

    def get(self, key: str) -> Any | None:
        try:
            entry = json.loads(self._path(key).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(entry, dict) or not all(isinstance(entry.get(k), str) for k in ("body", "mac")):
            return None
        if not hmac.compare_digest(entry["mac"], self._mac(key, entry["body"])):
            return None
        try:
            data = json.loads(entry["body"])
        except ValueError:
            return None
        self.hits += 1
        return data

    def put(self, key: str, data: Any) -> None:
        path = self._path(key)
        body = json.dumps(data, sort_keys=True)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump({"mac": self._mac(key, body), "body": body}, handle)
            os.replace(tmp, path)
        except OSError:
            pass


class OutcomeCache:
    def __init__(self, directory: Path, salt: str, secret: bytes) -> None:
        self.store = JsonStore(directory, secret)
        self.salt = salt

    def key(self, candidate: Candidate, raw: bytes, parameters: str = "") -> str:
        place = f"{candidate.relpath}\0{candidate.explicit}\0{candidate.kind_hint}\0{candidate.stack}\0{parameters}\0"
        return hashlib.sha256(self.salt.encode() + place.encode() + hashlib.sha256(raw).digest()).hexdigest()

    def get(self, key: str) -> tuple[bool, TemplateOutcome | None]:
        """(hit, outcome); a hit with None means "not a template"."""
        data = self.store.get(key)
        if data is None:
            return False, None
        if data == _NOT_A_TEMPLATE:
            return True, None
        try:
            return True, replace(_decode(data), cached=True)
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
            rule: [
                [f.message, f.location.path, f.location.line, f.location.resource, f.location.construct, f.element]
                for f in found
            ]
            for rule, found in outcome.findings.items()
        },
        "errors": {rule: list(failed) for rule, failed in outcome.errors.items()},
        "in_scope": list(outcome.in_scope),
        "code": list(outcome.code),
    }


def _decode(data: Mapping[str, Any]) -> TemplateOutcome:
    summary = TemplateSummary(*data["summary"])
    findings = {
        rule: tuple(
            Finding(m, Location(path, line, resource, construct), element)
            for m, path, line, resource, construct, element in found
        )
        for rule, found in data["findings"].items()
    }
    errors = {rule: tuple(failed) for rule, failed in data["errors"].items()}
    return TemplateOutcome(summary, findings, errors, tuple(data["in_scope"]), code=tuple(data["code"]))
