"""Canonical JSON: what checker digests, so that comments, key order and
formatting never change a digest (policies, relaxations, approvals)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any


def canonical_json(data: Any) -> bytes:
    """Key-order- and formatting-independent bytes of JSON-like data."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def digest_of(data: Any) -> str:
    return "sha256:" + hashlib.sha256(canonical_json(data)).hexdigest()


def folder_digest(folder: Path) -> str:
    """The sha256 of a folder's files, by their relative paths and bytes
    (``__pycache__`` aside): a rules folder, as the report and the cache name it."""
    digest = hashlib.sha256()
    for file in sorted(p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        digest.update(file.relative_to(folder).as_posix().encode() + b"\0" + file.read_bytes() + b"\0")
    return digest.hexdigest()
