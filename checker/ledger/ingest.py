"""Reading signed reports and verification records into the ledger.

Each report is judged as ``checker verify`` would judge it under the
organization's expectations, at the time the ledger first sees it (key
validity included); one that does not pass is stored with the reasons and is
never compliant. A verification record (a line ``checker verify
--audit-log`` writes) is authentic only when one of the release keys signed
it (``--audit-key``); an unsigned or forged one is stored as such, never as a
release. Entries are keyed by the digest of what was signed, so ingesting the
same files twice adds nothing. Files are read one at a time and committed
in batches: memory stays flat however many there are, and a failure loses
at most one batch, which ingesting again adds.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager as ContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any

from checker.errors import InputError
from checker.ledger.expect import OrgExpectations
from checker.ledger.store import Ledger
from checker.times import parse_time, utc_text
from checker.verify import MAX_ENVELOPE_BYTES, VERIFICATION_PAYLOAD_TYPE, verify

_SUFFIXES = (".json", ".jsonl", ".log", ".ndjson")
# Files per transaction: a failure loses at most this many, and ingesting again adds them.
_BATCH = 256
_CLOCK_SKEW = timedelta(minutes=10)


@dataclass
class IngestStats:
    files: int = 0
    added: int = 0
    already: int = 0
    reports: int = 0
    compliant: int = 0
    verifications: int = 0
    forged: int = 0


Opener = Callable[[], ContextManager[IO[bytes]]]


def walk(paths: Iterable[str], s3: Any = None) -> Iterator[tuple[str, Opener]]:
    """(name, opener) of every file under ``paths``: files, folders
    (recursively) and ``s3://bucket/prefix`` (every object under it), in order."""
    for given in paths:
        if given.startswith("s3://"):
            yield from _s3_objects(given, s3)
            continue
        path = Path(given)
        if path.is_dir():
            for folder, dirs, files in os.walk(path):
                dirs.sort()
                for name in sorted(files):
                    if name.lower().endswith(_SUFFIXES):
                        yield _local(Path(folder) / name)
        elif path.is_file():
            yield _local(path)
        else:
            raise InputError("no such file or folder", path=given)


def _local(path: Path) -> tuple[str, Opener]:
    def opener() -> ContextManager[IO[bytes]]:
        try:
            return path.open("rb")
        except OSError as exc:
            raise InputError(f"cannot read: {exc.strerror}", path=str(path)) from None

    return str(path), opener


def _s3_objects(url: str, client: Any) -> Iterator[tuple[str, Opener]]:
    from checker.ledger.s3 import location

    bucket, prefix, client = location(url, client)
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            key = item["Key"]
            if key.lower().endswith(_SUFFIXES):
                yield f"s3://{bucket}/{key}", _s3_opener(client, bucket, key)


def _s3_opener(client: Any, bucket: str, key: str) -> Opener:
    @contextlib.contextmanager
    def opener() -> Iterator[IO[bytes]]:
        # Spooled to disk past 8 MiB: an audit log can be large, memory stays flat.
        with tempfile.SpooledTemporaryFile(max_size=8 << 20) as spool:
            client.download_fileobj(bucket, key, spool)
            spool.seek(0)
            yield spool

    return opener


def _payload(envelope: Mapping[str, Any]) -> bytes | None:
    try:
        return base64.b64decode(str(envelope.get("payload")), validate=True)
    except ValueError:
        return None


def _claims(payload: bytes | None) -> dict[str, Any]:
    try:
        data = json.loads(payload) if payload is not None else None
    except (ValueError, RecursionError):
        return {}
    return data if isinstance(data, dict) and isinstance(data.get("predicate"), dict) else {}


def report_record(
    raw: bytes, envelope: Any, expect: OrgExpectations, now: datetime, source: str
) -> tuple[str, dict[str, Any]]:
    """(digest, record) of one signed report, judged at ``now``."""
    payload = _payload(envelope) if isinstance(envelope, Mapping) else None
    digest = hashlib.sha256(payload if payload is not None else raw).hexdigest()
    result = verify(raw, expect.for_report(now))
    reasons = [{"code": r.code, "message": r.message} for r in result.reasons]
    # What the report claims, read even when its signature does not verify:
    # a forged report is listed under the repository it names, never compliant.
    statement = result.statement or _claims(payload)
    predicate: dict[str, Any] = statement.get("predicate") or {}
    env = predicate.get("env")
    finished = parse_time((predicate.get("timestamps") or {}).get("finished"))
    if finished is not None and finished > now + _CLOCK_SKEW:
        # The build's clock is the team's: a report dated ahead would stay the
        # "last build" of its repository, over the failing ones that follow.
        reasons.append({"code": "future", "message": f"finished {utc_text(finished)}, after it was ingested"})
    if expect.environments and env not in expect.environments:
        reasons.append(
            {"code": "env-not-expected", "message": f"environment {env!r} is not one the organization expects"}
        )
    source_facts = predicate.get("source") or {}
    policy = predicate.get("policy") or {}
    glass = predicate.get("break_glass")
    waivers = predicate.get("waivers") or {}
    record = {
        "kind": "report",
        "source": source,
        "ingested": utc_text(now),
        "compliant": not reasons,
        "reasons": reasons,
        "verdict": predicate.get("verdict"),
        "repository": source_facts.get("repository"),
        "commit": source_facts.get("commit"),
        "branch": source_facts.get("branch"),
        "env": env,
        "policy_name": policy.get("name"),
        "policy_version": policy.get("version"),
        "policy_digest": policy.get("digest"),
        "finished": (predicate.get("timestamps") or {}).get("finished"),
        "signers": list(result.keyids),
        "checker_version": (predicate.get("tool") or {}).get("version"),
        "waivers_applied": len(waivers.get("applied") or []),
        "break_glass": {
            "incident": glass.get("incident"),
            "approved_by": glass.get("approved_by"),
            "reason": glass.get("reason"),
            "expires": glass.get("expires"),
            "active": bool(glass.get("active")),
        }
        if isinstance(glass, Mapping)
        else None,
        "rules": [
            {"rule": r.get("rule"), "status": r.get("status"), "findings": len(r.get("findings") or [])}
            for r in predicate.get("results") or []
            if isinstance(r, Mapping)
        ],
        "waivers": [
            {
                "id": w.get("id"),
                "rule": w.get("rule"),
                "state": state,
                "approved_by": w.get("approved_by"),
                "ticket": w.get("ticket"),
                "reason": w.get("reason"),
                "expires": w.get("expires"),
            }
            for state in ("applied", "expired", "unused")
            for w in waivers.get(state) or []
            if isinstance(w, Mapping)
        ],
    }
    return digest, record


