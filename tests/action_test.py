"""The GitHub Action: its scripts take inputs only through env:, and its
check step, run with a simulated GITHUB_* environment on the bundled
example, sets the outputs and writes the step summary."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
ACTION = yaml.safe_load((REPO / "action.yml").read_text())


def test_no_expression_is_interpolated_into_a_script() -> None:
    for step in ACTION["runs"]["steps"]:
        if "run" in step:
            assert "${{" not in step["run"], step.get("name")


def test_declares_the_documented_inputs_and_outputs() -> None:
    assert set(ACTION["inputs"]) >= {
        "path",
        "policy",
        "policy-bundle",
        "policy-trust",
        "sign-key",
        "subjects",
        "formats",
        "fail-on",
        "run-scans",
        "evidence",
        "cache",
    }
    assert set(ACTION["outputs"]) == {"verdict", "report", "sarif"}


def _run_check_step(
    tmp_path: Path, inputs: dict[str, str], cwd: Path = REPO
) -> tuple[subprocess.CompletedProcess[str], Path, Path]:
    (step,) = [s for s in ACTION["runs"]["steps"] if s.get("id") == "check"]
    values = {name: spec.get("default", "") for name, spec in ACTION["inputs"].items()} | inputs

    def expand(text: str) -> str:
        return re.sub(r"\$\{\{\s*inputs\.([\w-]+)\s*\}\}", lambda m: values[m.group(1)], text)

    env: dict[str, Any] = {k: expand(v) for k, v in step["env"].items()}
    output, summary = tmp_path / "github_output", tmp_path / "step_summary"
    output.touch()
    summary.touch()
    env |= {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "HOME": os.environ.get("HOME", str(tmp_path)),
        "XDG_CACHE_HOME": str(tmp_path / "xdg-cache"),  # bundles verified here stay in the test's folder
        "GITHUB_ACTIONS": "true",
        "GITHUB_OUTPUT": str(output),
        "GITHUB_STEP_SUMMARY": str(summary),
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_REPOSITORY": "acme/orders",
        "GITHUB_RUN_ID": "1",
        "GITHUB_ACTOR": "dev",
        "GITHUB_REF_NAME": "main",
        "GITHUB_WORKSPACE": str(REPO),
    }
    done = subprocess.run(["bash", "-c", step["run"]], cwd=cwd, env=env, capture_output=True, text=True)
    return done, output, summary


def _outputs(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines())


@pytest.mark.slow
def test_check_step_on_the_bundled_example(tmp_path: Path, scan_cache: Path) -> None:
    out = tmp_path / "reports"
    done, output, summary = _run_check_step(
        tmp_path, {"path": "examples/app", "output-dir": str(out), "formats": "junit html", "cache": str(scan_cache)}
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert _outputs(output) == {"verdict": "pass", "report": f"{out}/report.json", "sarif": f"{out}/checker.sarif"}
    assert summary.read_text().startswith("## ✅ checker: PASS")
    assert (out / "report.xml").is_file() and (out / "report.html").is_file()
    # fail-on: warn turns the example's warning into a failed step.
    done, _, _ = _run_check_step(
        tmp_path, {"path": "examples/app", "output-dir": str(out), "fail-on": "warn", "cache": str(scan_cache)}
    )
    assert done.returncode == 1 and "1 rule(s) warned" in done.stdout


@pytest.mark.slow
def test_check_step_signs_and_a_hostile_input_stays_data(tmp_path: Path, scan_cache: Path) -> None:
    from checker.signing import generate_key

    generate_key(tmp_path / "k", "ed25519", None)
    out = tmp_path / "reports"
    marker = tmp_path / "pwned"
    done, output, _ = _run_check_step(
        tmp_path,
        {
            "path": "examples/app",
            "output-dir": str(out),
            "sign-key": str(tmp_path / "k.key"),
            "subjects": f"examples/app/template.yaml\n$(touch {marker})",
        },
    )
    assert not marker.exists()
    assert done.returncode == 2 and "cannot read subject $(touch" in done.stderr
    done, output, _ = _run_check_step(
        tmp_path,
        {
            "path": "examples/app",
            "output-dir": str(out),
            "sign-key": str(tmp_path / "k.key"),
            "subjects": "examples/app/template.yaml",
            "cache": str(scan_cache),
        },
    )
    assert done.returncode == 0, done.stderr
    assert _outputs(output)["report"] == f"{out}/report.dsse.json"


@pytest.mark.slow
@pytest.mark.parametrize("fail_on", ["never", "bogus"])
def test_fail_on_never_reports_only_and_bad_values_are_refused(tmp_path: Path, fail_on: str) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "t.yaml").write_text(
        "AWSTemplateFormatVersion: '2010-09-09'\nResources:\n  P:\n    Type: AWS::IAM::ManagedPolicy\n"
        "    Properties:\n      PolicyDocument:\n        Statement:\n"
        "          - {Effect: Allow, Action: '*', Resource: '*'}\n"
    )
    done, output, _ = _run_check_step(
        tmp_path, {"path": "bad", "output-dir": str(tmp_path / "r"), "fail-on": fail_on}, cwd=tmp_path
    )
    if fail_on == "never":
        assert done.returncode == 0 and _outputs(output)["verdict"] == "fail"
    else:
        assert done.returncode == 2 and "fail-on must be" in done.stdout


@pytest.mark.slow
def test_check_step_with_the_organizations_policy_bundle(tmp_path: Path) -> None:
    from checker.cli import main
    from checker.signing import generate_key

    org = tmp_path / "org"
    org.mkdir()
    (org / "baseline.yaml").write_text(
        "schema_version: 1\nname: acme\nversion: '2.0.0'\nrules:\n  TPL001: {}\n  IAM001: {}\n"
    )
    generate_key(org / "policy", "ed25519", None)
    bundle = tmp_path / "acme.tar.gz"
    args = ["policy", "bundle", str(org), "--version", "2.0.0", "--created", "2026-11-30T00:00:00Z"]
    assert main([*args, "--sign-key", str(org / "policy.key"), "--output", str(bundle)]) == 0
    out = tmp_path / "out"
    inputs = {"path": "examples/app", "output-dir": str(out), "run-scans": "false"}
    done, output, _ = _run_check_step(
        tmp_path, inputs | {"policy-bundle": str(bundle), "policy-trust": str(org / "policy.pub")}
    )
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads((out / "report.json").read_text())
    assert report["predicate"]["policy"]["bundle"]["version"] == "2.0.0"
    assert _outputs(output)["verdict"] == "pass"
    # A bundle that does not verify stops the step; nothing falls back to the built-in policy.
    done, _, _ = _run_check_step(
        tmp_path, inputs | {"policy-bundle": str(bundle), "policy-trust": str(org / "baseline.yaml")}
    )
    assert done.returncode == 2
