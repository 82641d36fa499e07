"""The ledger's hash chain and its signed checkpoints.

Each entry carries the hash of the one before it and its own hash over that
and its canonical record. After each ingest a checkpoint (the entry count
and the head hash, signed with the central team's key) is written outside
the database. ``verify`` walks the chain and compares it with the
checkpoint: an entry altered, removed or moved breaks the chain where it
happened; a chain recomputed after an edit no longer ends in the signed head;
a cut-off tail has fewer entries than the checkpoint.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from checker.errors import InputError
from checker.ledger.store import GENESIS, Ledger, chain_hash
from checker.signing import PublicKey, Signer, open_typed, sign_typed
from checker.times import utc_text

CHECKPOINT_PAYLOAD_TYPE = "application/vnd.checker.ledger-checkpoint+json"


@dataclass(frozen=True, slots=True)
class Checkpoint:
    count: int
    head: str
    time: str


def write_checkpoint(ledger: Ledger, signer: Signer, path: Path, now: datetime) -> Checkpoint:
    count, head = ledger.head()
    checkpoint = Checkpoint(count, head, utc_text(now))
    payload = json.dumps(
        {"count": count, "head": head, "time": checkpoint.time}, sort_keys=True, separators=(",", ":")
    ).encode()
    envelope = sign_typed(payload, CHECKPOINT_PAYLOAD_TYPE, signer)
    try:
        path.write_text(json.dumps(envelope, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot write the checkpoint: {exc.strerror}", path=str(path)) from None
    return checkpoint


def read_checkpoint(path: Path, keys: Mapping[str, PublicKey]) -> Checkpoint:
    """The checkpoint, if one of ``keys`` signed it; an input error otherwise."""
    try:
        envelope = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"not a readable checkpoint: {exc}", path=str(path)) from None
    payload, _ = open_typed(envelope, CHECKPOINT_PAYLOAD_TYPE, keys)
    if payload is None:
        raise InputError("the checkpoint is not signed by a trusted key (or is not a checkpoint)", path=str(path))
    data: Any = json.loads(payload)
    if not (isinstance(data, dict) and isinstance(data.get("count"), int) and isinstance(data.get("head"), str)):
        raise InputError("the checkpoint's payload lacks count and head", path=str(path))
    return Checkpoint(data["count"], data["head"], str(data.get("time")))


@dataclass(frozen=True, slots=True)
class Problem:
    code: str  # altered, removed, reordered, recomputed, truncated, uncovered
    message: str


def verify_chain(ledger: Ledger, checkpoint: Checkpoint) -> list[Problem]:
    """Every way the ledger departs from an intact chain ending at the checkpoint."""
    problems: list[Problem] = [
        Problem("foreign", f"the database holds {name}, which checker never creates: added outside checker")
        for name in ledger.foreign_objects()
    ]
    expected_seq, prev, count = 1, GENESIS, 0
    head_at_checkpoint: str | None = None
    for entry in ledger.entries():
        count += 1
        if entry.seq != expected_seq:
            code = "removed" if entry.seq > expected_seq else "reordered"
            problems.append(Problem(code, f"entry {expected_seq} is missing: the next entry is numbered {entry.seq}"))
        elif entry.prev_hash != prev:
            problems.append(
                Problem("reordered", f"entry {entry.seq} does not follow entry {entry.seq - 1}: removed or moved")
            )
        if chain_hash(entry.prev_hash, entry.seq, entry.kind, entry.digest, entry.record) != entry.entry_hash:
            problems.append(Problem("altered", f"entry {entry.seq} ({entry.kind} {entry.digest[:12]}) was altered"))
        if entry.seq == checkpoint.count:
            head_at_checkpoint = entry.entry_hash
        expected_seq, prev = entry.seq + 1, entry.entry_hash
    if count < checkpoint.count:
        problems.append(
            Problem(
                "truncated",
                f"the ledger has {count} entries; the checkpoint of {checkpoint.time} signed {checkpoint.count}",
            )
        )
    elif checkpoint.count and head_at_checkpoint != checkpoint.head:
        problems.append(
            Problem(
                "recomputed",
                f"entry {checkpoint.count}'s hash is not the head the checkpoint of {checkpoint.time} signed: "
                "the chain was rewritten",
            )
        )
    if count > checkpoint.count:
        problems.append(
            Problem("uncovered", f"{count - checkpoint.count} entries after the checkpoint are not covered by it")
        )
    return problems
