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
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any

from checker.errors import InputError
from checker.ledger.expect import OrgExpectations
from checker.ledger.store import Ledger
from checker.times import parse_time, utc_text
from checker.verify import MAX_ENVELOPE_BYTES, NOT_AUTHENTIC, VERIFICATION_PAYLOAD_TYPE, verify

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
    malformed: int = 0
    unreadable: list[str] = field(default_factory=list)


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
                    path_ = Path(folder) / name
                    # Regular files only: a link to /dev/zero is no report.
                    if name.lower().endswith(_SUFFIXES) and path_.is_file():
                        yield _local(path_)
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


def _map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _text(value: Any) -> str | None:
    """A claimed scalar as text; anything else (a list, a mapping) is no value."""
    if isinstance(value, bool) or value is None:
        return None if value is None else str(value).lower()
    return str(value) if isinstance(value, (str, int, float)) else None


def report_record(
    raw: bytes, envelope: Any, expect: OrgExpectations, now: datetime, source: str
) -> tuple[str, dict[str, Any]]:
    """(key, record) of one signed report, judged at ``now``.

    The key is the digest of the signed payload: a report signed by a key
    trusted for its repository is stored once however many copies arrive; one
    that is not authentic (unsigned, a stranger's key, malformed) is stored
    under ``<digest>-unverified``, so that a copy stripped of its signature,
    seen first, can never take the real report's place."""
    payload = _payload(envelope) if isinstance(envelope, Mapping) else None
    digest = hashlib.sha256(payload if payload is not None else raw).hexdigest()
    result = verify(raw, expect.for_report(now))
    reasons = [{"code": r.code, "message": r.message} for r in result.reasons]
    authentic = not any(r.code in NOT_AUTHENTIC for r in result.reasons)
    # What the report claims, read even when its signature does not verify:
    # a forged report is listed under the repository it names, never
    # compliant, never authentic, and no question counts it.
    predicate = _map((result.statement or _claims(payload)).get("predicate"))
    env = _text(predicate.get("env"))
    timestamps = _map(predicate.get("timestamps"))
    finished = parse_time(timestamps.get("finished"))
    if finished is not None and finished > now + _CLOCK_SKEW:
        # The build's clock is the team's: a report dated ahead would stay the
        # "last build" of its repository, over the failing ones that follow.
        reasons.append({"code": "future", "message": f"finished {utc_text(finished)}, after it was ingested"})
    if expect.environments and env not in expect.environments:
        reasons.append(
            {"code": "env-not-expected", "message": f"environment {env!r} is not one the organization expects"}
        )
    source_facts = _map(predicate.get("source"))
    policy = _map(predicate.get("policy"))
    glass = predicate.get("break_glass")
    waivers = _map(predicate.get("waivers"))
    record = {
        "kind": "report",
        "source": source,
        "ingested": utc_text(now),
        "authentic": authentic,
        "compliant": not reasons,
        "reasons": reasons,
        "verdict": _text(predicate.get("verdict")),
        "repository": _text(source_facts.get("repository")),
        "commit": _text(source_facts.get("commit")),
        "branch": _text(source_facts.get("branch")),
        "env": env,
        "policy_name": _text(policy.get("name")),
        "policy_version": _text(policy.get("version")),
        "policy_digest": _text(policy.get("digest")),
        "finished": utc_text(finished) if finished is not None else None,
        "signers": list(result.keyids),
        "checker_version": _text(_map(predicate.get("tool")).get("version")),
        "waivers_applied": len(_list(waivers.get("applied"))),
        "break_glass": {
            "incident": _text(glass.get("incident")),
            "approved_by": _text(glass.get("approved_by")),
            "reason": _text(glass.get("reason")),
            "expires": _time_text(glass.get("expires")),
            "active": glass.get("active") is True,
        }
        if isinstance(glass, Mapping)
        else None,
        "rules": [
            {
                "rule": _text(r.get("rule")),
                "status": _text(r.get("status")),
                "findings": len(_list(r.get("findings"))),
            }
            for r in _list(predicate.get("results"))
            if isinstance(r, Mapping)
        ],
        "waivers": [
            {
                "id": _text(w.get("id")),
                "rule": _text(w.get("rule")),
                "state": state,
                "approved_by": _text(w.get("approved_by")),
                "ticket": _text(w.get("ticket")),
                "reason": _text(w.get("reason")),
                "expires": _time_text(w.get("expires")),
            }
            for state in ("applied", "expired", "unused")
            for w in _list(waivers.get(state))
            if isinstance(w, Mapping)
        ],
    }
    return (digest if authentic else f"{digest}-unverified"), record


