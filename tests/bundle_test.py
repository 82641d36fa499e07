"""Policy bundles: built reproducibly, verified before anything in them is
read, fetched from a file, HTTPS or S3, cached for offline reruns, never
rolled back; and what the release side checks of the bundle a report names."""

from __future__ import annotations

import base64
import gzip
import io
import json
import shutil
import ssl
import subprocess
import tarfile
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import HTTPServer, SimpleHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from checker.bundle import BundleCache, fetch_bundle, open_bundle, read_digest
from checker.cli import main
from checker.errors import InputError
from checker.signing import generate_key
from checker.verify import load_trust

REPO = Path(__file__).resolve().parent.parent
NOW = datetime.now(UTC)
RULE = """\
id: ACME001
title: SQS queues are encrypted
severity: medium
tags: [template]
view: resources
condition: "type == 'AWS::SQS::Queue' && properties.SqsManagedSseEnabled != `true` && properties.KmsMasterKeyId == null"
message: "{resource} is not encrypted"
rationale: Messages at rest must be encrypted.
remediation: Set SqsManagedSseEnabled or KmsMasterKeyId.
"""
QUEUE = "AWSTemplateFormatVersion: '2010-09-09'\nResources:\n  Queue:\n    Type: AWS::SQS::Queue\n"


class Org:
    """The central team: its policy folder, its policy-signing keys, and bundles built from them."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.dir = tmp / "policy"
        (self.dir / "rules").mkdir(parents=True)
        for name in ("signer", "other-signer", "team"):
            generate_key(tmp / name, "ed25519", None)
        shutil.copy(tmp / "signer.key", self.dir / "signer.key")  # kept beside the policy: must stay out
        (self.dir / "rules" / "ACME001_queue_encryption.yaml").write_text(RULE)
        self.write_baseline("1.0.0")
        (tmp / "trust.yaml").write_text(f"keys:\n  - owner: policy\n    public_key_file: {tmp / 'signer.pub'}\n")

    def write_baseline(self, version: str) -> None:
        text = (REPO / "policies" / "baseline.yaml").read_text().replace("name: org-baseline", "name: acme")
        text = text.replace('version: "1.0.0"', f'version: "{version}"')
        (self.dir / "baseline.yaml").write_text(text.replace("rules:\n", "rules:\n  ACME001: {enforce: error}\n", 1))

    def build(self, version: str, key: str = "signer", name: str = "acme.tar.gz") -> Path:
        out = self.tmp / name
        args = ["policy", "bundle", str(self.dir), "--version", version, "--output", str(out)]
        assert main([*args, "--sign-key", str(self.tmp / f"{key}.key"), "--created", "2026-11-30T00:00:00Z"]) == 0
        return out

    def trust(self) -> list[Any]:
        return load_trust(self.tmp / "trust.yaml")


@pytest.fixture
def org(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Org:
    made = Org(tmp_path)
    capsys.readouterr()
    return made


def _members(path: Path) -> dict[str, bytes]:
    with tarfile.open(path) as archive:
        return {m.name: archive.extractfile(m).read() for m in archive if m.isfile()}  # type: ignore[union-attr]


def _repack(members: dict[str, bytes], extra: list[tarfile.TarInfo] | None = None) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        for info in extra or []:
            archive.addfile(info)
    return gzip.compress(raw.getvalue())


def test_a_bundle_is_reproducible_and_its_digest_does_not_depend_on_the_signer(org: Org) -> None:
    first = org.build("1.0.0").read_bytes()
    assert org.build("1.0.0").read_bytes() == first  # same inputs, same bytes
    other = org.build("1.0.0", key="other-signer", name="other.tar.gz")
    assert read_digest(other.read_bytes(), "other") == read_digest(first, "first")
    names = set(_members(org.tmp / "acme.tar.gz"))
    assert names == {"bundle.dsse.json", "files/baseline.yaml", "files/rules/ACME001_queue_encryption.yaml"}


def test_a_verified_bundle_unpacks_with_its_manifest(org: Org) -> None:
    bundle = open_bundle(org.build("1.0.0").read_bytes(), "acme.tar.gz", org.trust(), NOW)
    try:
        assert (bundle.name, bundle.version) == ("acme", "1.0.0")
        assert bundle.baseline.read_text().startswith("# The organization baseline")
        assert bundle.rules is not None and bundle.signers[0].endswith("(policy)")
    finally:
        bundle.close()
    assert not bundle.folder.exists()


def _tampered(members: dict[str, bytes], part: str) -> bytes:
    changed = dict(members)
    envelope = json.loads(changed["bundle.dsse.json"])
    if part == "manifest":
        manifest = json.loads(base64.b64decode(envelope["payload"]))
        manifest["files"]["rules/ACME001_queue_encryption.yaml"] = "0" * 64
        payload = json.dumps(manifest, sort_keys=True, separators=(",", ":")).encode()
        changed["bundle.dsse.json"] = json.dumps(dict(envelope, payload=base64.b64encode(payload).decode())).encode()
    elif part == "rule":
        changed["files/rules/ACME001_queue_encryption.yaml"] = RULE.replace("medium", "info").encode()
    elif part == "signature":
        changed["bundle.dsse.json"] = json.dumps(dict(envelope, signatures=[])).encode()
    elif part == "extra file":
        changed["files/rules/ACME002_nothing.py"] = b"RULE = None\n"
    elif part == "missing file":
        del changed["files/rules/ACME001_queue_encryption.yaml"]
    elif part == "envelope":
        del changed["bundle.dsse.json"]
    return _repack(changed)


@pytest.mark.parametrize(
    ("part", "words"),
    [
        ("manifest", "not signed by a trusted policy key"),
        ("rule", "files/rules/ACME001_queue_encryption.yaml does not match its digest in the manifest"),
        ("signature", "not signed by a trusted policy key"),
        ("extra file", "files/rules/ACME002_nothing.py is in the bundle but not in its manifest"),
        ("missing file", "files/rules/ACME001_queue_encryption.yaml is in the manifest but not in the bundle"),
        ("envelope", "bundle.dsse.json is missing"),
    ],
)
def test_tampering_with_any_part_is_refused_naming_it(org: Org, part: str, words: str) -> None:
    members = _members(org.build("1.0.0"))
    with pytest.raises(InputError) as caught:
        open_bundle(_tampered(members, part), "acme.tar.gz", org.trust(), NOW)
    assert words in caught.value.message


@pytest.mark.parametrize("kind", ["escape", "link"])
def test_an_archive_with_anything_but_plain_files_is_refused(org: Org, kind: str) -> None:
    members = _members(org.build("1.0.0"))
    if kind == "escape":
        members["files/../../evil.py"] = b"x"
        data = _repack(members)
    else:
        link = tarfile.TarInfo("files/rules/link.py")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        data = _repack(members, [link])
    with pytest.raises(InputError, match="plain"):
        open_bundle(data, "acme.tar.gz", org.trust(), NOW)


def test_unknown_and_revoked_signers_and_a_wrong_pin_are_refused(org: Org) -> None:
    data = org.build("1.0.0").read_bytes()
    with pytest.raises(InputError, match="not signed by a trusted policy key"):
        open_bundle(org.build("1.0.0", key="team", name="team.tar.gz").read_bytes(), "t", org.trust(), NOW)
    (org.tmp / "revoked.yaml").write_text(
        f"keys:\n  - owner: policy\n    revoked: true\n    public_key_file: {org.tmp / 'signer.pub'}\n"
    )
    with pytest.raises(InputError, match=r"\(policy\) is revoked"):
        open_bundle(data, "acme.tar.gz", load_trust(org.tmp / "revoked.yaml"), NOW)
    with pytest.raises(InputError, match="not the pinned sha256:"):
        open_bundle(data, "acme.tar.gz", org.trust(), NOW, pin="sha256:" + "0" * 64)


def test_a_rolled_back_version_is_refused_and_the_cache_serves_offline(org: Org) -> None:
    cache = BundleCache(org.tmp / "cache")
    old = org.build("1.0.0", name="acme-1.0.0.tar.gz")
    org.write_baseline("1.1.0")
    new = org.build("1.1.0", name="acme-1.1.0.tar.gz")
    fetch_bundle(str(new), org.trust(), NOW, cache).close()
    with pytest.raises(InputError, match=r"older than 1\.1\.0, which this machine used before"):
        fetch_bundle(str(old), org.trust(), NOW, cache)
    pinned = f"{new}@{read_digest(new.read_bytes(), 'new')}"
    new.unlink()  # no network, no file: the verified copy in the cache serves, verified again
    bundle = fetch_bundle(pinned, org.trust(), NOW, cache)
    assert bundle.version == "1.1.0"
    bundle.close()
    cached = next((org.tmp / "cache").glob("*.tar.gz"))
    cached.write_bytes(_tampered(_members(old), "rule"))  # a cache is checked again on each use
    with pytest.raises(InputError):
        fetch_bundle(pinned, org.trust(), NOW, cache)


def _certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, as a test CA."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(NOW + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


@pytest.fixture
def https(org: Org, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, HTTPServer]]:
    """An HTTPS server on 127.0.0.1 serving the org's folder; its certificate trusted."""
    cert, key = _certificate(org.tmp)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))

    class Quiet(SimpleHTTPRequestHandler):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, directory=str(org.tmp), **kwargs)

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Quiet)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{server.server_address[1]}", server
    server.shutdown()
    thread.join(5)


