"""Release-side verification: one test per rejection reason, each failing if
its check were removed, plus the CLI's exit codes and audit log."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from checker.cli import main
from checker.errors import InputError, UsageError
from checker.registry import builtin_rules_dir, load_registry
from checker.signing import KeySigner, generate_key, load_signer, pae, sign_envelope
from checker.verify import Expectations, load_trust, verify

GOOD = "AWSTemplateFormatVersion: '2010-09-09'\nResources:\n  Topic:\n    Type: AWS::SNS::Topic\n"
BAD = GOOD + (
    "  Admin:\n    Type: AWS::IAM::ManagedPolicy\n    Properties:\n      PolicyDocument:\n"
    "        Statement:\n          - {Effect: Allow, Action: '*', Resource: '*'}\n"
)

# A clean build of a git checkout: what a good report says about its source.
# Set explicitly, since these tests run outside a git checkout.
CLEAN_SOURCE = {
    "repository": "github.com/acme/payments",
    "commit": "a" * 40,
    "branch": "main",
    "dirty": False,
    "dirty_reasons": [],
    "untracked_inputs": [],
}


def _complete(predicate: dict[str, Any]) -> None:
    """Fill the report fields a builder may not emit yet, only where absent,
    so that these tests keep testing verify once it does."""
    predicate.setdefault(
        "inputs",
        {
            "paths": ["t.yaml"],
            "excluded": [],
            "base_ref": None,
            "run_scans": False,
            "rule_folders": [],
            "cache": {"requested": False, "authenticated": False, "template_hits": 0, "scan_hits": 0},
        },
    )
    predicate.setdefault("relaxations", [])


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
        statement: dict[str, Any] = json.loads((self.dir / "s.json").read_text())
        _complete(statement["predicate"])
        statement["predicate"]["vcs"] = "git"
        statement["predicate"]["source"] = dict(CLEAN_SOURCE)
        return statement

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
    """The window is judged at verification time, not at the report's date."""
    envelope = env.envelope()
    expired = load_trust(_keyring(env, not_after="2020-01-01T00:00:00Z"))
    assert codes(verify(envelope, env.expect(trust=expired))) == {"key-expired"}
    future = load_trust(_keyring(env, not_before="2999-01-01T00:00:00Z"))
    assert codes(verify(envelope, env.expect(trust=future))) == {"key-expired"}
    rotated = load_trust(_keyring(env, not_before="2020-01-01T00:00:00Z", not_after="2999-01-01T00:00:00Z"))
    assert verify(envelope, env.expect(trust=rotated)).accepted
    # A fresh report, made while the key was valid, presented after it retired.
    retiring = load_trust(_keyring(env, not_after=(datetime.now(UTC) + timedelta(days=1)).isoformat()))
    assert verify(envelope, env.expect(trust=retiring)).accepted
    later = datetime.now(UTC) + timedelta(days=2)
    result = verify(envelope, env.expect(trust=retiring, now=later))
    assert codes(result) == {"key-expired"} and "verification time" in result.reasons[0].message


def test_a_backdated_report_from_a_retired_key_is_rejected(env: Env) -> None:
    statement = env.statement()
    statement["predicate"]["timestamps"] = {"started": "2020-06-01T10:00:00Z", "finished": "2020-06-01T10:01:00Z"}
    retired = load_trust(_keyring(env, not_before="2019-01-01T00:00:00Z", not_after="2021-01-01T00:00:00Z"))
    result = verify(env.envelope(statement), env.expect(trust=retired))
    assert codes(result) == {"key-expired"} and "expired at 2021-01-01T00:00:00Z" in result.reasons[0].message


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
    statement["predicate"]["source"] = dict(CLEAN_SOURCE, commit="a" * 40)
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
    # The check ran outside a git checkout: the release side must say it accepts that.
    verify_args = ["verify", "r.dsse.json", "--trust", "build.pub", "--policy", "policy.yaml", "--allow-no-git"]
    assert main(verify_args) == 0
    (env.dir / "policy.yaml").write_text("schema_version: 1\nname: p\nversion: '2'\nrules:\n  IAM001: {}\n")
    assert main(verify_args) == 1
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