def _time_text(value: Any) -> str | None:
    moment = parse_time(value, date_is_end_of_day=True) if isinstance(value, str) else None
    return utc_text(moment) if moment is not None else None


def malformed_record(source: str, kind: str, reason: str, now: datetime) -> dict[str, Any]:
    """What is kept of a file or line that cannot be read as what it claims."""
    return {
        "kind": kind,
        "source": source,
        "ingested": utc_text(now),
        "authentic": False,
        "compliant": False,
        "accepted": False,
        "reasons": [{"code": "malformed", "message": reason}],
        "rules": [],
        "waivers": [],
    }


def verification_record(line: bytes, expect: OrgExpectations, source: str) -> tuple[str, dict[str, Any]]:
    """(key, record) of one audit line: signed by a release key (keyed by
    its payload's digest), or not authentic (keyed apart, so an unsigned
    copy can never stand for the signed record)."""
    from checker.signing import open_typed

    data = json.loads(line)  # ValueError, RecursionError: the caller keeps it as malformed
    keys = {k.keyid: k.public_key for k in expect.release_keys}
    payload, signers = open_typed(data, VERIFICATION_PAYLOAD_TYPE, keys)
    if payload is not None:
        body: Any = json.loads(payload)
    else:
        inner = _payload(data) if isinstance(data, Mapping) and "payloadType" in data else None
        body = json.loads(inner) if inner else data
    if not isinstance(body, Mapping):
        raise ValueError("not a verification record")
    authentic = payload is not None
    digest = hashlib.sha256(payload if payload is not None else line.strip()).hexdigest()
    record = {
        "kind": "verification",
        "source": source,
        "time": _time_text(body.get("time")),
        "accepted": body.get("accepted") is True and authentic,
        "claimed_accepted": body.get("accepted") is True,
        "reasons": [r for r in _list(body.get("reasons")) if isinstance(r, Mapping)],
        "report_sha256": _text(body.get("report_sha256")),
        "verdict": _text(body.get("verdict")),
        "commit": _text(body.get("commit")),
        "policy_digest": _text(body.get("policy_digest")),
        "subjects": _list(body.get("subjects")),
        "signed_by": signers,
        "authentic": authentic,
    }
    return (digest if authentic else f"{digest}-unsigned"), record


_IN_TOTO = "application/vnd.in-toto+json"


def _parsed(data: bytes) -> Any:
    try:
        return json.loads(data)
    except (ValueError, RecursionError):
        return None


def _items(opener: Opener, display: str) -> Iterator[tuple[str, bytes]]:
    """("report", bytes) for an envelope file, ("verification", line) per
    audit line; every read bounded (an over-long line comes in pieces, each
    kept as malformed)."""
    with opener() as handle:
        first = handle.readline(MAX_ENVELOPE_BYTES + 1)
        parsed = _parsed(first) if first.strip() else None
        if isinstance(parsed, dict) and parsed.get("payloadType") != _IN_TOTO:
            line = first
            while line:
                if line.strip():
                    yield "verification", line
                line = handle.readline(MAX_ENVELOPE_BYTES + 1)
            return
        rest = handle.read(MAX_ENVELOPE_BYTES + 1 - len(first)) if len(first) <= MAX_ENVELOPE_BYTES else b""
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
            try:
                _ingest_file(ledger, opener, display, expect, now, stats)
            except InputError as exc:  # the file could not be read at all: said, not stored
                stats.unreadable.append(f"{display}: {exc.message}")
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
        looked_up = None
        try:
            if kind == "report":
                envelope = _parsed(data)
                payload = _payload(envelope) if isinstance(envelope, dict) else None
                looked_up = hashlib.sha256(payload if payload is not None else data).hexdigest()
                if ledger.has(looked_up):
                    stats.already += 1  # this report, authentic, is in already: nothing to judge
                    continue
                key, record = report_record(data, envelope, expect, now(), display)
            else:
                key, record = verification_record(data, expect, display)
        except (ValueError, TypeError, RecursionError, UnicodeError) as exc:
            # Kept, so the ledger shows what was sent, and never counted.
            key = f"{hashlib.sha256(data).hexdigest()}-malformed"
            record = malformed_record(display, kind, f"{type(exc).__name__}: {exc}"[:500], now())
            stats.malformed += 1
        if key != looked_up and ledger.has(key):
            stats.already += 1
            continue
        if kind == "report":
            stats.reports += 1
            stats.compliant += bool(record["compliant"])
        else:
            stats.verifications += 1
            stats.forged += not record["authentic"]
        ledger.append(kind, key, record)
        stats.added += 1