def test_fetched_over_https_then_reused_offline(org: Org, https: tuple[str, HTTPServer]) -> None:
    url, server = https
    org.build("1.0.0")
    cache = BundleCache(org.tmp / "cache")
    fetch_bundle(f"{url}/acme.tar.gz", org.trust(), NOW, cache).close()
    server.shutdown()
    server.server_close()  # the network is gone: the copy verified before is used, verified again
    bundle = fetch_bundle(f"{url}/acme.tar.gz", org.trust(), NOW, cache)
    assert bundle.version == "1.0.0"
    bundle.close()
    with pytest.raises(InputError, match="no verified copy is cached"):
        fetch_bundle(f"{url}/other.tar.gz", org.trust(), NOW, cache)


def test_fetched_from_s3(org: Org, monkeypatch: pytest.MonkeyPatch) -> None:
    boto3 = pytest.importorskip("boto3")
    moto = pytest.importorskip("moto")
    for name, value in {
        "AWS_ACCESS_KEY_ID": "x",
        "AWS_SECRET_ACCESS_KEY": "x",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    with moto.mock_aws():
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket="acme-policy")
        s3.put_object(Bucket="acme-policy", Key="bundles/acme-1.0.0.tar.gz", Body=org.build("1.0.0").read_bytes())
        bundle = fetch_bundle("s3://acme-policy/bundles/acme-1.0.0.tar.gz", org.trust(), NOW, None)
        assert bundle.name == "acme"
        bundle.close()


