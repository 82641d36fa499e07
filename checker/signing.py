"""Keys and DSSE signing.

A signed report is a DSSE envelope (https://github.com/secure-systems-lab/dsse)
over the in-toto Statement: ``payloadType`` ``application/vnd.in-toto+json``,
the statement base64-encoded in ``payload``, and ``signatures`` of
``{keyid, sig}`` computed over the DSSE pre-authentication encoding (PAE).
Ed25519 signs the PAE directly; ECDSA P-256 signs its SHA-256 and the
signature is DER-encoded, as securesystemslib and cosign expect.

Key ids: the lowercase hex SHA-256 of the public key's DER
SubjectPublicKeyInfo, so anyone can recompute one with
``openssl pkey -pubin -in KEY.pub -outform DER | sha256sum``.

``cryptography`` is imported here, and this module only on the signing and
verifying paths; boto3 only for ``awskms:`` keys.
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from checker.errors import InputError, UsageError

PAYLOAD_TYPE = "application/vnd.in-toto+json"
PASSPHRASE_ENV = "CHECKER_KEY_PASSPHRASE"
KEY_TYPES = ("ed25519", "ecdsa-p256")
_KMS_RAW_LIMIT = 4096

PublicKey = ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey
PrivateKey = ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE's pre-authentication encoding: what is actually signed."""
    kind = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(payload), payload)


def key_id(public_key: PublicKey) -> str:
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()


def check_public_key(key: Any, where: str) -> PublicKey:
    if isinstance(key, ed25519.Ed25519PublicKey):
        return key
    if isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1):
        return key
    raise InputError("only Ed25519 and ECDSA P-256 keys are supported", path=where)


def load_public_key(pem: bytes, where: str) -> PublicKey:
    try:
        key = serialization.load_pem_public_key(pem)
    except ValueError:
        raise InputError("not a PEM public key (SubjectPublicKeyInfo)", path=where) from None
    return check_public_key(key, where)


def verify_signature(public_key: PublicKey, signature: bytes, message: bytes) -> bool:
    try:
        if isinstance(public_key, ed25519.Ed25519PublicKey):
            public_key.verify(signature, message)
        else:
            public_key.verify(signature, message, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True


class Signer(Protocol):
    """Something that signs DSSE PAE bytes under a key id."""

    @property
    def keyid(self) -> str: ...

    def sign(self, message: bytes) -> bytes: ...


@dataclass(frozen=True)
class KeySigner:
    """A private key held in memory (from a file or an environment variable)."""

    private_key: PrivateKey

    @property
    def keyid(self) -> str:
        return key_id(self.private_key.public_key())

    @property
    def public_key(self) -> PublicKey:
        return self.private_key.public_key()

    def sign(self, message: bytes) -> bytes:
        if isinstance(self.private_key, ed25519.Ed25519PrivateKey):
            return self.private_key.sign(message)
        return self.private_key.sign(message, ec.ECDSA(hashes.SHA256()))


class KmsSigner:
    """An AWS KMS asymmetric key (ECC_NIST_P256, ECDSA_SHA_256); the private
    key never leaves KMS. boto3 is imported only here."""

    def __init__(self, key: str, client: Any | None = None) -> None:
        if client is None:
            try:
                import boto3
            except ImportError:
                raise UsageError("awskms: keys need boto3", hint="pip install 'checker[kms]'") from None
            client = boto3.client("kms")
        self._client = client
        self._key = key
        try:
            described = client.get_public_key(KeyId=key)
        except Exception as exc:  # botocore raises many kinds; all mean "cannot use this key"
            raise UsageError(f"cannot read KMS key {key}: {exc}") from None
        # Older responses (and moto) name the field CustomerMasterKeySpec.
        spec = described.get("KeySpec") or described.get("CustomerMasterKeySpec")
        if spec != "ECC_NIST_P256":
            raise UsageError(f"KMS key {key} is {spec}; checker needs ECC_NIST_P256")
        public = serialization.load_der_public_key(described["PublicKey"])
        self._public = check_public_key(public, f"awskms:{key}")
        self._keyid = key_id(self._public)

    @property
    def keyid(self) -> str:
        return self._keyid

    @property
    def public_key(self) -> PublicKey:
        return self._public

    def sign(self, message: bytes) -> bytes:
        # KMS takes at most 4096 bytes as a RAW message (it hashes it with
        # SHA-256 itself); larger ones are sent as their SHA-256 DIGEST. Both
        # give an ECDSA-SHA256 signature over the same message.
        if len(message) <= _KMS_RAW_LIMIT:
            kind, data = "RAW", message
        else:
            kind, data = "DIGEST", hashlib.sha256(message).digest()
        try:
            answer = self._client.sign(
                KeyId=self._key, Message=data, MessageType=kind, SigningAlgorithm="ECDSA_SHA_256"
            )
        except Exception as exc:
            raise UsageError(f"KMS signing with {self._key} failed: {exc}") from None
        return bytes(answer["Signature"])  # DER, as DSSE verifiers expect


def _load_private(pem: bytes, where: str, env: Mapping[str, str]) -> PrivateKey:
    passphrase = env.get(PASSPHRASE_ENV)
    try:
        key = serialization.load_pem_private_key(pem, password=passphrase.encode() if passphrase else None)
    except TypeError:
        raise UsageError(
            f"{where} is encrypted", hint=f"put its passphrase in the {PASSPHRASE_ENV} environment variable"
        ) from None
    except ValueError:
        raise UsageError(f"{where} is not a PEM private key, or the passphrase is wrong") from None
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return key
    if isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, ec.SECP256R1):
        return key
    raise UsageError(f"{where}: only Ed25519 and ECDSA P-256 keys are supported")


