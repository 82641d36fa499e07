"""The build-side CI examples' own checker commands, run against the bundled
example with each CI's variables set; the report records the run facts."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from checker.cli import main
from checker.signing import generate_key

REPO = Path(__file__).resolve().parent.parent
CI = REPO / "examples" / "ci"


def _lines(script: str) -> list[str]:
    return [line.strip() for line in script.splitlines() if line.strip().startswith("checker ")]


def _github() -> list[str]:
    workflow = yaml.safe_load((CI / "github-actions.yml").read_text())
    steps = workflow["jobs"]["build"]["steps"]
    return [line for step in steps for line in _lines(step.get("run", ""))]


def _jenkins() -> list[str]:
    return [
        line
        for block in re.findall(r"sh '''(.*?)'''", (CI / "Jenkinsfile").read_text(), re.S)
        for line in _lines(block)
    ]


def _codebuild() -> list[str]:
    phases = yaml.safe_load((CI / "buildspec.yml").read_text())["phases"]
    return [c for phase in phases.values() for c in phase["commands"] if c.startswith("checker ")]


def _gitlab() -> list[str]:
    return [
        c
        for c in yaml.safe_load((CI / "gitlab-ci.yml").read_text())["compliance"]["script"]
        if c.startswith("checker ")
    ]


def _published_policy(org: Path) -> tuple[Path, Path]:
    """What the central team publishes: the baseline as a signed bundle, and its policy key."""
    org.mkdir()
    shutil.copy(REPO / "policies" / "baseline.yaml", org / "baseline.yaml")
    generate_key(org / "policy", "ed25519", None)
    bundle = org / "org-baseline-1.0.0.tar.gz"
    args = ["policy", "bundle", str(org), "--version", "1.0.0", "--created", "2026-11-30T00:00:00Z"]
    assert main([*args, "--sign-key", str(org / "policy.key"), "--output", str(bundle)]) == 0
    (org / "trust.yaml").write_text(f"keys:\n  - owner: platform\n    public_key_file: {org / 'policy.pub'}\n")
    return bundle, org / "trust.yaml"


CASES = {
    "github": (
        _github,
        {
            "GITHUB_ACTIONS": "true",
            "GITHUB_SERVER_URL": "https://github.com",
            "GITHUB_REPOSITORY": "acme/orders",
            "GITHUB_RUN_ID": "42",
            "GITHUB_ACTOR": "dev1",
            "GITHUB_REF_NAME": "main",
        },
        {
            "system": "github-actions",
            "run_url": "https://github.com/acme/orders/actions/runs/42",
            "actor": "dev1",
            "branch": "main",
        },
    ),
    "jenkins": (
        _jenkins,
        {
            "JENKINS_URL": "https://ci.example",
            "BUILD_URL": "https://ci.example/job/orders/7/",
            "BRANCH_NAME": "main",
            "CHANGE_AUTHOR": "dev2",
        },
        {"system": "jenkins", "run_url": "https://ci.example/job/orders/7/", "actor": "dev2", "branch": "main"},
    ),
    "codebuild": (
        _codebuild,
        {
            "CODEBUILD_BUILD_ID": "orders:1",
            "CODEBUILD_BUILD_URL": "https://console.aws/cb/1",
            "CODEBUILD_INITIATOR": "codepipeline/orders",
            "CODEBUILD_WEBHOOK_HEAD_REF": "main",
        },
        {
            "system": "codebuild",
            "run_url": "https://console.aws/cb/1",
            "actor": "codepipeline/orders",
            "branch": "main",
        },
    ),
    "gitlab": (
        _gitlab,
        {
            "GITLAB_CI": "true",
            "CI_JOB_URL": "https://gitlab.example/orders/-/jobs/9",
            "GITLAB_USER_LOGIN": "dev3",
            "CI_COMMIT_REF_NAME": "main",
        },
        {"system": "gitlab", "run_url": "https://gitlab.example/orders/-/jobs/9", "actor": "dev3", "branch": "main"},
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_ci_example_commands_run_and_record_the_run(name: str, tmp_path: Path, scan_cache: Path) -> None:
    commands, ci_env, expected = CASES[name]
    lines = commands()
    assert len(lines) == 2, lines  # the gate, then the signed report
    shutil.copytree(REPO / "examples" / "app", tmp_path / "examples" / "app")
    # A CI job runs in a checkout: the committed coverage report is as old as its commit.
    git = ["git", "-C", str(tmp_path), "-c", "user.name=ci", "-c", "user.email=ci@example.com"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "examples"], check=True)
    subprocess.run([*git, "commit", "-qm", "build"], check=True)
    (tmp_path / "dist").mkdir()
    (tmp_path / "dist" / "app.zip").write_bytes(b"artifact")
    generate_key(tmp_path / "build", "ecdsa-p256", None)
    bundle, trust = _published_policy(tmp_path / "org")
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("GITHUB_", "GITLAB_", "CI_", "CODEBUILD_", "JENKINS_", "BUILD_"))
    }
    env = {
        **base,
        **ci_env,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "CHECKER_SIGNING_KEY": (tmp_path / "build.key").read_text(),
        "CHECKER_SIGN_KEY": str(tmp_path / "build.key"),
        "CHECKER_POLICY_BUNDLE": str(bundle),
        "CHECKER_POLICY_TRUST": str(trust),
        "XDG_CACHE_HOME": str(tmp_path / "xdg-cache"),
    }
    # The session's scan cache stands in for the job's cache folder (each
    # scanner still runs once in the session), so the four CIs do not scan
    # the same files four times.
    (tmp_path / ".checker-cache").symlink_to(scan_cache, target_is_directory=True)
    for line in lines:
        done = subprocess.run(["bash", "-c", line], cwd=tmp_path, env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr
    envelope = json.loads((tmp_path / "report.dsse.json").read_text())
    import base64

    statement = json.loads(base64.b64decode(envelope["payload"]))
    assert statement["predicate"]["ci"] == expected
    assert statement["subject"][0]["name"] == "dist/app.zip"
    assert statement["predicate"]["policy"]["bundle"]["name"] == "org-baseline"
    verify = ["checker", "verify", "report.dsse.json", "--trust", "build.pub", "--subject", "dist/app.zip"]
    pins = ["--policy", str(bundle), "--policy-trust", str(trust), "--min-policy-version", "1.0.0"]
    done = subprocess.run(
        [*verify, *pins],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout
