"""Release-side verification: one test per rejection reason, each failing if
its check were removed, plus the CLI's exit codes and audit log."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from checker.cli import main
from checker.signing import KeySigner, generate_key, load_signer, pae, sign_envelope
from checker.verify import Expectations, load_trust, verify

GOOD = "AWSTemplateFormatVersion: '2010-09-09'\nResources:\n  Topic:\n    Type: AWS::SNS::Topic\n"
BAD = GOOD + (
    "  Admin:\n    Type: AWS::IAM::ManagedPolicy\n    Properties:\n      PolicyDocument:\n"
    "        Statement:\n          - {Effect: Allow, Action: '*', Resource: '*'}\n"
)


class Env:
    def __init__(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.dir = tmp_path
        monkeypatch.chdir(tmp_path)
        (tmp_path / "app.zip").write_bytes(b"artifact A")
        (tmp_path / "other.zip").write_bytes(b"artifact B")
        generate_key(tmp_path / "build", "ed25519", None)
        generate_key(tmp_path / "stranger", "ecdsa-p256", None)
        self.signer = load_signer(str(tmp_path / "build.key"), {})

    def statement(self, template: str = GOOD) -> dict[str, Any]:
        (self.dir / "t.yaml").write_text(template)
        # The reports under test are about templates; the signing keys lying in
        # this folder would (rightly) fail REPO003 in a full repository check.
        main(["check", "t.yaml", "--templates-only", "--subject", "app.zip", "--format", "json", "--output", "s.json"])
        return json.loads((self.dir / "s.json").read_text())  # type: ignore[no-any-return]

    def envelope(self, statement: dict[str, Any] | None = None, signer: KeySigner | None = None) -> bytes:
        payload = json.dumps(statement or self.statement()).encode()
        return json.dumps(sign_envelope(payload, signer or self.signer)).encode()  # type: ignore[arg-type]

    def expect(self, **overrides: Any) -> Expectations:
        values: dict[str, Any] = {"trust": load_trust(self.dir / "build.pub"), "allow_templates_only": True}
        values |= overrides
        return Expectations(**values)


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Env:
    return Env(tmp_path, monkeypatch)


def codes(result: Any) -> set[str]:
    return {r.code for r in result.reasons}


def test_a_good_report_is_accepted(env: Env) -> None:
    result = verify(env.envelope(), env.expect(subjects=[env.dir / "app.zip"], max_age=timedelta(hours=1)))
    assert result.accepted and result.reasons == () and result.verdict == "pass"


def test_flipping_any_byte_of_payload_or_signature_is_rejected(env: Env) -> None:
    envelope = json.loads(env.envelope())
    payload = base64.b64decode(envelope["payload"])
    signature = base64.b64decode(envelope["signatures"][0]["sig"])
    for position in range(0, len(payload), max(1, len(payload) // 40)):
        changed = bytearray(payload)
        changed[position] ^= 0x01
        tampered = dict(envelope, payload=base64.b64encode(bytes(changed)).decode())
        assert codes(verify(json.dumps(tampered).encode(), env.expect())) == {"signature-invalid"}, position
    for position in range(len(signature)):
        changed = bytearray(signature)
        changed[position] ^= 0x80
        sigs = [{"keyid": envelope["signatures"][0]["keyid"], "sig": base64.b64encode(bytes(changed)).decode()}]
        assert not verify(json.dumps(dict(envelope, signatures=sigs)).encode(), env.expect()).accepted


def test_missing_signature(env: Env) -> None:
    envelope = dict(json.loads(env.envelope()), signatures=[])
    assert codes(verify(json.dumps(envelope).encode(), env.expect())) == {"signature-missing"}


def test_report_for_artifact_a_presented_for_b(env: Env) -> None:
    result = verify(env.envelope(), env.expect(subjects=[env.dir / "other.zip"]))
    assert codes(result) == {"subject-mismatch"}
    assert "other.zip" in result.reasons[0].message


def test_untrusted_key(env: Env) -> None:
    stranger = load_signer(str(env.dir / "stranger.key"), {})
    assert codes(verify(env.envelope(signer=stranger), env.expect())) == {"key-unknown"}  # type: ignore[arg-type]


def _keyring(env: Env, **fields: str) -> Path:
    pem = (env.dir / "build.pub").read_text().replace("\n", "\n      ")
    extra = "".join(f"    {k}: {v}\n" for k, v in fields.items())
    path = env.dir / "keyring.yaml"
    path.write_text(f"keys:\n  - owner: platform-team\n    public_key: |\n      {pem.rstrip()}\n{extra}")
    return path


def test_revoked_key(env: Env) -> None:
    trust = load_trust(_keyring(env, revoked="true"))
    assert codes(verify(env.envelope(), env.expect(trust=trust))) == {"key-revoked"}


def test_key_outside_its_validity_window(env: Env) -> None:
    expired = load_trust(_keyring(env, not_after="2020-01-01T00:00:00Z"))
    assert codes(verify(env.envelope(), env.expect(trust=expired))) == {"key-expired"}
    future = load_trust(_keyring(env, not_before="2999-01-01T00:00:00Z"))
    assert codes(verify(env.envelope(), env.expect(trust=future))) == {"key-expired"}
    rotated = load_trust(_keyring(env, not_before="2020-01-01T00:00:00Z", not_after="2999-01-01T00:00:00Z"))
    assert verify(env.envelope(), env.expect(trust=rotated)).accepted


def test_a_key_listed_twice_counts_once(env: Env) -> None:
    envelope = json.loads(env.envelope())
    envelope["signatures"] = envelope["signatures"] * 2
    trust = load_trust(env.dir / "build.pub") * 2
    result = verify(json.dumps(envelope).encode(), env.expect(trust=trust, threshold=2))
    assert codes(result) == {"threshold"}


def test_wrong_payload_type(env: Env) -> None:
    payload = json.dumps(env.statement()).encode()
    signature = env.signer.sign(pae("application/json", payload))
    envelope = {
        "payloadType": "application/json",
        "payload": base64.b64encode(payload).decode(),
        "signatures": [{"keyid": env.signer.keyid, "sig": base64.b64encode(signature).decode()}],
    }
    assert codes(verify(json.dumps(envelope).encode(), env.expect())) == {"payload-type"}


@pytest.mark.parametrize(
    ("payload", "words"),
    [
        (b"not json at all", "payload is not JSON"),
        (b'{"_type": "https://in-toto.io/Statement/v0.1"}', "not an in-toto Statement v1"),
        (b'{"_type": "https://in-toto.io/Statement/v1", "_type": "x"}', "duplicate key"),
        (b'{"_type": "https://in-toto.io/Statement/v1", "subject": []}', "does not match the report schema"),
    ],
)
def test_signed_but_malformed_statements(env: Env, payload: bytes, words: str) -> None:
    envelope = json.dumps(sign_envelope(payload, env.signer)).encode()  # type: ignore[arg-type]
    result = verify(envelope, env.expect())
    assert codes(result) == {"statement-malformed"} and words in result.reasons[0].message


@pytest.mark.parametrize(
    "envelope",
    [
        b"\xff\xfe",
        b"[]",
        b'{"payloadType": "a", "payloadType": "b"}',
        b"{" + b" " * (17 * 1024 * 1024) + b"}",
    ],
)
def test_malformed_or_huge_envelopes(env: Env, envelope: bytes) -> None:
    assert codes(verify(envelope, env.expect())) == {"envelope-malformed"}


def test_failing_report_is_rejected_with_the_rules_that_failed(env: Env) -> None:
    result = verify(env.envelope(env.statement(BAD)), env.expect())
    assert codes(result) == {"verdict-fail"}
    assert "IAM001" in result.reasons[0].message


def test_policy_not_the_pinned_one(env: Env) -> None:
    result = verify(env.envelope(), env.expect(policy_digest="sha256:" + "0" * 64))
    assert codes(result) == {"policy-mismatch"}


def test_old_report_and_report_from_the_future(env: Env) -> None:
    envelope = env.envelope()
    later = datetime.now(UTC) + timedelta(days=3)
    assert codes(verify(envelope, env.expect(max_age=timedelta(days=1), now=later))) == {"report-too-old"}
    earlier = datetime.now(UTC) - timedelta(hours=1)
    assert codes(verify(envelope, env.expect(now=earlier))) == {"report-future"}


def test_commit_mismatch(env: Env) -> None:
    statement = env.statement()
    statement["predicate"]["source"] = {
        "repository": None,
        "commit": "a" * 40,
        "branch": "main",
        "dirty": False,
    }
    assert verify(env.envelope(statement), env.expect(commit="aaaaaaa")).accepted
    assert codes(verify(env.envelope(statement), env.expect(commit="b" * 40))) == {"commit-mismatch"}


def test_every_reason_is_reported_not_just_the_first(env: Env) -> None:
    result = verify(
        env.envelope(env.statement(BAD)),
        env.expect(subjects=[env.dir / "other.zip"], policy_digest="sha256:" + "0" * 64),
    )
    assert codes(result) == {"verdict-fail", "subject-mismatch", "policy-mismatch"}


def test_cli_exit_codes_output_and_audit_log(env: Env, capsys: pytest.CaptureFixture[str]) -> None:
    (env.dir / "good.dsse.json").write_bytes(env.envelope())
    (env.dir / "bad.dsse.json").write_bytes(env.envelope(env.statement(BAD)))
    (env.dir / "junk.dsse.json").write_text("{")
    capsys.readouterr()
    common = ["--trust", "build.pub", "--audit-log", "audit.jsonl", "--allow-templates-only"]
    assert main(["verify", "good.dsse.json", *common, "--subject", "app.zip", "--max-age", "1h"]) == 0
    assert capsys.readouterr().out.startswith("verified: good.dsse.json passes")
    assert main(["verify", "bad.dsse.json", *common]) == 1
    assert "rejected: the report's verdict is fail (IAM001) [verdict-fail]" in capsys.readouterr().out
    assert main(["verify", "junk.dsse.json", *common, "--format", "json"]) == 2
    assert json.loads(capsys.readouterr().out)["reasons"][0]["code"] == "envelope-malformed"
    lines = [json.loads(line) for line in (env.dir / "audit.jsonl").read_text().splitlines()]
    assert [line["accepted"] for line in lines] == [True, False, False]
    assert lines[0]["subjects"][0]["name"] == "app.zip" and lines[0]["keyids"] == [env.signer.keyid]
    assert {"time", "report_sha256", "policy_digest", "verdict", "reasons"} <= set(lines[1])


def test_cli_check_signs_and_verify_checks_the_policy_file(env: Env, capsys: pytest.CaptureFixture[str]) -> None:
    (env.dir / "t.yaml").write_text(GOOD)
    (env.dir / "policy.yaml").write_text("schema_version: 1\nname: p\nversion: '1'\nrules:\n  IAM001: {}\n")
    code = main(
        [
            "check",
            "t.yaml",
            "--policy",
            "policy.yaml",
            "--subject",
            "app.zip",
            "--sign-key",
            "build.key",
            "--output",
            "r.dsse.json",
        ]
    )
    assert code == 0 and capsys.readouterr().out.startswith("PASS")
    assert main(["verify", "r.dsse.json", "--trust", "build.pub", "--policy", "policy.yaml"]) == 0
    (env.dir / "policy.yaml").write_text("schema_version: 1\nname: p\nversion: '2'\nrules:\n  IAM001: {}\n")
    assert main(["verify", "r.dsse.json", "--trust", "build.pub", "--policy", "policy.yaml"]) == 1
    assert "[policy-mismatch]" in capsys.readouterr().out


def test_usage_errors(env: Env, capsys: pytest.CaptureFixture[str]) -> None:
    (env.dir / "t.yaml").write_text(GOOD)
    assert main(["check", "t.yaml", "--format", "dsse"]) == 2
    assert main(["check", "t.yaml", "--sign-key", "build.key"]) == 2
    assert main(["check", "t.yaml", "--sign-key", "missing.key", "--output", "r.json"]) == 2
    err = capsys.readouterr().err
    assert "--format dsse needs --sign-key" in err and "give --output" in err and "cannot read signing key" in err


def test_a_templates_only_report_is_refused_unless_allowed(env: Env) -> None:
    envelope = env.envelope()
    result = verify(envelope, env.expect(allow_templates_only=False))
    assert not result.accepted and codes(result) == {"templates-only"}
    assert verify(envelope, env.expect()).accepted