def load_signer(ref: str, env: Mapping[str, str]) -> Signer:
    """``PATH`` (PEM file), ``env:NAME`` (PEM in a variable) or ``awskms:KEY``."""
    if ref.startswith("awskms:"):
        return KmsSigner(ref.removeprefix("awskms:"))
    if ref.startswith("env:"):
        name = ref.removeprefix("env:")
        value = env.get(name)
        if not value:
            raise UsageError(f"environment variable {name} is not set (--sign-key {ref})")
        return KeySigner(_load_private(value.encode(), f"${name}", env))
    try:
        pem = Path(ref).read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read signing key {ref}: {exc.strerror}") from None
    return KeySigner(_load_private(pem, ref, env))


def sign_envelope(payload: bytes, signer: Signer) -> dict[str, Any]:
    signature = signer.sign(pae(PAYLOAD_TYPE, payload))
    return {
        "payloadType": PAYLOAD_TYPE,
        "payload": base64.b64encode(payload).decode(),
        "signatures": [{"keyid": signer.keyid, "sig": base64.b64encode(signature).decode()}],
    }


def sign_typed(payload: bytes, payload_type: str, signer: Signer) -> dict[str, Any]:
    """A DSSE envelope of any payload type (checkpoints, verification records)."""
    signature = signer.sign(pae(payload_type, payload))
    return {
        "payloadType": payload_type,
        "payload": base64.b64encode(payload).decode(),
        "signatures": [{"keyid": signer.keyid, "sig": base64.b64encode(signature).decode()}],
    }


def open_typed(envelope: Any, payload_type: str, keys: Mapping[str, PublicKey]) -> tuple[bytes | None, list[str]]:
    """(payload, key ids that signed it) of an envelope of ``payload_type``,
    signed by one of ``keys`` (key id -> public key); (None, []) when it is not
    such an envelope or no signature of those keys verifies."""
    if not isinstance(envelope, Mapping) or envelope.get("payloadType") != payload_type:
        return None, []
    try:
        payload = base64.b64decode(str(envelope.get("payload")), validate=True)
    except ValueError:
        return None, []
    message = pae(payload_type, payload)
    signers = []
    for entry in envelope.get("signatures") or []:
        if not isinstance(entry, Mapping):
            continue
        key = keys.get(str(entry.get("keyid")))
        try:
            signature = base64.b64decode(str(entry.get("sig")), validate=True)
        except ValueError:
            continue
        if key is not None and verify_signature(key, signature, message):
            signers.append(str(entry.get("keyid")))
    return (payload, signers) if signers else (None, [])


def generate_key(prefix: Path, key_type: str, passphrase: str | None) -> str:
    """Write PREFIX.key (PKCS#8 PEM, mode 0600) and PREFIX.pub (SPKI PEM); return the key id."""
    private: PrivateKey
    if key_type == "ed25519":
        private = ed25519.Ed25519PrivateKey.generate()
    elif key_type == "ecdsa-p256":
        private = ec.generate_private_key(ec.SECP256R1())
    else:
        raise UsageError(f"unknown key type {key_type!r} (choose {', '.join(KEY_TYPES)})")
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase.encode()) if passphrase else serialization.NoEncryption()
    )
    key_path, pub_path = Path(f"{prefix}.key"), Path(f"{prefix}.pub")
    for path in (key_path, pub_path):
        if path.exists():
            raise UsageError(f"{path} exists; not overwriting a key")
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
    try:
        # Created 0600 from the start: the key is never readable by others.
        fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
        pub_path.write_bytes(
            private.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
    except OSError as exc:
        raise UsageError(f"cannot write key files: {exc.strerror}") from None
    return key_id(private.public_key())
