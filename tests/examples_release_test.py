"""The release-side examples' own verify commands, run against a report
signed from the bundled example app."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from checker.cli import main
from checker.signing import generate_key

REPO = Path(__file__).resolve().parent.parent
RELEASE = REPO / "examples" / "release"


def _github_commands() -> str:
    workflow = yaml.safe_load((RELEASE / "github-actions-deploy.yml").read_text())
    (step,) = [s for s in workflow["jobs"]["deploy"]["steps"] if "checker verify" in s.get("run", "")]
    # Every input reaches the script through env:, never through ${{ }} in run:.
    assert "${{" not in step["run"]
    return str(step["run"])


def _codebuild_commands() -> str:
    spec = yaml.safe_load((RELEASE / "buildspec-verify.yml").read_text())
    return "\n".join(spec["phases"]["pre_build"]["commands"])


def _jenkins_commands() -> str:
    blocks = re.findall(r"sh '''(.*?)'''", (RELEASE / "Jenkinsfile").read_text(), re.S)
    (block,) = [b for b in blocks if "checker verify" in b]
    return "\n".join(line for line in block.splitlines() if not line.strip().startswith("pip install"))


WAIVERS = """\
kind: checker-waivers
waivers:
  - rule: NAME001
    scope: {template: app/template.yaml, resource: AuditLogGroup, element: LogGroupName=orders-audit}
    reason: the audit log group's name is fixed by the SIEM's subscription
    ticket: SEC-42
    expires: '%s'
