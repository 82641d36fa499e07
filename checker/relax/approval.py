"""Approvals: DSSE envelopes over a statement naming exactly what is approved.

An approver signs, with ``checker approve FILE --key REF``, a statement of
payload type ``application/vnd.checker.approval+json``::

    {"_type": "https://checker.dev/approval/v1", "kind": "waivers",
     "path": ".checker-waivers.yml", "digest": "sha256:...", "rules": ["IAM006"],
     "repository": "github.com/acme/payments", "commit": null}

``digest`` is the relaxation's canonical digest, so any change to what it
relaxes voids the approval; ``repository`` binds it to one repository, and a
break-glass approval also names the ``commit`` it lets through. More
approvers add signatures to the same envelope (``FILE.approval.dsse.json``).
The same check runs when a report is made and again in ``checker verify``,
against the approvers of the pinned baseline, at that moment's time.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from checker.errors import InputError
from checker.relax.approvers import Approvers
from checker.relax.model import ApprovalCheck, RelaxationKind

if TYPE_CHECKING:
    from checker.signing import Signer

APPROVAL_PAYLOAD_TYPE = "application/vnd.checker.approval+json"
APPROVAL_TYPE = "https://checker.dev/approval/v1"
APPROVAL_SUFFIX = ".approval.dsse.json"
MAX_APPROVAL_BYTES = 1024 * 1024


def approval_path(file: Path) -> Path:
    return file.with_name(file.name + APPROVAL_SUFFIX)


def approval_statement(
    kind: RelaxationKind,
    path: str,
    digest: str,
    rules: tuple[str, ...],
    repository: str | None,
    commit: str | None,
) -> dict[str, Any]:
    """What an approver signs for one relaxation."""
    return {
        "_type": APPROVAL_TYPE,
        "kind": kind,
        "path": path,
        "digest": digest,
        "rules": sorted(rules),
        "repository": repository,
        "commit": commit if kind == "break-glass" else None,
    }


def _payload(statement: Mapping[str, Any]) -> bytes:
    return json.dumps(statement, sort_keys=True, separators=(",", ":")).encode()


def sign_approval(statement: Mapping[str, Any], signer: Signer, existing: Mapping[str, Any] | None) -> dict[str, Any]:
    """An envelope with ``signer``'s signature added (or replaced) on ``statement``.
    An existing envelope for another statement (the file changed since) is
    dropped: its signatures no longer apply."""
    from checker.signing import pae

    payload = _payload(statement)
    signatures: list[dict[str, str]] = []
    if existing is not None and _decoded(existing) == payload:
        signatures = [s for s in existing.get("signatures", []) if s.get("keyid") != signer.keyid]
    signature = signer.sign(pae(APPROVAL_PAYLOAD_TYPE, payload))
    signatures.append({"keyid": signer.keyid, "sig": base64.b64encode(signature).decode()})
    return {
        "payloadType": APPROVAL_PAYLOAD_TYPE,
        "payload": base64.b64encode(payload).decode(),
        "signatures": sorted(signatures, key=lambda s: s["keyid"]),
    }


def _decoded(envelope: Mapping[str, Any]) -> bytes | None:
    try:
        return base64.b64decode(str(envelope.get("payload", "")), validate=True)
    except (binascii.Error, ValueError):
        return None


def read_envelope(path: Path) -> tuple[dict[str, Any] | None, str | None]:
    """(envelope, None), (None, None) when there is no approval file, or
    (None, why) when there is one that cannot be read as an envelope."""
    if not path.exists():
        return None, None
    try:
        if path.stat().st_size > MAX_APPROVAL_BYTES:
            return None, f"{path.name} is over {MAX_APPROVAL_BYTES} bytes"
        data = json.loads(path.read_bytes())
    except (OSError, ValueError) as exc:
        return None, f"{path.name} is not a JSON DSSE envelope: {exc}"
    if not isinstance(data, dict) or not isinstance(data.get("signatures"), list):
        return None, f"{path.name} is not a DSSE envelope"
    return data, None


def load_envelope(path: Path) -> dict[str, Any] | None:
    """The approval at ``path`` for extending; an unreadable one is an error."""
    envelope, problem = read_envelope(path)
    if problem:
        raise InputError(problem, path=str(path))
    return envelope


def check_approval(
    envelope: Mapping[str, Any],
    expected: Mapping[str, Any],
    approvers: Approvers,
    now: datetime,
) -> tuple[list[ApprovalCheck], str | None]:
    """Judge each signature of ``envelope`` as an approval of ``expected``;
    returns the checks and, when the envelope itself is wrong (another
    statement, payload type), why. Cryptography is imported here."""
    from checker.signing import pae, verify_signature

    if envelope.get("payloadType") != APPROVAL_PAYLOAD_TYPE:
        return [], f"the approval's payload type is not {APPROVAL_PAYLOAD_TYPE}"
    payload = _decoded(envelope)
    if payload is None:
        return [], "the approval's payload is not base64"
    try:
        statement = json.loads(payload)
    except ValueError:
        return [], "the approval's payload is not JSON"
    if statement != dict(expected):
        differs = sorted(
            k for k in set(expected) | set(statement if isinstance(statement, dict) else {})
            if not isinstance(statement, dict) or statement.get(k) != expected.get(k)
        )
        return [], f"the approval is for something else (differs in {', '.join(differs)}): approve the file again"
    kind: RelaxationKind = expected["kind"]
    rules = tuple(expected["rules"])
    keys = approvers.public_keys()
    message = pae(APPROVAL_PAYLOAD_TYPE, payload)
    checks: dict[str, ApprovalCheck] = {}
    for entry in envelope.get("signatures", []):
        keyid = entry.get("keyid") if isinstance(entry, dict) else None
        keyid = keyid if isinstance(keyid, str) else ""
        if keyid in checks and checks[keyid].valid:
            continue  # each key counts once; a bad copy does not undo a good one
        known = keys.get(keyid)
        if known is None:
            checks.setdefault(keyid, ApprovalCheck(keyid, None, False, "not a key of the baseline's approvers"))
            continue
        approver, public = known
        try:
            signature = base64.b64decode(str(entry.get("sig", "")), validate=True)
        except (binascii.Error, ValueError):
            signature = b""
        if not verify_signature(public, signature, message):
            checks[keyid] = ApprovalCheck(keyid, approver.owner, False, "the signature does not verify")
            continue
        why = approver.why_not(kind, rules, now)
        checks[keyid] = ApprovalCheck(keyid, approver.owner, why is None, why or "valid")
    return sorted(checks.values(), key=lambda c: c.keyid), None