def _team_repo(org: Org) -> Path:
    repo = org.tmp / "repo"
    (repo / "infra").mkdir(parents=True)
    (repo / "infra" / "queue.yaml").write_text(QUEUE)
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "remote", "add", "origin", "https://github.com/acme/orders.git"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "queue"], check=True)
    return repo


def test_a_build_uses_the_bundle_and_the_release_side_pins_it(
    org: Org, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    bundle = org.build("1.1.0")
    repo = _team_repo(org)
    monkeypatch.chdir(repo)
    monkeypatch.setenv("CHECKER_POLICY_TRUST", str(org.tmp / "trust.yaml"))
    generate_key(org.tmp / "build", "ed25519", None)
    check = ["check", "infra", "--templates-only", "--policy-bundle", str(bundle), "--bundle-cache", str(org.tmp / "c")]
    signed = [*check, "--sign-key", str(org.tmp / "build.key"), "--output", str(org.tmp / "r.json")]
    assert main(signed) == 1  # the organization's own rule, from the bundle, fails the queue
    capsys.readouterr()
    assert main([*check, "--format", "json"]) == 1
    predicate = json.loads(capsys.readouterr().out)["predicate"]
    (acme,) = [r for r in predicate["results"] if r["rule"] == "ACME001"]
    assert acme["status"] == "fail" and acme["source"] == "bundle:acme@1.1.0/rules/ACME001_queue_encryption.yaml"
    assert predicate["policy"]["bundle"]["version"] == "1.1.0"
    assert predicate["policy"]["layers"][0]["path"] == "bundle:acme@1.1.0/baseline.yaml"
    # Fixed, the build passes, and verify pins the bundle and its version.
    (repo / "infra" / "queue.yaml").write_text(QUEUE + "    Properties: {SqsManagedSseEnabled: true}\n")
    subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qam", "sse"],
        check=True,
    )
    assert main(signed) == 0
    (org.tmp / "keyring.yaml").write_text(
        "keys:\n  - owner: build\n    repositories: [github.com/acme/orders]\n"
        f"    public_key_file: {org.tmp / 'build.pub'}\n"
    )
    verify = ["verify", str(org.tmp / "r.json"), "--trust", str(org.tmp / "keyring.yaml"), "--allow-templates-only"]
    pins = ["--policy", str(bundle), "--policy-trust", str(org.tmp / "trust.yaml"), "--require-builtin-rules"]
    capsys.readouterr()
    assert main([*verify, *pins, "--policy-name", "acme", "--min-policy-version", "1.1.0"]) == 0
    capsys.readouterr()
    assert main([*verify, *pins, "--policy-name", "acme-sandbox"]) == 1
    assert "[policy-name]" in capsys.readouterr().out
    assert main([*verify, *pins, "--min-policy-version", "1.2.0"]) == 1
    assert "[policy-version]" in capsys.readouterr().out
    assert main([*verify, "--min-policy-version", "1.0.0"]) == 2  # a version counts only if signed by the org
    capsys.readouterr()
    assert main([*verify, "--policy-trust", str(org.tmp / "team.pub")]) == 1
    assert "[bundle-untrusted]" in capsys.readouterr().out


