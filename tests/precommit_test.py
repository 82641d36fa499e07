"""The pre-commit hook, through the real pre-commit (`try-repo` against this
repository) on a small git repository with a bad template and a good one."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
GOOD = "AWSTemplateFormatVersion: '2010-09-09'\nResources:\n  T:\n    Type: AWS::SNS::Topic\n"
BAD = (
    GOOD + "  P:\n    Type: AWS::IAM::ManagedPolicy\n    Properties:\n      PolicyDocument:\n"
    "        Statement:\n          - {Effect: Allow, Action: '*', Resource: '*'}\n"
)


@pytest.mark.slow  # installs the package in a fresh environment
@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_pre_commit_try_repo(tmp_path: Path) -> None:
    pre_commit = Path(sys.executable).parent / "pre-commit"
    if not pre_commit.exists():
        pytest.skip("pre-commit is not installed (pip install pre-commit)")
    work = tmp_path / "work"
    work.mkdir()
    env = {
        **os.environ,
        "PRE_COMMIT_HOME": str(tmp_path / "cache"),
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
    }
    subprocess.run(["git", "init", "-q"], cwd=work, check=True)
    (work / "good.yaml").write_text(GOOD)
    (work / ".github").mkdir()
    (work / ".github" / "ci.yml").write_text("on: push\njobs: {}\n")  # not a template: skipped
    subprocess.run(["git", "add", "."], cwd=work, check=True)

    def try_repo() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(pre_commit), "try-repo", str(REPO), "checker", "--color", "never"],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )

    done = try_repo()
    assert done.returncode == 0, done.stdout + done.stderr
    assert "checker (compliance gate)" in done.stdout and "Passed" in done.stdout
    (work / "bad.yaml").write_text(BAD)
    subprocess.run(["git", "add", "bad.yaml"], cwd=work, check=True)
    done = try_repo()
    assert done.returncode == 1
    assert "Failed" in done.stdout and "bad.yaml:10 P:" in done.stdout and "IAM001" in done.stdout


# Libraries a hook run must not pay for: they load only on the paths that use them.
HEAVY = {
    "samtranslator",
    "cryptography",
    "checkov",
    "bandit",
    "coverage",
    "boto3",
    "multiprocessing",
    "concurrent",
    # The ledger's: only `checker ledger` loads them.
    "duckdb",
    "sqlglot",
    "pyspark",
    "fastjsonschema",
}
PROBE = """
import sys
from checker.cli import main
code = main(["check", "--templates-only", "t.yaml"])
print(code, ",".join(sorted({m.split(".")[0] for m in sys.modules})))
"""


def test_the_hook_path_loads_no_scanner_translator_crypto_or_process_pool(tmp_path: Path) -> None:
    (tmp_path / "t.yaml").write_text(BAD)
    done = subprocess.run([sys.executable, "-c", PROBE], cwd=tmp_path, capture_output=True, text=True)
    code, modules = done.stdout.splitlines()[-1].split(" ")
    assert code == "1"  # the bad template fails: the rules did run
    assert HEAVY.isdisjoint(modules.split(",")), HEAVY & set(modules.split(","))
