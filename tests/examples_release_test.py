"""The release-side examples' own verify commands, run against a report
signed from the bundled example app."""

from __future__ import annotations

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


@pytest.fixture
def release_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, scan_cache: Path) -> tuple[Path, str]:
    """A build's hand-off: app.zip and its signed report, from the example app in git."""
    shutil.copytree(REPO / "examples" / "app", tmp_path / "app")
    (tmp_path / "app.zip").write_bytes(b"the deployment artifact")
    git = ["git", "-C", str(tmp_path), "-c", "user.name=ci", "-c", "user.email=ci@example.com"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "app"], check=True)
    subprocess.run([*git, "commit", "-qm", "build"], check=True)
    commit = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    generate_key(tmp_path / "build", "ecdsa-p256", None)
    monkeypatch.chdir(tmp_path)
    assert (
        main(
            [
                "check",
                "app",
                "--run-scans",
                "--cache",
                str(scan_cache),
                "--subject",
                "app.zip",
                "--sign-key",
                "build.key",
                "--output",
                "report.dsse.json",
                "--format",
                "dsse",
            ]
        )
        == 0
    )
    return tmp_path, commit


@pytest.mark.parametrize("commands", [_github_commands, _codebuild_commands, _jenkins_commands])
def test_release_example_verifies_the_bundled_report(release_dir: tuple[Path, str], commands) -> None:  # type: ignore[no-untyped-def]
    folder, commit = release_dir
    keyring = f"keys:\n  - owner: build\n    public_key_file: {folder / 'build.pub'}\n"
    (folder / "keyring-file.yaml").write_text(keyring)
    digest = subprocess.run(
        [sys.executable, "-m", "checker", "policy", "digest", str(REPO / "policies" / "baseline.yaml")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "TRUSTED_KEYS": keyring,
        "TRUSTED_KEYS_FILE": str(folder / "keyring-file.yaml"),
        "POLICY_DIGEST": digest,
        "GIT_COMMIT": commit,
        "CODEBUILD_RESOLVED_SOURCE_VERSION": commit,
    }
    script = "set -e\n" + commands()
    done = subprocess.run(["bash", "-c", script], cwd=folder, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "verified: report.dsse.json passes" in done.stdout
    assert (folder / "verify-audit.jsonl").read_text().count("\n") == 1
    # The same commands stop the deployment for another commit.
    done = subprocess.run(
        ["bash", "-c", script],
        cwd=folder,
        env={**env, "GIT_COMMIT": "0" * 40, "CODEBUILD_RESOLVED_SOURCE_VERSION": "0" * 40},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1 and "[commit-mismatch]" in done.stdout