# --- Trust files: decided by structure, parsed strictly ---------------------


def _pem(env: Env) -> str:
    return (env.dir / "build.pub").read_text()


def test_a_keyring_starting_with_a_comment_is_a_keyring_not_its_first_pem(env: Env) -> None:
    """Read as a PEM file, the keyring's revocation would be ignored."""
    for lead in ("# trusted build keys\n", "---\n", "\n  # keys\n---\n"):
        path = _keyring(env, revoked="true")
        path.write_text(lead + path.read_text())
        (key,) = load_trust(path)
        assert key.revoked and key.owner == "platform-team"
        assert codes(verify(env.envelope(), env.expect(trust=[key]))) == {"key-revoked"}


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("{pem}trailing words\n", "exactly one PEM 'PUBLIC KEY' block"),
        ("{pem}{pem}", "exactly one PEM 'PUBLIC KEY' block"),
        ("{pem}keys:\n  - revoked: true\n", "exactly one PEM 'PUBLIC KEY' block"),
        ("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n", "exactly one PEM 'PUBLIC KEY' block"),
        ("  \n{pem}", None),
    ],
)
def test_a_pem_trust_file_is_exactly_one_public_key_block(env: Env, text: str, words: str | None) -> None:
    path = env.dir / "trust.pem"
    path.write_text(text.replace("{pem}", _pem(env)))
    if words is None:
        assert [k.keyid for k in load_trust(path)] == [env.signer.keyid]
        return
    with pytest.raises(InputError, match=words):
        load_trust(path)


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("keys:\n  - public_key_file: build.pub\nrevoked_keys: []\n", "keyring.yaml:3: revoked_keys:"),
        ("keys:\n  - public_key_file: build.pub\n    not_afer: 2020-01-01\n", "keyring.yaml:3: keys[0].not_afer:"),
        ('{"keys": [{"public_key_file": "build.pub", "repository": "x"}]}', "keyring.yaml:1: keys[0].repository:"),
        ("keys:\n  - public_key_file: build.pub\n    repositories: []\n", "keyring.yaml:3: keys[0].repositories:"),
        ("keys:\n  - public_key_file: build.pub\n    repositories: acme/*\n", "keyring.yaml:3: keys[0].repositories:"),
        ("keys:\n  - public_key: |\n      not a key\n", "keyring.yaml:2: keys[0].public_key:"),
        ("keys:\n  - public_key_file: build.pub\n    public_key: x\n", "keyring.yaml:2: keys[0]: needs public_key"),
        ("keys: []\n", "keyring.yaml:1: keys: a keyring needs"),
        ("- public_key_file: build.pub\n", "keyring.yaml:1: a keyring must be a mapping"),
    ],
)
def test_a_keyring_with_unknown_or_malformed_fields_is_an_error(env: Env, text: str, where: str) -> None:
    (env.dir / "keyring.yaml").write_text(text)
    with pytest.raises(InputError) as caught:
        load_trust(env.dir / "keyring.yaml")
    assert str(caught.value).startswith(str(env.dir / where))


def test_cli_malformed_trust_file_is_exit_2(env: Env, capsys: pytest.CaptureFixture[str]) -> None:
    (env.dir / "r.dsse.json").write_bytes(env.envelope())
    (env.dir / "keyring.yaml").write_text("keys:\n  - public_key_file: build.pub\n    not_afer: 2020-01-01\n")
    assert main(["verify", "r.dsse.json", "--trust", "keyring.yaml", "--allow-templates-only"]) == 2
    assert "keyring.yaml:3: keys[0].not_afer: unknown field" in capsys.readouterr().err


