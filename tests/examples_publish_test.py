"""The central team's publishing job: its checker commands, run on a policy
folder as the job would (a file key standing in for KMS), make a bundle a
build verifies."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from checker.bundle import open_bundle
from checker.signing import generate_key
from checker.verify import load_trust

REPO = Path(__file__).resolve().parent.parent
WORKFLOW = REPO / "examples" / "publish" / "github-actions-publish-policy.yml"


def test_the_publishing_job_builds_a_bundle_builds_verify(tmp_path: Path) -> None:
    (step,) = [s for s in yaml.safe_load(WORKFLOW.read_text())["jobs"]["publish"]["steps"] if "run" in s]
    assert "${{" not in step["run"]
    lines = [line.strip() for line in step["run"].splitlines() if line.strip().startswith(("checker ", "export "))]
    (tmp_path / "policy" / "rules").mkdir(parents=True)
    shutil.copy(REPO / "policies" / "baseline.yaml", tmp_path / "policy" / "baseline.yaml")
    shutil.copy(
        REPO / "rules" / "naming" / "NAME001_hardcoded_physical_names.py",
        tmp_path / "policy" / "rules" / "ACME_NAMES.py",
    )
    (tmp_path / "policy" / "rules" / "ACME_NAMES.py").write_text(
        (tmp_path / "policy" / "rules" / "ACME_NAMES.py").read_text().replace('"NAME001"', '"ACME001"')
    )
    generate_key(tmp_path / "signer", "ecdsa-p256", None)
    git = ["git", "-C", str(tmp_path), "-c", "user.name=ci", "-c", "user.email=ci@example.com"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "policy"], check=True)
    subprocess.run([*git, "commit", "-qm", "policy 1.1.0"], check=True)
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "VERSION": "v1.1.0",
        "POLICY_SIGN_KEY": str(tmp_path / "signer.key"),
    }
    script = "set -e\n" + "\n".join(lines)
    digests = []
    for _ in range(2):  # twice: the same tag gives the same manifest, so the same digest
        done = subprocess.run(["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr
        digests.append((tmp_path / "digest.txt").read_text())
    assert digests[0] == digests[1]
    first = (tmp_path / "acme-policy-1.1.0.tar.gz").read_bytes()
    (tmp_path / "trust.yaml").write_text(
        f"keys:\n  - owner: platform\n    public_key_file: {tmp_path / 'signer.pub'}\n"
    )
    from datetime import UTC, datetime

    bundle = open_bundle(first, "acme-policy-1.1.0.tar.gz", load_trust(tmp_path / "trust.yaml"), datetime.now(UTC))
    try:
        assert bundle.version == "1.1.0" and (tmp_path / "digest.txt").read_text().strip() == bundle.digest
        assert bundle.rules is not None and (bundle.rules / "ACME_NAMES.py").is_file()
    finally:
        bundle.close()
