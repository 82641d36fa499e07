"""Release-side verification of a signed report, as a checklist.

``verify`` walks numbered steps and collects every reason to reject; the
payload is parsed only after a trusted signature checks out. Each reason has
a stable code (for machines and audit logs) and a sentence (for people).
``VerifyResult.accepted`` is true only when there is no reason at all.

    from checker.verify import Expectations, load_trust, verify
    result = verify(Path("report.dsse.json").read_bytes(),
                    Expectations(trust=load_trust(Path("keys.yaml")), subjects=[Path("app.zip")],
                                 policy_digest="sha256:...", max_age=timedelta(days=1)))
    if not result.accepted:
        raise SystemExit("\\n".join(r.message for r in result.reasons))
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from checker.errors import InputError
from checker.loaders import load_document
from checker.signing import PAYLOAD_TYPE, PublicKey, key_id, load_public_key, pae, verify_signature

MAX_ENVELOPE_BYTES = 16 * 1024 * 1024
CLOCK_SKEW = timedelta(minutes=5)
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"


@dataclass(frozen=True, slots=True)
class TrustedKey:
    keyid: str
    public_key: PublicKey
    owner: str | None = None
    not_before: datetime | None = None
    not_after: datetime | None = None
    revoked: bool = False


@dataclass(frozen=True, slots=True)
class Rejection:
    code: str
    message: str


@dataclass(frozen=True, slots=True)
class Expectations:
    """What the release side requires of a report."""

    trust: Sequence[TrustedKey]
    subjects: Sequence[Path] = ()
    policy_digest: str | None = None
    max_age: timedelta | None = None
    commit: str | None = None
    threshold: int = 1
    allow_break_glass: bool = False
    allow_templates_only: bool = False
    now: datetime | None = None


@dataclass(frozen=True, slots=True)
class VerifyResult:
    accepted: bool
    reasons: tuple[Rejection, ...]
    report_sha256: str
    keyids: tuple[str, ...] = ()
    statement: dict[str, Any] | None = field(default=None, repr=False)

    @property
    def verdict(self) -> str | None:
        if self.statement is None:
            return None
        return str(self.statement.get("predicate", {}).get("verdict"))

    def to_json(self) -> dict[str, Any]:
        predicate = (self.statement or {}).get("predicate", {})
        return {
            "accepted": self.accepted,
            "reasons": [{"code": r.code, "message": r.message} for r in self.reasons],
            "report_sha256": self.report_sha256,
            "keyids": list(self.keyids),
            "verdict": self.verdict,
            "subjects": (self.statement or {}).get("subject", []),
            "policy_digest": (predicate.get("policy") or {}).get("digest"),
            "commit": (predicate.get("source") or {}).get("commit"),
        }


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def _strict_json(data: bytes) -> Any:
    return json.loads(data, object_pairs_hook=_no_duplicates)


def _parse_time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


_DURATION = re.compile(r"^(\d+)([smhdw])$")


def parse_duration(text: str) -> timedelta:
    """``90s``, ``30m``, ``12h``, ``7d``, ``2w``."""
    match = _DURATION.match(text.strip())
    if not match:
        raise InputError(f"not a duration: {text!r} (use e.g. 30m, 12h, 7d)", field="--max-age")
    amount, unit = int(match.group(1)), match.group(2)
    return timedelta(seconds=amount * {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}[unit])


def load_trust(path: Path) -> list[TrustedKey]:
    """A public key PEM file, or a keyring (YAML or JSON) of keys with
    ``public_key`` (PEM) or ``public_key_file``, ``id``, ``owner``,
    ``not_before``, ``not_after`` and ``revoked``."""
    display = str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read trust file: {exc.strerror}", path=display) from None
    if b"-----BEGIN PUBLIC KEY-----" in raw and not raw.lstrip().startswith((b"keys", b"{")):
        key = load_public_key(raw, display)
        return [TrustedKey(key_id(key), key)]
    data = load_document(path, display)
    entries = data.get("keys") if isinstance(data, dict) else None
    if not isinstance(entries, list) or not entries:
        raise InputError("a keyring needs a non-empty 'keys' list", path=display, line=1, field="keys")
    keys = []
    for index, entry in enumerate(entries):
        line = entries.item_lines[index] if hasattr(entries, "item_lines") else None
        where = f"keys[{index}]"
        if not isinstance(entry, dict):
            raise InputError("each key must be a mapping", path=display, line=line, field=where)
        unknown = set(entry) - {
            "id",
            "owner",
            "public_key",
            "public_key_file",
            "not_before",
            "not_after",
            "revoked",
        }
        if unknown:
            raise InputError(f"unknown field {sorted(unknown)[0]!r}", path=display, line=line, field=where)
        if isinstance(entry.get("public_key"), str):
            pem = entry["public_key"].encode()
        elif isinstance(entry.get("public_key_file"), str):
            try:
                pem = (path.parent / entry["public_key_file"]).read_bytes()
            except OSError as exc:
                raise InputError(
                    f"cannot read {entry['public_key_file']}: {exc.strerror}",
                    path=display,
                    line=line,
                    field=f"{where}.public_key_file",
                ) from None
        else:
            raise InputError("needs public_key (PEM) or public_key_file", path=display, line=line, field=where)
        key = load_public_key(pem, f"{display} {where}")
        computed = key_id(key)
        if entry.get("id") not in (None, computed):
            raise InputError(
                f"id does not match the key (its id is {computed})",
                path=display,
                line=line,
                field=f"{where}.id",
            )
        times = {}
        for name in ("not_before", "not_after"):
            if entry.get(name) is not None:
                times[name] = _parse_time(entry[name])
                if times[name] is None:
                    raise InputError("must be an ISO 8601 time", path=display, line=line, field=f"{where}.{name}")
        revoked = entry.get("revoked", False)
        if not isinstance(revoked, bool):
            raise InputError("must be true or false", path=display, line=line, field=f"{where}.revoked")
        keys.append(
            TrustedKey(computed, key, entry.get("owner"), times.get("not_before"), times.get("not_after"), revoked)
        )
    return keys


def _merge_trust(keys: Sequence[TrustedKey]) -> dict[str, TrustedKey]:
    """One entry per key: a key listed twice counts once, and revocation wins."""
    merged: dict[str, TrustedKey] = {}
    for key in keys:
        seen = merged.get(key.keyid)
        merged[key.keyid] = key if seen is None or key.revoked else seen
    return merged


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _statement_problems(statement: Any) -> list[str]:
    import jsonschema  # only on the verify path

    from checker.report import report_schema

    validator = jsonschema.Draft202012Validator(report_schema())
    problems = []
    for error in sorted(validator.iter_errors(statement), key=lambda e: list(e.absolute_path)):
        where = "/".join(str(p) for p in error.absolute_path) or "(top)"
        problems.append(f"{where}: {error.message}")
    return problems


def verify(envelope_bytes: bytes, expect: Expectations) -> VerifyResult:
    """Check a DSSE envelope against what the release side expects."""
    now = expect.now or datetime.now(UTC)
    report_sha256 = hashlib.sha256(envelope_bytes).hexdigest()
    reasons: list[Rejection] = []

    def reject(code: str, message: str) -> VerifyResult:
        reasons.append(Rejection(code, message))
        return VerifyResult(False, tuple(reasons), report_sha256)

    if not expect.trust:
        raise InputError("no trusted keys given: verification without a key proves nothing")

    # 1. The envelope: bounded, strict JSON of the DSSE shape.
    if len(envelope_bytes) > MAX_ENVELOPE_BYTES:
        return reject("envelope-malformed", f"report is over {MAX_ENVELOPE_BYTES} bytes")
    try:
        envelope = _strict_json(envelope_bytes)
    except (ValueError, UnicodeDecodeError) as exc:
        return reject("envelope-malformed", f"report is not a JSON DSSE envelope: {exc}")
    if (
        not isinstance(envelope, dict)
        or not isinstance(envelope.get("payload"), str)
        or not isinstance(envelope.get("payloadType"), str)
    ):
        return reject("envelope-malformed", "report is not a DSSE envelope (payloadType, payload, signatures)")
    signatures = envelope.get("signatures")
    if not isinstance(signatures, list) or not signatures:
        return reject("signature-missing", "report is not signed (no signatures)")
    try:
        payload = base64.b64decode(envelope["payload"], validate=True)
    except (binascii.Error, ValueError):
        return reject("envelope-malformed", "payload is not valid base64")

    # 2. The payload type is signed too; a wrong one is its own reason.
    if envelope["payloadType"] != PAYLOAD_TYPE:
        reasons.append(Rejection("payload-type", f"payload type is {envelope['payloadType']!r}, not {PAYLOAD_TYPE!r}"))

    # 3. Signatures by trusted, unrevoked keys; each key counts once.
    trust = _merge_trust(expect.trust)
    message = pae(envelope["payloadType"], payload)
    good: dict[str, TrustedKey] = {}
    saw_unknown = saw_bad = False
    for entry in signatures:
        if not isinstance(entry, dict) or not isinstance(entry.get("sig"), str):
            saw_bad = True
            continue
        try:
            signature = base64.b64decode(entry["sig"], validate=True)
        except (binascii.Error, ValueError):
            saw_bad = True
            continue
        keyid = entry.get("keyid")
        candidates = (
            [trust[keyid]] if isinstance(keyid, str) and keyid in trust else (list(trust.values()) if not keyid else [])
        )
        if not candidates:
            saw_unknown = True
            continue
        matched = next((k for k in candidates if verify_signature(k.public_key, signature, message)), None)
        if matched is None:
            saw_bad = True
        elif matched.revoked:
            reasons.append(
                Rejection(
                    "key-revoked",
                    f"signed by revoked key {matched.keyid}" + (f" ({matched.owner})" if matched.owner else ""),
                )
            )
        else:
            good[matched.keyid] = matched
    if len(good) < expect.threshold:
        if saw_bad:
            reasons.append(
                Rejection(
                    "signature-invalid",
                    "signature does not verify: the report was altered or signed with another key",
                )
            )
        if saw_unknown:
            reasons.append(Rejection("key-unknown", "signed by a key that is not in the trusted keys"))
        if expect.threshold > 1 and good:
            reasons.append(Rejection("threshold", f"{len(good)} trusted signature(s), {expect.threshold} needed"))
        if not reasons:
            reasons.append(Rejection("signature-invalid", "no valid signature by a trusted key"))
        return VerifyResult(False, tuple(reasons), report_sha256)

    # 4. Only now parse what was signed.
    try:
        statement = _strict_json(payload)
    except (ValueError, UnicodeDecodeError) as exc:
        return reject("statement-malformed", f"payload is not JSON: {exc}")
    if not isinstance(statement, dict) or statement.get("_type") != STATEMENT_TYPE:
        return reject("statement-malformed", "payload is not an in-toto Statement v1")
    problems = _statement_problems(statement)
    if problems:
        shown = "; ".join(problems[:3]) + (f" (and {len(problems) - 3} more)" if len(problems) > 3 else "")
        return reject("statement-malformed", f"statement does not match the report schema: {shown}")
    predicate = statement["predicate"]
    keyids = tuple(sorted(good))
    finished = _parse_time(predicate["timestamps"]["finished"])
    assert finished is not None  # the schema pins the format

    # 5. Keys inside their validity window at signing time.
    for key in good.values():
        if (key.not_before and finished < key.not_before) or (key.not_after and finished > key.not_after):
            reasons.append(
                Rejection(
                    "key-expired",
                    f"key {key.keyid} was not valid when the report was made ({finished:%Y-%m-%dT%H:%M:%SZ})",
                )
            )

    # 6. Bound to the artifacts given.
    digests = {d.get("sha256") for s in statement["subject"] for d in [s.get("digest", {})]}
    for path in expect.subjects:
        try:
            actual = _file_sha256(path)
        except OSError as exc:
            raise InputError(f"cannot read subject: {exc.strerror}", path=str(path)) from None
        if actual not in digests:
            reasons.append(
                Rejection("subject-mismatch", f"{path} (sha256:{actual[:12]}…) is not a subject of this report")
            )

    # 7. The pinned policy.
    if expect.policy_digest and predicate["policy"]["digest"] != expect.policy_digest:
        reasons.append(
            Rejection(
                "policy-mismatch",
                f"policy digest {predicate['policy']['digest']} is not the pinned {expect.policy_digest}",
            )
        )

    # 8. Fresh, and not from the future.
    if finished > now + CLOCK_SKEW:
        reasons.append(Rejection("report-future", f"report is dated {finished:%Y-%m-%dT%H:%M:%SZ}, in the future"))
    elif expect.max_age is not None and now - finished > expect.max_age:
        reasons.append(
            Rejection(
                "report-too-old",
                f"report is from {finished:%Y-%m-%dT%H:%M:%SZ}, older than the allowed {expect.max_age}",
            )
        )

    # 9. The expected commit.
    if expect.commit:
        source = predicate.get("source") or {}
        commits = {source.get("commit")} | {s["digest"].get("gitCommit") for s in statement["subject"]}
        commits.discard(None)
        wanted = expect.commit.lower()
        if len(wanted) < 7 or not any(isinstance(c, str) and c.startswith(wanted) for c in commits):
            found = ", ".join(sorted(str(c) for c in commits)) or "none"
            reasons.append(Rejection("commit-mismatch", f"report is for commit {found}, not {expect.commit}"))

    # 10. Break-glass lets a blocked build through; the release side must opt in.
    glass = predicate.get("break_glass")
    if glass and glass.get("active") and not expect.allow_break_glass:
        reasons.append(
            Rejection(
                "break-glass",
                f"report passed only by break-glass for incident "
                f"{glass['incident']} (approved by {glass['approved_by']}); "
                "rerun verify with --allow-break-glass to accept it",
            )
        )

    # 11. A templates-only check (a pre-commit hook's) never judged coverage,
    # scans or the repository: its pass says nothing about them.
    if predicate.get("checked") == "templates-only" and not expect.allow_templates_only:
        reasons.append(
            Rejection(
                "templates-only",
                "the report checked templates only (--templates-only): coverage, scan and repository rules "
                "did not run; rerun verify with --allow-templates-only to accept it",
            )
        )

    # 12. The verdict itself.
    if predicate["verdict"] != "pass":
        failed = ", ".join(predicate["summary"]["blocking"]) or "unknown rules"
        reasons.append(Rejection("verdict-fail", f"the report's verdict is fail ({failed})"))

    return VerifyResult(not reasons, tuple(reasons), report_sha256, keyids, statement)


def append_audit_log(path: Path, result: VerifyResult, now: datetime | None = None) -> None:
    """One JSON line per verification, appended (O_APPEND) for an audit trail."""
    entry = {"time": (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ"), **result.to_json()}
    line = json.dumps(entry, sort_keys=True) + "\n"
    try:
        with path.open("a", encoding="utf-8") as handle:
            handle.write(line)
    except OSError as exc:
        raise InputError(f"cannot append to audit log: {exc.strerror}", path=str(path)) from None


__all__ = [
    "Expectations",
    "Rejection",
    "TrustedKey",
    "VerifyResult",
    "append_audit_log",
    "load_trust",
    "parse_duration",
    "verify",
]