def test_a_key_scoped_to_repositories_signs_only_for_them(env: Env) -> None:
    envelope = env.envelope()  # for github.com/acme/payments
    ours = load_trust(_keyring(env, repositories='["github.com/acme/pay*", "gitlab.com/x/y"]'))
    assert verify(envelope, env.expect(trust=ours)).accepted
    theirs = load_trust(_keyring(env, repositories='["github.com/acme/billing"]'))
    result = verify(envelope, env.expect(trust=theirs))
    assert codes(result) == {"key-repository"} and "github.com/acme/payments" in result.reasons[0].message
    # Matching is case-sensitive: the build normalizes the name.
    upper = load_trust(_keyring(env, repositories='["github.com/ACME/*"]'))
    assert codes(verify(envelope, env.expect(trust=upper))) == {"key-repository"}
    # A report that names no repository is not one the key may sign for.
    statement = env.statement()
    statement["predicate"]["source"]["repository"] = None
    assert codes(verify(env.envelope(statement), env.expect(trust=ours))) == {"key-repository"}
    statement["predicate"]["source"] = None
    statement["predicate"]["vcs"] = "none"
    assert codes(verify(env.envelope(statement), env.expect(trust=ours, allow_no_git=True))) == {"key-repository"}
    # An unrestricted listing of the same key elsewhere does not lift the scope.
    anywhere = load_trust(env.dir / "build.pub")
    assert codes(verify(envelope, env.expect(trust=anywhere + theirs))) == {"key-repository"}


# --- Threshold ---------------------------------------------------------------


@pytest.mark.parametrize("threshold", [0, -1])
def test_a_threshold_below_one_is_a_usage_error(env: Env, capsys: pytest.CaptureFixture[str], threshold: int) -> None:
    with pytest.raises(UsageError, match="--threshold must be 1 or more"):
        env.expect(threshold=threshold)
    forged = json.dumps({"payloadType": "x", "payload": "", "signatures": [{"sig": ""}]})
    (env.dir / "forged.dsse.json").write_text(forged)
    capsys.readouterr()
    assert main(["verify", "forged.dsse.json", "--trust", "build.pub", f"--threshold={threshold}"]) == 2
    captured = capsys.readouterr()
    assert "--threshold must be 1 or more" in captured.err and "verified" not in captured.out


# --- What the report says about its build ------------------------------------


def test_env_must_be_the_expected_one(env: Env) -> None:
    statement = env.statement()
    assert statement["predicate"]["env"] is None  # checked without --env
    result = verify(env.envelope(statement), env.expect(env="prod"))
    assert codes(result) == {"env-mismatch"} and "no env" in result.reasons[0].message
    statement["predicate"]["env"] = "staging"
    assert codes(verify(env.envelope(statement), env.expect(env="prod"))) == {"env-mismatch"}
    statement["predicate"]["env"] = "prod"
    assert verify(env.envelope(statement), env.expect(env="prod")).accepted
    with pytest.raises(UsageError):
        env.expect(env="production")


def test_a_dirty_checkout_is_rejected_unless_allowed(env: Env) -> None:
    statement = env.statement()
    why = [f"modified: file{i}.yaml" for i in range(7)]
    statement["predicate"]["source"] |= {"dirty": True, "dirty_reasons": why}
    envelope = env.envelope(statement)
    result = verify(envelope, env.expect())
    assert codes(result) == {"dirty"}
    message = result.reasons[0].message
    assert "file4.yaml" in message and "file5.yaml" not in message and "and 2 more" in message
    assert verify(envelope, env.expect(allow_dirty=True)).accepted


def test_a_check_outside_git_is_rejected_unless_allowed(env: Env) -> None:
    statement = env.statement()
    statement["predicate"] |= {"vcs": "none", "source": None}
    envelope = env.envelope(statement)
    assert codes(verify(envelope, env.expect())) == {"no-git"}
    assert verify(envelope, env.expect(allow_no_git=True)).accepted
    statement["predicate"]["vcs"] = "git"  # a source-less report claiming git is no better
    assert codes(verify(env.envelope(statement), env.expect())) == {"no-git"}


def test_templates_given_must_have_been_judged(env: Env) -> None:
    statement = env.statement()
    (env.dir / "deployed.yaml").write_text(BAD)
    assert verify(env.envelope(statement), env.expect(templates=[env.dir / "t.yaml"])).accepted
    result = verify(env.envelope(statement), env.expect(templates=[env.dir / "t.yaml", env.dir / "deployed.yaml"]))
    assert codes(result) == {"template-not-judged"} and "deployed.yaml" in result.reasons[0].message
    # Listed, but it failed to load: not judged.
    for entry in statement["predicate"]["templates"]:
        entry["status"] = "error"
    assert codes(verify(env.envelope(statement), env.expect(templates=[env.dir / "t.yaml"]))) == {"template-not-judged"}


