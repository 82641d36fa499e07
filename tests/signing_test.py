"""Keys and envelopes: our DSSE envelopes verify with an independent
implementation (securesystemslib), for both key types, and KMS signing works
against moto's KMS."""

from __future__ import annotations

import base64
import copy
import json
import os
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from checker.errors import UsageError
from checker.signing import PAYLOAD_TYPE, KmsSigner, generate_key, load_signer, pae, sign_envelope

PAYLOAD = json.dumps({"_type": "https://in-toto.io/Statement/v1", "hello": "world"}).encode()


@pytest.mark.parametrize("key_type", ["ed25519", "ecdsa-p256"])
def test_keygen_writes_private_0600_and_public_and_returns_the_key_id(tmp_path: Path, key_type: str) -> None:
    keyid = generate_key(tmp_path / "k", key_type, None)
    assert stat.S_IMODE(os.stat(tmp_path / "k.key").st_mode) == 0o600
    assert (tmp_path / "k.key").read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    public = serialization.load_pem_public_key((tmp_path / "k.pub").read_bytes())
    import hashlib

    der = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    assert keyid == hashlib.sha256(der).hexdigest()
    with pytest.raises(UsageError, match="not overwriting"):
        generate_key(tmp_path / "k", key_type, None)


def test_encrypted_key_needs_its_passphrase(tmp_path: Path) -> None:
    generate_key(tmp_path / "k", "ed25519", "s3cret")
    assert b"ENCRYPTED" in (tmp_path / "k.key").read_bytes()
    with pytest.raises(UsageError, match="CHECKER_KEY_PASSPHRASE"):
        load_signer(str(tmp_path / "k.key"), {})
    with pytest.raises(UsageError, match="passphrase is wrong"):
        load_signer(str(tmp_path / "k.key"), {"CHECKER_KEY_PASSPHRASE": "nope"})
    assert load_signer(str(tmp_path / "k.key"), {"CHECKER_KEY_PASSPHRASE": "s3cret"}).keyid


def test_key_from_an_environment_variable(tmp_path: Path) -> None:
    keyid = generate_key(tmp_path / "k", "ecdsa-p256", None)
    pem = (tmp_path / "k.key").read_text()
    assert load_signer("env:SIGNING_KEY", {"SIGNING_KEY": pem}).keyid == keyid
    with pytest.raises(UsageError, match="SIGNING_KEY is not set"):
        load_signer("env:SIGNING_KEY", {})


def test_pae_is_the_dsse_encoding() -> None:
    assert pae("t", b"hello") == b"DSSEv1 1 t 5 hello"


@pytest.mark.parametrize("key_type", ["ed25519", "ecdsa-p256"])
def test_envelopes_verify_with_securesystemslib(tmp_path: Path, key_type: str) -> None:
    dsse = pytest.importorskip("securesystemslib.dsse")
    from securesystemslib.signer import SSlibKey

    keyid = generate_key(tmp_path / "k", key_type, None)
    envelope = sign_envelope(PAYLOAD, load_signer(str(tmp_path / "k.key"), {}))
    assert envelope["payloadType"] == PAYLOAD_TYPE
    public = serialization.load_pem_public_key((tmp_path / "k.pub").read_bytes())
    key = SSlibKey.from_crypto(public, keyid=keyid)  # type: ignore[arg-type]
    # from_dict changes the dict it is given: hand it copies.
    parsed = dsse.Envelope.from_dict(copy.deepcopy(envelope))
    assert set(parsed.verify([key], 1)) == {keyid}
    assert parsed.pae() == pae(PAYLOAD_TYPE, PAYLOAD)
    # And the independent verifier does reject a changed payload.
    tampered = dict(copy.deepcopy(envelope), payload=base64.b64encode(PAYLOAD.replace(b"world", b"W0rld")).decode())
    from securesystemslib.exceptions import VerificationError

    with pytest.raises(VerificationError):
        dsse.Envelope.from_dict(tampered).verify([key], 1)


def test_kms_signer_against_moto(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    moto = pytest.importorskip("moto")
    boto3 = pytest.importorskip("boto3")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with moto.mock_aws():
        kms = boto3.client("kms")
        key = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
        kms.create_alias(AliasName="alias/release-signing", TargetKeyId=key)
        signer = load_signer("awskms:alias/release-signing", {})
        assert isinstance(signer, KmsSigner)
        envelope = sign_envelope(PAYLOAD, signer)
        public_der = kms.get_public_key(KeyId=key)["PublicKey"]
    public = serialization.load_der_public_key(public_der)
    from checker.signing import key_id, verify_signature

    assert envelope["signatures"][0]["keyid"] == key_id(public)  # type: ignore[arg-type]
    signature = base64.b64decode(envelope["signatures"][0]["sig"])
    assert verify_signature(public, signature, pae(PAYLOAD_TYPE, PAYLOAD))  # type: ignore[arg-type]


class _LocalKms:
    """A KMS endpoint backed by a local P-256 key, for the DIGEST path that
    moto does not implement: it signs exactly what AWS documents it signs."""

    def __init__(self) -> None:
        from cryptography.hazmat.primitives.asymmetric import ec

        self.key = ec.generate_private_key(ec.SECP256R1())
        self.calls: list[str] = []

    def get_public_key(self, KeyId: str) -> dict[str, object]:
        der = self.key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return {"KeySpec": "ECC_NIST_P256", "PublicKey": der}

    def sign(self, KeyId: str, Message: bytes, MessageType: str, SigningAlgorithm: str) -> dict[str, bytes]:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec, utils

        self.calls.append(MessageType)
        assert SigningAlgorithm == "ECDSA_SHA_256"
        if MessageType == "DIGEST":
            assert len(Message) == 32
            return {"Signature": self.key.sign(Message, ec.ECDSA(utils.Prehashed(hashes.SHA256())))}
        return {"Signature": self.key.sign(Message, ec.ECDSA(hashes.SHA256()))}


def test_kms_signer_sends_large_reports_as_a_digest() -> None:
    from checker.signing import verify_signature

    kms = _LocalKms()
    signer = KmsSigner("alias/release-signing", client=kms)
    big = json.dumps({"_type": "x", "pad": "a" * 10_000}).encode()
    envelope = sign_envelope(big, signer)
    assert kms.calls == ["DIGEST"]
    signature = base64.b64decode(envelope["signatures"][0]["sig"])
    assert verify_signature(kms.key.public_key(), signature, pae(PAYLOAD_TYPE, big))


def test_kms_key_of_the_wrong_type_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    moto = pytest.importorskip("moto")
    boto3 = pytest.importorskip("boto3")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with moto.mock_aws():
        key = boto3.client("kms").create_key(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
        with pytest.raises(UsageError, match="needs ECC_NIST_P256"):
            load_signer(f"awskms:{key}", {})