def test_a_build_never_falls_back_to_the_built_in_policy(
    org: Org, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = _team_repo(org)
    monkeypatch.chdir(repo)
    tampered = org.tmp / "tampered.tar.gz"
    tampered.write_bytes(_tampered(_members(org.build("1.0.0")), "rule"))
    base = ["check", "infra", "--templates-only", "--bundle-cache", ""]
    assert main([*base, "--policy-bundle", str(tampered), "--policy-trust", str(org.tmp / "trust.yaml")]) == 2
    assert "does not match its digest" in capsys.readouterr().err
    assert main([*base, "--policy-bundle", str(org.tmp / "acme.tar.gz")]) == 2
    assert "give --policy-trust" in capsys.readouterr().err


def test_a_gzip_bomb_is_refused_without_unpacking_it(org: Org) -> None:
    bomb = gzip.compress(b"\0" * (200 * 1024 * 1024))
    assert len(bomb) < 1024 * 1024
    with pytest.raises(InputError, match="unpacks to too much"):
        open_bundle(bomb, "bomb.tar.gz", org.trust(), NOW)


def test_an_approver_approves_waivers_of_the_bundles_own_rules(
    org: Org, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    bundle = org.build("1.0.0")
    repo = _team_repo(org)
    monkeypatch.chdir(repo)
    expires = (NOW + timedelta(days=10)).strftime("%Y-%m-%d")
    (repo / ".checker-waivers.yml").write_text(
        "kind: checker-waivers\nwaivers:\n"
        "  - {rule: ACME001, scope: {template: infra/queue.yaml, resource: Queue},"
        f" reason: r, expires: '{expires}'}}\n"
    )
    approve = ["approve", ".checker-waivers.yml", "--key", str(org.tmp / "other-signer.key")]
    assert main(approve) == 2  # the built-in catalogue has no ACME001
    assert "no rule with id 'ACME001'" in capsys.readouterr().err
    trust = ["--policy-trust", str(org.tmp / "trust.yaml"), "--bundle-cache", ""]
    assert main([*approve, "--policy-bundle", str(bundle), *trust]) == 0
    assert "ACME001 on template 'infra/queue.yaml', resource 'Queue'" in capsys.readouterr().err


def test_a_cache_the_team_can_write_neither_crashes_nor_blocks_a_build(org: Org) -> None:
    folder = org.tmp / "cache"
    folder.mkdir()
    bundle = org.build("1.0.0")
    pin = read_digest(bundle.read_bytes(), "acme")
    for index in ('{"versions": 5}', '{"versions": {"acme": 7}, "sources": []}', "[[[[" * 10000):
        (folder / "index.json").write_text(index)
        fetch_bundle(str(bundle), org.trust(), NOW, BundleCache(folder)).close()
    # A copy planted under the pinned digest is checked, found wrong, and fetched again.
    (folder / f"{pin.removeprefix('sha256:')}.tar.gz").write_bytes(b"not a bundle")
    fetched = fetch_bundle(f"{bundle}@{pin}", org.trust(), NOW, BundleCache(folder))
    assert fetched.digest == pin
    fetched.close()


@pytest.mark.parametrize(
    ("envelope", "words"),
    [(b"[" * 100000, "not a DSSE envelope"), (b'{"payloadType": "x", "payload": "", "signatures": 5}', "payload type")],
)
def test_a_malformed_envelope_is_an_input_error(org: Org, envelope: bytes, words: str) -> None:
    members = _members(org.build("1.0.0"))
    members["bundle.dsse.json"] = envelope
    with pytest.raises(InputError, match=words):
        open_bundle(_repack(members), "acme.tar.gz", org.trust(), NOW)


def test_a_pre_release_does_not_pass_for_a_release(
    org: Org, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    bundle = org.build("1.2.0-rc.1")
    repo = _team_repo(org)
    monkeypatch.chdir(repo)
    generate_key(org.tmp / "build", "ed25519", None)
    (repo / "infra" / "queue.yaml").write_text(QUEUE + "    Properties: {SqsManagedSseEnabled: true}\n")
    check = ["check", "infra", "--templates-only", "--policy-bundle", str(bundle), "--bundle-cache", ""]
    trust = ["--policy-trust", str(org.tmp / "trust.yaml")]
    report = str(org.tmp / "r.json")
    assert main([*check, *trust, "--sign-key", str(org.tmp / "build.key"), "--output", report]) == 0
    verify = ["verify", report, "--trust", str(org.tmp / "build.pub"), "--allow-templates-only", "--allow-dirty"]
    capsys.readouterr()
    assert main([*verify, *trust, "--min-policy-version", "1.1.0"]) == 1
    assert "[policy-version]" in capsys.readouterr().out
    assert main([*verify, *trust, "--min-policy-version", "1.2.0-rc.1"]) == 0
    assert main([*verify, "--policy-name", "acme"]) == 2  # a name counts only if the organization signed it


def test_rules_changed_on_disk_after_verification_are_refused(org: Org) -> None:
    from checker.errors import RuleDefinitionError
    from checker.registry import load_registry

    bundle = open_bundle(org.build("1.0.0").read_bytes(), "acme.tar.gz", org.trust(), NOW)
    try:
        assert bundle.rules is not None
        rule = bundle.rules / "ACME001_queue_encryption.yaml"
        rule.write_text(RULE.replace("type == 'AWS::SQS::Queue' &&", "`false` &&"))  # swapped in between
        with pytest.raises(RuleDefinitionError, match="is not the file the verified policy bundle lists"):
            load_registry(labelled=[(bundle.rules, f"{bundle.label}/rules", bundle.rule_digests)])
    finally:
        bundle.close()


def test_verify_holds_the_bundles_rules_to_its_manifest(
    org: Org, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from checker.signing import load_signer, sign_envelope
    from checker.verify import Expectations, verify

    bundle = org.build("1.0.0")
    repo = _team_repo(org)
    monkeypatch.chdir(repo)
    check = ["check", "infra", "--templates-only", "--policy-bundle", str(bundle), "--bundle-cache", ""]
    capsys.readouterr()
    assert main([*check, "--policy-trust", str(org.tmp / "trust.yaml"), "--format", "json"]) == 1
    statement = json.loads(capsys.readouterr().out)
    (acme,) = [r for r in statement["predicate"]["results"] if r["rule"] == "ACME001"]
    acme["source_sha256"] = "0" * 64
    generate_key(org.tmp / "build", "ed25519", None)
    envelope = sign_envelope(json.dumps(statement).encode(), load_signer(str(org.tmp / "build.key"), {}))
    expect = Expectations(
        trust=load_trust(org.tmp / "build.pub"), allow_templates_only=True, allow_dirty=True, policy_trust=org.trust()
    )
    result = verify(json.dumps(envelope).encode(), expect)
    assert "rule-source" in {r.code for r in result.reasons}