@pytest.mark.parametrize(
    ("version", "minimum", "accepted"),
    [
        ("1.10.0", "1.9", True),  # PEP 440 order, not string order
        ("1.2.0", "1.2", True),
        ("1.2.0rc1", "1.2", False),
        ("0.9.9", "1.0", False),
        ("not a version", "0.1", False),
    ],
)
def test_a_report_from_an_old_checker_is_rejected(env: Env, version: str, minimum: str, accepted: bool) -> None:
    statement = env.statement()
    statement["predicate"]["tool"]["version"] = version
    result = verify(env.envelope(statement), env.expect(min_checker_version=minimum))
    assert codes(result) == (set() if accepted else {"checker-version"})


def test_an_unparseable_minimum_checker_version_is_a_usage_error(env: Env) -> None:
    with pytest.raises(UsageError, match="PEP 440"):
        env.expect(min_checker_version="latest")


def _scan(tool: str, obtained: list[str]) -> dict[str, Any]:
    return {"kind": "scan", "tool": tool, "version": "1.0", "obtained": obtained, "evidence": [], "required": True}


def test_scans_must_have_run_when_required(env: Env) -> None:
    statement = env.statement()
    statement["predicate"]["evidence"] = [_scan("trivy", ["ran"]), _scan("checkov", ["ran"])]
    assert verify(env.envelope(statement), env.expect(require_scans_run=True)).accepted
    statement["predicate"]["evidence"] = [_scan("trivy", ["ran"]), _scan("checkov", ["ran", "ingested"])]
    envelope = env.envelope(statement)
    assert verify(envelope, env.expect()).accepted
    result = verify(envelope, env.expect(require_scans_run=True))
    assert codes(result) == {"scan-ingested"}
    assert "checkov" in result.reasons[0].message and "trivy" not in result.reasons[0].message
    statement["predicate"]["evidence"] = [_scan("trivy", [])]
    assert codes(verify(env.envelope(statement), env.expect(require_scans_run=True))) == {"scan-ingested"}


@pytest.mark.parametrize(("template_hits", "scan_hits"), [(1, 0), (0, 3)])
def test_cached_results_are_rejected_when_asked(env: Env, template_hits: int, scan_hits: int) -> None:
    statement = env.statement()
    statement["predicate"]["inputs"]["cache"] |= {"template_hits": template_hits, "scan_hits": scan_hits}
    envelope = env.envelope(statement)
    assert verify(envelope, env.expect()).accepted
    assert codes(verify(envelope, env.expect(reject_cached=True))) == {"cached-results"}


def _builtin_sources(statement: dict[str, Any]) -> None:
    registry = load_registry()
    for result in statement["predicate"]["results"]:
        source = registry[result["rule"]].meta.source
        assert source is not None and source.startswith("rules/")
        data = (builtin_rules_dir() / source.removeprefix("rules/")).read_bytes()
        result |= {"source": source, "source_sha256": hashlib.sha256(data).hexdigest()}


def test_rules_must_be_the_builtin_ones_when_asked(env: Env) -> None:
    statement = env.statement()
    _builtin_sources(statement)
    results = statement["predicate"]["results"]
    assert len(results) >= 3
    assert verify(env.envelope(statement), env.expect(require_builtin_rules=True)).accepted
    first, second, third = results[0], results[1], results[2]
    first["source_sha256"] = "0" * 64  # an edited copy of a built-in rule
    second["source"] = "team-rules/" + second["source"].removeprefix("rules/")
    del third["source"], third["source_sha256"]
    envelope = env.envelope(statement)
    assert verify(envelope, env.expect()).accepted
    result = verify(envelope, env.expect(require_builtin_rules=True))
    assert codes(result) == {"rule-source"}
    named = {r["rule"] for r in results if r["rule"] in result.reasons[0].message}
    assert named == {first["rule"], second["rule"], third["rule"]}


