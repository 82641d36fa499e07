"""Canonical JSON: what checker digests, so that comments, key order and
formatting never change a digest (policies, relaxations, approvals)."""

from __future__ import annotations

import hashlib
import json
from typing import Any


def canonical_json(data: Any) -> bytes:
    """Key-order- and formatting-independent bytes of JSON-like data."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def digest_of(data: Any) -> str:
    return "sha256:" + hashlib.sha256(canonical_json(data)).hexdigest()