def verification_record(line: bytes, expect: OrgExpectations, source: str) -> tuple[str, dict[str, Any]]:
    """(digest, record) of one audit line: signed by a release key, or not authentic."""
    from checker.signing import open_typed

    try:
        data = json.loads(line)
    except ValueError as exc:
        raise InputError(f"an audit line is not JSON: {exc}", path=source) from None
    keys = {k.keyid: k.public_key for k in expect.release_keys}
    payload, signers = open_typed(data, VERIFICATION_PAYLOAD_TYPE, keys)
    if payload is not None:
        body: Any = json.loads(payload)
    else:
        inner = _payload(data) if isinstance(data, Mapping) and "payloadType" in data else None
        body = json.loads(inner) if inner else data
    if not isinstance(body, Mapping):
        raise InputError("an audit line is not a verification record", path=source)
    digest = hashlib.sha256(payload if payload is not None else line.strip()).hexdigest()
    record = {
        "kind": "verification",
        "source": source,
        "time": body.get("time"),
        "accepted": bool(body.get("accepted")) and payload is not None,
        "claimed_accepted": bool(body.get("accepted")),
        "reasons": body.get("reasons") or [],
        "report_sha256": body.get("report_sha256"),
        "verdict": body.get("verdict"),
        "commit": body.get("commit"),
        "policy_digest": body.get("policy_digest"),
        "subjects": body.get("subjects") or [],
        "signed_by": signers,
        "authentic": payload is not None,
    }
    return digest, record


def _items(opener: Opener, display: str) -> Iterator[tuple[str, bytes]]:
    """("report", bytes) for an envelope file, ("verification", line) per audit line."""
    try:
        with opener() as handle:
            first = handle.readline()
            try:
                parsed = json.loads(first) if first.strip() else None
            except ValueError:
                parsed = None
            if isinstance(parsed, dict) and parsed.get("payloadType") != "application/vnd.in-toto+json":
                # JSON lines: one verification record each (audit logs).
                for line in [first, *handle]:
                    if line.strip():
                        yield "verification", line
                return
            rest = handle.read(MAX_ENVELOPE_BYTES + 1)
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", path=display) from None
    yield "report", first + rest


def ingest(
    ledger: Ledger,
    paths: Iterable[str],
    expect: OrgExpectations,
    now: Callable[[], datetime],
    progress: Callable[[IngestStats], None] | None = None,
    s3: Any = None,
) -> IngestStats:
    stats = IngestStats()
    ledger.db.execute("BEGIN TRANSACTION")
    try:
        for display, opener in walk(paths, s3):
            stats.files += 1
            _ingest_file(ledger, opener, display, expect, now, stats)
            if stats.files % _BATCH == 0:
                ledger.db.execute("COMMIT")
                ledger.db.execute("BEGIN TRANSACTION")
            if progress is not None:
                progress(stats)
        ledger.db.execute("COMMIT")
    except BaseException:
        ledger.rollback()
        raise
    return stats


def _ingest_file(
    ledger: Ledger,
    opener: Opener,
    display: str,
    expect: OrgExpectations,
    now: Callable[[], datetime],
    stats: IngestStats,
) -> None:
    for kind, data in _items(opener, display):
        if kind == "report":
            try:
                envelope = json.loads(data)
            except ValueError:
                envelope = None
            payload = _payload(envelope) if isinstance(envelope, dict) else None
            if ledger.has(hashlib.sha256(payload if payload is not None else data).hexdigest()):
                stats.already += 1
                continue
            key, record = report_record(data, envelope, expect, now(), display)
            stats.reports += 1
            stats.compliant += bool(record["compliant"])
        else:
            key, record = verification_record(data, expect, display)
            if ledger.has(key):
                stats.already += 1
                continue
            stats.verifications += 1
            stats.forged += not record["authentic"]
        ledger.append(kind, key, record)
        stats.added += 1
