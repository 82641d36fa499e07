"""Real signed reports, made by checker itself, for the ledger's tests.

``world`` builds, once per session, three repositories of one organization
and the reports their builds signed at known times: orders (passing, with
an approved waiver that expires soon), billing (passing, then failing) and
payments (a break-glass build, then a passing one without it), plus a report
signed by a key the organization does not trust.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from checker.gate import CheckRequest, run_check
from checker.registry import load_registry
from checker.signing import KeySigner, generate_key, load_signer, sign_envelope

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)  # a Monday
REGISTRY = load_registry()

GOOD = "Resources:\n  Topic:\n    Type: AWS::SNS::Topic\n"
NAMED = "Resources:\n  Logs:\n    Type: AWS::Logs::LogGroup\n    Properties:\n      LogGroupName: fixed-name\n"
WILDCARD = (
    "Resources:\n  P:\n    Type: AWS::IAM::ManagedPolicy\n    Properties:\n      PolicyDocument:\n"
    "        Statement: [{Effect: Allow, Action: 'dynamodb:PutItem', Resource: '*'}]\n"
)
BASE = """\
schema_version: 1
name: acme
version: "1.2.0"
settings: {max_waiver_days: 90, break_glass_max_hours: 24}
rules:
  IAM006: {enforce: error}
  NAME001: {enforce: error}
waivers:
  - id: orders-log-name
    rule: NAME001
    scope: {template: "orders/*"}
    reason: the audit log group keeps its name for the SIEM
    ticket: SEC-42
    approved_by: security@acme.example
    expires: 2026-11-20
approvers:
  keys:
    - owner: security@acme.example
      public_key: |
        %s
"""
GLASS = "kind: checker-break-glass\nincident: INC-9\nreason: payment outage hot fix\nexpires: %s\n"


@dataclass(frozen=True)
class World:
    root: Path
    reports: Path  # folder of signed reports
    expect: Path  # the organization's expectations file
    base: Path
    build_key: str
    release_key: str
    checkpoint_key: str
    keys: Path  # folder with every key


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com", *args], check=True)


def _repo(root: Path, name: str, files: dict[str, str]) -> Path:
    repo = root / name
    for relpath, text in files.items():
        (repo / relpath).parent.mkdir(parents=True, exist_ok=True)
        (repo / relpath).write_text(text)
    _git(repo, "init", "-q")
    _git(repo, "remote", "add", "origin", f"https://github.com/acme/{name}.git")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "build")
    return repo


def sign_report(
    repo: Path, base: Path, signer: KeySigner, when: datetime, out: Path, **kwargs: object
) -> dict[str, object]:
    request = CheckRequest(paths=[repo], root=repo, policies=[base], environ={}, now=when, **kwargs)  # type: ignore[arg-type]
    run = run_check(request, REGISTRY)
    payload = json.dumps(run.statement, ensure_ascii=False, separators=(",", ":")).encode()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(sign_envelope(payload, signer), indent=2) + "\n")
    return run.statement


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("ledger-world")
    keys = root / "keys"
    keys.mkdir()
    for name in ("build", "rogue", "approver", "release", "checkpoint"):
        generate_key(keys / name, "ed25519", None)
    pem = (keys / "approver.pub").read_text().strip().replace("\n", "\n        ")
    base = root / "org" / "baseline.yaml"
    base.parent.mkdir()
    base.write_text(BASE % pem)
    build = load_signer(str(keys / "build.key"), {})
    rogue = load_signer(str(keys / "rogue.key"), {})
    assert isinstance(build, KeySigner) and isinstance(rogue, KeySigner)
    reports = root / "reports"

    orders = _repo(root / "src", "orders", {"orders/app.yaml": NAMED})
    sign_report(orders, base, build, T0, reports / "orders" / "1.dsse.json", env="prod")
    billing = _repo(root / "src", "billing", {"billing/app.yaml": GOOD})
    sign_report(billing, base, build, T0 + timedelta(days=1), reports / "billing" / "1.dsse.json", env="prod")
    (billing / "billing" / "app.yaml").write_text(WILDCARD)
    _git(billing, "commit", "-qam", "wildcard")
    sign_report(billing, base, build, T0 + timedelta(days=8), reports / "billing" / "2.dsse.json", env="prod")
    sign_report(billing, base, build, T0 + timedelta(days=9), reports / "billing" / "3.dsse.json", env="prod")

    payments = _repo(root / "src", "payments", {"payments/app.yaml": WILDCARD})
    glass_time = T0 + timedelta(days=2, hours=18)
    (payments / "glass.yaml").write_text(GLASS % (glass_time + timedelta(hours=6)).strftime("%Y-%m-%dT%H:%M:%SZ"))
    import os

    from checker.cli import main

    cwd = Path.cwd()
    os.chdir(payments)
    try:
        assert main(["approve", "glass.yaml", "--key", str(keys / "approver.key"), "--policy", str(base)]) == 0
    finally:
        os.chdir(cwd)
    # The approval binds this very commit: the break-glass files stay out of it.
    statement = sign_report(
        payments,
        base,
        build,
        glass_time,
        reports / "payments" / "1.dsse.json",
        env="prod",
        break_glass=payments / "glass.yaml",
    )
    glass = statement["predicate"]["break_glass"]  # type: ignore[index]
    assert glass["active"], glass
    (payments / "payments" / "app.yaml").write_text(GOOD)
    _git(payments, "commit", "-qam", "fix")
    sign_report(payments, base, build, T0 + timedelta(days=3), reports / "payments" / "2.dsse.json", env="prod")
    # A build key the organization never trusted.
    sign_report(orders, base, rogue, T0 + timedelta(days=4), reports / "rogue" / "orders.dsse.json", env="prod")

    keyring = root / "org" / "build-keys.yaml"
    build_pem = (keys / "build.pub").read_text().strip().replace("\n", "\n      ")
    keyring.write_text(
        "keys:\n  - owner: ci@acme.example\n    repositories: ['github.com/acme/*']\n"
        f"    public_key: |\n      {build_pem}\n"
    )
    from checker.policy import policy_file_digest

    expect = root / "org" / "expect.yaml"
    expect.write_text(
        f"trust: build-keys.yaml\npolicy:\n  digest: {policy_file_digest(base, 'baseline.yaml')}\n"
        "environments: [prod]\nrelease_keys: ../keys/release.pub\n"
    )
    yield World(
        root,
        reports,
        expect,
        base,
        str(keys / "build.key"),
        str(keys / "release.key"),
        str(keys / "checkpoint.key"),
        keys,
    )