"""


def _git(folder: Path, *args: str) -> str:
    git = ["git", "-C", str(folder), "-c", "user.name=ci", "-c", "user.email=ci@example.com"]
    return subprocess.run([*git, *args], capture_output=True, text=True, check=True).stdout.strip()


def _build(folder: Path, scan_cache: Path) -> int:
    """The build stage: check for production and sign."""
    return main(
        [
            "check",
            "app",
            "--env",
            "prod",
            "--policy-bundle",
            str(folder / "org" / "acme-1.1.0.tar.gz"),
            "--policy-trust",
            str(folder / "org" / "policy.pub"),
            "--bundle-cache",
            str(folder / "org" / "bundle-cache"),
            "--run-scans",
            "--cache",
            str(scan_cache),
            "--subject",
            "app.zip",
            "--sign-key",
            str(folder / "org" / "build.key"),
            "--output",
            "report.dsse.json",
            "--format",
            "dsse",
        ]
    )


@pytest.fixture
def release_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, scan_cache: Path) -> tuple[Path, str]:
    """A build's hand-off: app.zip and its signed report, from the example app
    in git, checked for production against an organization baseline that
    names an approver; the example's production-only finding is waived by a
    waiver set that approver signed."""
    org = tmp_path / "org"
    org.mkdir()
    generate_key(org / "build", "ecdsa-p256", None)
    generate_key(org / "security", "ed25519", None)
    pem = (org / "security.pub").read_text().replace("\n", "\n        ")
    baseline = (REPO / "policies" / "baseline.yaml").read_text()
    (org / "policy").mkdir()
    (org / "policy" / "baseline.yaml").write_text(
        baseline.replace(
            "  keys: []\n",
            f"  keys:\n    - owner: security@acme.example\n      public_key: |\n        {pem.rstrip()}\n",
        )
    )
    # The central team publishes its policy as a signed bundle.
    generate_key(org / "policy-signer", "ed25519", None)
    (org / "policy.pub").write_bytes((org / "policy-signer.pub").read_bytes())
    publish = ["policy", "bundle", str(org / "policy"), "--version", "1.1.0", "--created", "2026-11-30T00:00:00Z"]
    assert (
        main([*publish, "--sign-key", str(org / "policy-signer.key"), "--output", str(org / "acme-1.1.0.tar.gz")]) == 0
    )
    shutil.copytree(REPO / "examples" / "app", tmp_path / "app")
    (tmp_path / "app.zip").write_bytes(b"the deployment artifact")
    (tmp_path / ".gitignore").write_text("org/\napp.zip\nreport.dsse.json\n")
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "remote", "add", "origin", "https://github.com/acme/orders.git")
    _git(tmp_path, "add", "-A")
    _git(tmp_path, "commit", "-qm", "build")
    monkeypatch.chdir(tmp_path)
    assert _build(tmp_path, scan_cache) == 1  # NAME001 is an error in production
    expires = (datetime.now(UTC) + timedelta(days=30)).strftime("%Y-%m-%d")
    (tmp_path / ".checker-waivers.yml").write_text(WAIVERS % expires)
    assert (
        main(["approve", ".checker-waivers.yml", "--key", "org/security.key", "--policy", "org/policy/baseline.yaml"])
        == 0
    )
    _git(tmp_path, "add", "-A")
    _git(tmp_path, "commit", "-qm", "waive the audit log group's fixed name, approved by security")
    assert _build(tmp_path, scan_cache) == 0
    return tmp_path, _git(tmp_path, "rev-parse", "HEAD")


def _digest(baseline: Path) -> str:
    return subprocess.run(
        [sys.executable, "-m", "checker", "policy", "digest", str(baseline)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


@pytest.mark.parametrize("commands", [_github_commands, _codebuild_commands, _jenkins_commands])
def test_release_example_verifies_the_bundled_report(release_dir: tuple[Path, str], commands, scan_cache: Path) -> None:  # type: ignore[no-untyped-def]
    folder, commit = release_dir
    keyring = (
        f"keys:\n  - owner: build\n    repositories: [github.com/acme/orders]\n"
        f"    public_key_file: {folder / 'org' / 'build.pub'}\n"
    )
    (folder / "keyring-file.yaml").write_text(keyring)
    digest = _digest(folder / "org" / "acme-1.1.0.tar.gz")
    policy_keys = f"keys:\n  - owner: platform\n    public_key_file: {folder / 'org' / 'policy.pub'}\n"
    if not (folder / "org" / "release.key").exists():
        generate_key(folder / "org" / "release", "ed25519", None)
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "TRUSTED_KEYS": keyring,
        "TRUSTED_KEYS_FILE": str(folder / "keyring-file.yaml"),
        "POLICY_DIGEST": digest,
        "POLICY_KEYS": policy_keys,
        "POLICY_NAME": "org-baseline",
        "MIN_POLICY_VERSION": "1.1.0",
        "GIT_COMMIT": commit,
        "CODEBUILD_RESOLVED_SOURCE_VERSION": commit,
        "CHECKER_RELEASE_KEY": (folder / "org" / "release.key").read_text(),
        "RELEASE_KEY": "env:CHECKER_RELEASE_KEY",
    }
    script = "set -e\n" + commands()
    done = subprocess.run(["bash", "-c", script], cwd=folder, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "verified: report.dsse.json passes" in done.stdout
    assert (folder / "verify-audit.jsonl").read_text().count("\n") == 1
    # The signed audit line and the report are what the central team's ledger ingests.
    expect = folder / "expect.yaml"
    expect.write_text(f"trust: keyring-file.yaml\nrelease_keys: {folder / 'org' / 'release.pub'}\n")
    db = folder / "ledger.duckdb"
    paths = [str(folder / "report.dsse.json"), str(folder / "verify-audit.jsonl")]
    assert main(["ledger", "ingest", *paths, "--db", str(db), "--expect", str(expect)]) == 0
    from checker.ledger.query import Params, run, sql_of
    from checker.ledger.store import Ledger

    ledger = Ledger(db, read_only=True)
    releases = run(ledger.db, sql_of("releases"), Params(datetime.now(UTC) + timedelta(minutes=1)))
    ledger.close()
    (release,) = releases.rows
    assert dict(zip(releases.columns, release, strict=True))["authentic"] is True
    assert dict(zip(releases.columns, release, strict=True))["accepted"] is True
    # The same commands stop the deployment for another commit.
    done = subprocess.run(
        ["bash", "-c", script],
        cwd=folder,
        env={**env, "GIT_COMMIT": "0" * 40, "CODEBUILD_RESOLVED_SOURCE_VERSION": "0" * 40},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1 and "[commit-mismatch]" in done.stdout
    # A release side that now requires policy 1.2 refuses a report made under 1.1.
    if "--min-policy-version" in script:
        newer = {**env, "MIN_POLICY_VERSION": "1.2.0"}
        done = subprocess.run(["bash", "-c", script], cwd=folder, env=newer, capture_output=True, text=True)
        assert done.returncode == 1 and "[policy-version]" in done.stdout
    # And a report from a checkout changed after its commit.
    (folder / "app" / "template.yaml").write_text((folder / "app" / "template.yaml").read_text() + "\n")
    assert _build(folder, scan_cache) == 0
    done = subprocess.run(["bash", "-c", script], cwd=folder, env=env, capture_output=True, text=True)
    assert done.returncode == 1 and "[dirty]" in done.stdout and "modified: app/template.yaml" in done.stdout