@pytest.mark.parametrize("source", ["rules/../pyproject.toml", "rules//etc/passwd", "rules/", "rules/missing.yaml"])
def test_a_rule_source_outside_the_catalogue_is_rejected(env: Env, source: str) -> None:
    statement = env.statement()
    _builtin_sources(statement)
    target = builtin_rules_dir() / source.removeprefix("rules/")
    digest = hashlib.sha256(target.read_bytes()).hexdigest() if target.is_file() else "0" * 64
    statement["predicate"]["results"][0] |= {"source": source, "source_sha256": digest}
    assert codes(verify(env.envelope(statement), env.expect(require_builtin_rules=True))) == {"rule-source"}


def test_cli_new_expectations(env: Env, capsys: pytest.CaptureFixture[str]) -> None:
    statement = env.statement()
    statement["predicate"]["source"] |= {"dirty": True, "dirty_reasons": ["modified: t.yaml"]}
    statement["predicate"]["inputs"]["cache"]["scan_hits"] = 1
    (env.dir / "r.dsse.json").write_bytes(env.envelope(statement))
    (env.dir / "other.yaml").write_text(BAD)
    capsys.readouterr()
    common = ["verify", "r.dsse.json", "--trust", "build.pub", "--allow-templates-only"]
    flags = ["--env", "prod", "--template", "other.yaml", "--min-checker-version", "99", "--reject-cached"]
    assert main([*common, *flags]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert all(line.startswith("rejected: ") for line in lines)
    assert {line.rsplit("[", 1)[1].rstrip("]") for line in lines} == {
        "env-mismatch",
        "template-not-judged",
        "checker-version",
        "cached-results",
        "dirty",
    }
    accepted = ["--template", "t.yaml", "--allow-dirty", "--require-scans-run", "--require-builtin-rules"]
    statement["predicate"]["inputs"]["cache"]["scan_hits"] = 0
    _builtin_sources(statement)
    (env.dir / "r.dsse.json").write_bytes(env.envelope(statement))
    assert main([*common, *accepted]) == 0
    assert main([*common, "--min-checker-version", "x y"]) == 2
    assert "PEP 440" in capsys.readouterr().err


@pytest.mark.parametrize("text", ["99999999999d", "5300w"])
def test_a_maximum_age_beyond_reason_is_a_usage_error_not_a_crash(text: str) -> None:
    from checker.errors import InputError
    from checker.verify import parse_duration

    with pytest.raises(InputError, match="over a century"):
        parse_duration(text)


def _mutations(statement: dict[str, Any]) -> list[Any]:
    """Ways to break a real report: every field removed, retyped, or given an
    unknown sibling, one at a time."""
    import copy

    found: list[Any] = []

    def walk(node: Any, path: list[Any]) -> None:
        if isinstance(node, dict):
            for key in list(node):
                for change in ("drop", "retype", "extra"):
                    mutated = copy.deepcopy(statement)
                    target = mutated
                    for step in path:
                        target = target[step]
                    if change == "drop":
                        del target[key]
                    elif change == "retype":
                        target[key] = [] if not isinstance(target[key], list) else "x"
                    else:
                        target[f"{key}_unknown"] = 1
                    found.append(mutated)
                walk(node[key], [*path, key])
        elif isinstance(node, list) and node:
            walk(node[0], [*path, 0])

    walk(statement, [])
    return found


def test_the_fast_schema_check_agrees_with_the_reference_validator(env: Env) -> None:
    import fastjsonschema

    from checker.verify import _validators

    fast, reference = _validators()
    statement = env.statement()
    cases = [statement, *_mutations(statement)]
    assert len(cases) > 200
    for case in cases:
        try:
            fast(case)
            fast_ok = True
        except fastjsonschema.JsonSchemaException:
            fast_ok = False
        assert fast_ok == reference.is_valid(case), json.dumps(case)[:300]


def test_a_finished_time_the_pattern_admits_but_no_calendar_has_is_malformed(env: Env) -> None:
    statement = env.statement()
    statement["predicate"]["timestamps"]["finished"] = "2026-02-30T00:00:00Z"
    envelope = json.dumps(sign_envelope(json.dumps(statement).encode(), env.signer)).encode()  # type: ignore[arg-type]
    result = verify(envelope, env.expect())
    assert codes(result) == {"statement-malformed"} and "not a valid time" in result.reasons[0].message
