"""Approvals: the approvers section, and each way a signature may fail to count."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from checker.errors import PolicyError
from checker.loaders import load_text
from checker.relax.approval import APPROVAL_PAYLOAD_TYPE, approval_statement, check_approval, sign_approval
from checker.relax.approvers import Approver, Approvers, parse_approvers
from checker.signing import KeySigner, generate_key, load_signer

NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)
STATEMENT = approval_statement(
    "waivers", ".checker-waivers.yml", "sha256:" + "a" * 64, ("IAM006",), "github.com/acme/app", None
)


@pytest.fixture
def keys(tmp_path: Path) -> dict[str, KeySigner]:
    out = {}
    for name in ("alice", "bob", "mallory"):
        generate_key(tmp_path / name, "ed25519", None)
        signer = load_signer(str(tmp_path / f"{name}.key"), {})
        assert isinstance(signer, KeySigner)
        out[name] = signer
    return out


def _pem(signer: KeySigner) -> str:
    from cryptography.hazmat.primitives import serialization

    public = signer.private_key.public_key()
    return public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def _approvers(keys: dict[str, KeySigner], threshold: int = 1, **alice: object) -> Approvers:
    return Approvers(
        (Approver("alice@example.com", _pem(keys["alice"]), **alice), Approver("bob@example.com", _pem(keys["bob"]))),  # type: ignore[arg-type]
        threshold,
    )


def _valid(envelope: dict[str, object], approvers: Approvers, expected: dict[str, object] = STATEMENT) -> int:
    checks, problem = check_approval(envelope, expected, approvers, NOW)
    assert problem is None
    return sum(c.valid for c in checks)


def test_a_signature_by_an_approver_counts(keys: dict[str, KeySigner]) -> None:
    envelope = sign_approval(STATEMENT, keys["alice"], None)
    assert envelope["payloadType"] == APPROVAL_PAYLOAD_TYPE
    assert _valid(envelope, _approvers(keys)) == 1


def test_two_approvers_extend_one_envelope_and_each_key_counts_once(keys: dict[str, KeySigner]) -> None:
    envelope = sign_approval(STATEMENT, keys["alice"], None)
    envelope = sign_approval(STATEMENT, keys["alice"], envelope)  # signing again replaces, never doubles
    assert len(envelope["signatures"]) == 1
    envelope = sign_approval(STATEMENT, keys["bob"], envelope)
    assert _valid(envelope, _approvers(keys, threshold=2)) == 2
    duplicated = dict(envelope, signatures=envelope["signatures"] * 3)
    assert _valid(duplicated, _approvers(keys)) == 2


def test_a_bad_copy_of_a_signature_does_not_undo_the_good_one(keys: dict[str, KeySigner]) -> None:
    envelope = sign_approval(STATEMENT, keys["alice"], None)
    good = envelope["signatures"][0]
    bad = {"keyid": good["keyid"], "sig": base64.b64encode(b"\0" * 64).decode()}
    assert _valid(dict(envelope, signatures=[good, bad]), _approvers(keys)) == 1
    assert _valid(dict(envelope, signatures=[bad]), _approvers(keys)) == 0


@pytest.mark.parametrize(
    ("alice", "why"),
    [
        ({"revoked": True}, "the approver's key is revoked"),
        ({"not_after": NOW - timedelta(seconds=1)}, "the approver's key has expired"),
        ({"not_before": NOW + timedelta(days=1)}, "the approver's key is not valid yet"),
        ({"kinds": ("break-glass",)}, "the approver may not approve waivers"),
        ({"rules": ("COV*",)}, "the approver may not approve relaxations of IAM006"),
    ],
)
def test_signatures_that_do_not_count(keys: dict[str, KeySigner], alice: dict[str, object], why: str) -> None:
    envelope = sign_approval(STATEMENT, keys["alice"], None)
    (check,), problem = check_approval(envelope, STATEMENT, _approvers(keys, **alice), NOW)
    assert problem is None and not check.valid and check.why == why


def test_a_stranger_or_another_statement_does_not_count(keys: dict[str, KeySigner]) -> None:
    assert _valid(sign_approval(STATEMENT, keys["mallory"], None), _approvers(keys)) == 0
    other = dict(STATEMENT, repository="github.com/acme/other")
    checks, problem = check_approval(sign_approval(other, keys["alice"], None), STATEMENT, _approvers(keys), NOW)
    assert checks == [] and problem is not None and "differs in repository" in problem
    wrong_type = dict(sign_approval(STATEMENT, keys["alice"], None), payloadType="application/vnd.in-toto+json")
    assert check_approval(wrong_type, STATEMENT, _approvers(keys), NOW)[1] is not None
    # A report envelope signed by an approver is not an approval of anything.
    payload = base64.b64encode(json.dumps(STATEMENT).encode()).decode()
    unsigned = {"payloadType": APPROVAL_PAYLOAD_TYPE, "payload": payload, "signatures": []}
    assert _valid(unsigned, _approvers(keys)) == 0


@pytest.mark.parametrize(
    ("text", "line", "field", "words"),
    [
        ("threshold: 0\nkeys: []\n", 1, "approvers.threshold", "at least 1"),
        ("keys:\n  - {owner: a, public_key: x}\n", 2, "approvers.keys[0].public_key", "PEM public key"),
        ("keys:\n  - {public_key: x}\n", 2, "approvers.keys[0].owner", "is required"),
        (
            "keys:\n  - {owner: a, public_key: '-----BEGIN PUBLIC KEY-----', kinds: [all]}\n",
            2,
            "approvers.keys[0].kinds",
            "drawn from",
        ),
        (
            "keys:\n  - {owner: a, public_key: '-----BEGIN PUBLIC KEY-----', valid_until: x}\n",
            2,
            "approvers.keys[0].valid_until",
            "unknown field",
        ),
        ("keyz: []\n", 1, "approvers.keyz", "unknown field"),
    ],
)
def test_malformed_approvers_name_line_and_field(text: str, line: int, field: str, words: str) -> None:
    with pytest.raises(PolicyError) as caught:
        parse_approvers(load_text(text, "org.yaml"), "org.yaml")
    assert (caught.value.path, caught.value.line, caught.value.field) == ("org.yaml", line, field)
    assert words in caught.value.message


def test_a_key_that_is_not_a_supported_public_key_is_a_policy_error() -> None:
    rsa_like = "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"
    approvers = parse_approvers(load_text(f"keys:\n  - owner: a\n    public_key: '{rsa_like}'\n", "o.yaml"), "o.yaml")
    with pytest.raises(PolicyError) as caught:
        approvers.public_keys()
    assert caught.value.field == "approvers.keys[0].public_key"
