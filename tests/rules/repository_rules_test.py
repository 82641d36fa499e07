"""The repository rules (coverage, scans, repository standards), each with a
failing and a passing case on real evidence: coverage.py run on a small
project, bandit run on real code, git history for new-code coverage."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from checker.engine import RuleResult
from checker.evidence.scanrun import find_executable
from checker.gate import CheckRequest, run_check
from checker.policy import Exclude
from checker.registry import load_registry

REGISTRY = load_registry()
REPOSITORY_RULES = {r for r, rule in REGISTRY.items() if r.startswith(("COV", "SCAN", "REPO"))}
BANDIT_ONLY = {"bandit": {"covers": ["*.py"], "exclude": ["tests/*"], "threshold": "medium"}}


def check(
    project: Path,
    rule: str,
    params: dict[str, Any] | None = None,
    *,
    scans: dict[str, Any] | None = None,
    waivers: list[dict[str, Any]] | None = None,
    **request: Any,
) -> RuleResult:
    policy: dict[str, Any] = {"schema_version": 1, "name": "t", "version": "1"}
    policy["rules"] = {rule: {"enforce": "error", **({"params": params} if params else {})}}
    if scans:
        policy["scans"] = scans
    if waivers:
        policy["waivers"] = waivers
    path = project.parent / f"policy-{rule}.yaml"
    path.write_text(yaml.safe_dump(policy))
    run = run_check(CheckRequest(paths=[project], root=project, policies=[path], environ={}, **request), REGISTRY)
    (result,) = [r for r in run.evaluation.results if r.meta.id == rule]
    return result


def messages(result: RuleResult) -> list[str]:
    return [f.message for f in result.findings]


def test_every_repository_rule_is_tested_here() -> None:
    tested = {name.split("_")[1].upper() for name in globals() if name.startswith("test_") and "_" in name}
    assert tested >= REPOSITORY_RULES, REPOSITORY_RULES - tested


# COV001 ---------------------------------------------------------------------


def test_cov001_fails_below_the_floor_and_passes_above(covered_project: Path) -> None:
    # 6 of 9 lines in calc.py, and pkg/__init__.py has none: 66.67%.
    result = check(covered_project, "COV001", {"min_line": 80})
    assert result.status == "fail"
    assert messages(result) == ["line coverage 66.67% is below the 80% floor (6 of 9 lines)"]
    assert check(covered_project, "COV001", {"min_line": 65}).status == "pass"


def test_cov001_without_evidence_fails_and_says_what_is_missing(tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "main.py").write_text("print('hi')\n")
    result = check(tmp_path / "app", "COV001")
    assert result.status == "fail"
    assert messages(result) == ["no current coverage evidence: no coverage report was found or given"]


# COV002 ---------------------------------------------------------------------


def test_cov002_branch_floor_and_skipped_without_branch_data(covered_project: Path) -> None:
    result = check(covered_project, "COV002", {"min_branch": 80}, evidence=[covered_project / "coverage.xml"])
    assert result.status == "fail" and "branch coverage 75.0% is below the 80% floor" in messages(result)[0]
    assert check(covered_project, "COV002", {"min_branch": 70}).status == "pass"
    for name in (".coverage", "coverage.xml", "coverage.json", "lcov.info"):
        (covered_project / name).unlink()
    (covered_project / "lcov.info").write_text("SF:pkg/calc.py\nDA:4,1\nend_of_record\n")
    skipped = check(covered_project, "COV002")
    assert (skipped.status, skipped.reason) == ("skipped", "the coverage reports carry no branch data")


# COV003 ---------------------------------------------------------------------


def test_cov003_per_file_floor_with_excluded_paths(covered_project: Path) -> None:
    result = check(covered_project, "COV003", {"min_file": 80})
    assert result.status == "fail"
    (finding,) = result.findings
    assert finding.location.path == "pkg/calc.py"
    assert finding.message == "66.67% of lines covered, below the per-file floor of 80% (missing lines 8,13-14)"
    assert check(covered_project, "COV003", {"min_file": 80, "exclude": ["pkg/calc.py"]}).status == "pass"


# COV004 ---------------------------------------------------------------------


def _git(project: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=project,
        check=True,
        capture_output=True,
    )


NEW_CODE = """

def doubled(n):
    if n > 100:
        return None
    return n * 2
"""


@pytest.mark.parametrize(("tested", "status"), [(False, "fail"), (True, "pass")])
def test_cov004_coverage_of_the_lines_changed_since_the_base_ref(
    covered_project: Path, tested: bool, status: str, coverage_run: Callable[[Path], None]
) -> None:
    project = covered_project
    for name in (".coverage", "coverage.xml", "coverage.json", "lcov.info"):
        (project / name).unlink()
    (project / ".gitignore").write_text(".coverage\n__pycache__/\n")
    _git(project, "init", "-q", "-b", "main")
    _git(project, "add", ".")
    _git(project, "commit", "-qm", "base")
    _git(project, "checkout", "-qb", "feature")
    with open(project / "pkg" / "calc.py", "a") as handle:
        handle.write(NEW_CODE)
    if tested:
        (project / "tests" / "test_new.py").write_text(
            "from pkg.calc import doubled\n\n\ndef test_doubled():\n"
            "    assert doubled(2) == 4\n    assert doubled(101) is None\n"
        )
    _git(project, "add", ".")
    _git(project, "commit", "-qm", "feature")
    coverage_run(project)
    result = check(project, "COV004", {"min_new_code": 80}, base_ref="main")
    assert result.status == status, result.reason
    if not tested:
        assert messages(result) == [
            "25.0% of the 4 executable lines changed since main are covered, below the 80% floor; "
            "not covered: pkg/calc.py:18-20"
        ]
    skipped = check(project, "COV004")
    assert skipped.status == "skipped" and "no base ref" in skipped.reason


# COV005 ---------------------------------------------------------------------


def test_cov005_current_evidence_passes(covered_project: Path) -> None:
    assert check(covered_project, "COV005", {"expected": ["coverage.xml"]}).status == "pass"


def test_cov005_evidence_older_than_its_sources_is_stale_and_not_counted(covered_project: Path) -> None:
    later = time.time() + 120
    os.utime(covered_project / "pkg" / "calc.py", (later, later))
    result = check(covered_project, "COV005")
    assert result.status == "fail"
    assert {f.location.path for f in result.findings} == {".coverage", "coverage.xml", "coverage.json", "lcov.info"}
    assert all("before pkg/calc.py last changed" in m for m in messages(result))
    # Stale evidence cannot pass the floor either.
    assert messages(check(covered_project, "COV001", {"min_line": 1}))[0].startswith("no current coverage evidence")


def test_cov005_missing_expected_report_and_files_not_in_the_repository(covered_project: Path) -> None:
    result = check(covered_project, "COV005", {"expected": ["build/jacoco.xml"]})
    assert messages(result) == [
        "expected coverage report build/jacoco.xml was not found (write it in the build, or pass --evidence FILE)"
    ]
    (covered_project / "other.info").write_text("SF:services/billing/app.py\nDA:1,1\nend_of_record\n")
    result = check(covered_project, "COV005", evidence=[covered_project / "other.info"])
    assert messages(result) == [
        "coverage report names 1 file(s) not in the repository (another branch or service, or paths that cannot "
        "be matched): services/billing/app.py"
    ]


# SCAN001 --------------------------------------------------------------------

UNSAFE = "import subprocess\n\n\ndef run(cmd):\n    return subprocess.call(cmd, shell=True)\n"


@pytest.fixture
def scanned(tmp_path: Path) -> Path:
    project = tmp_path / "svc"
    (project / "src").mkdir(parents=True)
    (project / "src" / "unsafe.py").write_text(UNSAFE)
    (project / "src" / "safe.py").write_text("def add(a, b):\n    return a + b\n")
    old = time.time() - 3600
    for file in (project / "src").iterdir():
        os.utime(file, (old, old))
    return project


def _bandit(project: Path, *targets: str) -> None:
    subprocess.run(
        [find_executable("bandit") or "bandit", "-f", "json", "-o", "bandit.json", "-q", *targets],
        cwd=project,
        check=False,
    )


def test_scan001_required_scan_missing_partial_and_complete(scanned: Path) -> None:
    result = check(scanned, "SCAN001", scans=BANDIT_ONLY)
    assert messages(result) == [
        "required scan bandit has no results: run it with --run-scans, or pass its output with --evidence"
    ]
    _bandit(scanned, "src/unsafe.py")
    result = check(scanned, "SCAN001", scans=BANDIT_ONLY)
    assert messages(result) == ["bandit did not cover 1 of the 2 files it must: src/safe.py"]
    _bandit(scanned, "-r", "src")
    assert check(scanned, "SCAN001", scans=BANDIT_ONLY).status == "pass"
    assert check(scanned, "SCAN001").status == "skipped"  # no scan required


# SCAN002 --------------------------------------------------------------------


def test_scan002_findings_at_or_above_the_threshold_fail_with_their_location(scanned: Path) -> None:
    _bandit(scanned, "-r", "src")
    result = check(scanned, "SCAN002", scans=BANDIT_ONLY)
    assert result.status == "fail"
    blocking = {(f.location.path, f.location.line, f.element) for f in result.findings}
    assert blocking == {("src/unsafe.py", 5, "bandit:B602")}  # B404 (low) is below the threshold
    critical_only = {"bandit": {**BANDIT_ONLY["bandit"], "threshold": "critical"}}
    assert check(scanned, "SCAN002", scans=critical_only).status == "pass"
    waiver = {
        "rule": "SCAN002",
        "scope": {"template": "src/unsafe.py", "element": "bandit:B602"},
        "reason": "the command is a constant list, never user input",
        "ticket": "SEC-1",
        "approved_by": "security@example.com",
        "expires": "2099-01-01",
    }
    waived = check(scanned, "SCAN002", scans=BANDIT_ONLY, waivers=[waiver], now=datetime(2098, 12, 1, tzinfo=UTC))
    assert waived.status == "waived" and [f.element for f, _ in waived.waived] == ["bandit:B602"]


def test_scan002_when_checker_runs_the_scan(scanned: Path, scan_cache: Path) -> None:
    result = check(scanned, "SCAN002", scans=BANDIT_ONLY, run_scans=True, cache_dir=scan_cache)
    assert {(f.location.path, f.element) for f in result.findings} == {("src/unsafe.py", "bandit:B602")}
    (scanned / "src" / "unsafe.py").write_text("def run():\n    return 1\n")
    assert check(scanned, "SCAN002", scans=BANDIT_ONLY, run_scans=True, cache_dir=scan_cache).status == "pass"


def test_scan001_checker_runs_bandit_on_files_under_dot_git_named_folders(tmp_path: Path, scan_cache: Path) -> None:
    # bandit's default exclusions match ".git" anywhere in a path: .github/, or a workspace named *.git.
    project = tmp_path / "ws.git" / "svc"
    (project / ".github" / "scripts").mkdir(parents=True)
    (project / ".github" / "scripts" / "release.py").write_text(UNSAFE)
    result = check(project, "SCAN001", scans=BANDIT_ONLY, run_scans=True, cache_dir=scan_cache)
    assert result.status == "pass", messages(result)
    findings = check(project, "SCAN002", scans=BANDIT_ONLY, run_scans=True, cache_dir=scan_cache).findings
    assert {(f.location.path, f.element) for f in findings} == {(".github/scripts/release.py", "bandit:B602")}


def test_scan002_a_nosec_in_the_teams_code_does_not_hide_a_finding_from_the_scan_checker_runs(
    scanned: Path, scan_cache: Path
) -> None:
    (scanned / "src" / "unsafe.py").write_text(UNSAFE.replace("shell=True)", "shell=True)  # nosec"))
    result = check(scanned, "SCAN002", scans=BANDIT_ONLY, run_scans=True, cache_dir=scan_cache)
    assert {(f.location.path, f.element) for f in result.findings} == {("src/unsafe.py", "bandit:B602")}


def test_scan001_bandit_results_the_teams_nosec_suppressed_fail_the_requirement(scanned: Path) -> None:
    (scanned / "src" / "unsafe.py").write_text(UNSAFE.replace("shell=True)", "shell=True)  # nosec"))
    _bandit(scanned, "-r", "src")  # the team's own run honours # nosec: no result, one suppression counted
    result = check(scanned, "SCAN001", scans=BANDIT_ONLY)
    assert [f.element for f in result.findings] == ["bandit:suppressed"]
    assert "1 bandit result(s) were suppressed by the team's own markers" in result.findings[0].message
    assert check(scanned, "SCAN002", scans=BANDIT_ONLY).status == "pass"  # what SCAN001 is there to catch


def test_scan001_bandit_results_filtered_by_level_in_the_teams_run_are_suppressions(scanned: Path) -> None:
    _bandit(scanned, "-r", "-lll", "src")  # genuine output: B602 found, left out of the results by -lll
    result = check(scanned, "SCAN001", scans=BANDIT_ONLY)
    assert [f.element for f in result.findings] == ["bandit:suppressed"]


def test_scan001_the_repositorys_scanner_configuration_counts_against_ingested_results(
    scanned: Path, scan_cache: Path
) -> None:
    (scanned / ".bandit").write_text("[bandit]\nskips = B602\n")
    _bandit(scanned, "-r", "src")
    assert [f.element for f in check(scanned, "SCAN001", scans=BANDIT_ONLY).findings] == ["bandit:config:.bandit"]
    ran = check(scanned, "SCAN001", scans=BANDIT_ONLY, run_scans=True, cache_dir=scan_cache)
    assert ran.status == "pass"  # checker's own run reads no repository configuration


@pytest.mark.parametrize(("status", "fails"), [("accepted", True), ("rejected", False), ("underReview", False)])
def test_scan001_a_sarif_suppression_in_effect_is_the_teams_relaxation(scanned: Path, status: str, fails: bool) -> None:
    result = {
        "ruleId": "B105",
        "level": "note",
        "message": {"text": "hardcoded password"},
        "locations": [{"physicalLocation": {"artifactLocation": {"uri": "src/safe.py"}, "region": {"startLine": 1}}}],
        "suppressions": [{"kind": "inSource", "status": status}],
    }
    artifacts = [{"location": {"uri": "src/safe.py"}}, {"location": {"uri": "src/unsafe.py"}}]
    run = {"tool": {"driver": {"name": "Bandit", "version": "1.8.3"}}, "artifacts": artifacts, "results": [result]}
    (scanned / "bandit.sarif").write_text(json.dumps({"version": "2.1.0", "runs": [run]}))
    elements = [f.element for f in check(scanned, "SCAN001", scans=BANDIT_ONLY).findings]
    assert elements == (["bandit:suppressed"] if fails else [])


def test_scan001_checks_the_teams_checkov_run_skipped_are_named(tmp_path: Path) -> None:
    (tmp_path / "stack.yaml").write_text("Resources:\n  Logs:\n    Type: AWS::S3::Bucket\n")
    check_result = {"check_id": "CKV_AWS_18", "file_path": "/stack.yaml", "resource": "AWS::S3::Bucket.Logs"}
    run = {
        "check_type": "cloudformation",
        "results": {"passed_checks": [], "failed_checks": [], "skipped_checks": [check_result]},
        "summary": {"checkov_version": "3.2.300"},
    }
    (tmp_path / "checkov.json").write_text(json.dumps(run))
    result = check(tmp_path, "SCAN001", scans={"checkov": {"covers": ["templates"]}})
    assert [f.element for f in result.findings] == ["checkov:suppressed"]


@pytest.mark.parametrize(
    ("tool", "metadata", "where"),
    [
        (
            "cfn-lint",
            "Metadata:\n  cfn-lint:\n    config:\n      ignore_checks: [E3012]\n",
            "Metadata sets cfn-lint config ignore_checks",
        ),
        (
            "checkov",
            "    Metadata:\n      checkov:\n        skip:\n          - {id: CKV_AWS_18, comment: later}\n",
            "Resources.Logs.Metadata skips CKV_AWS_18",
        ),
    ],
)
def test_scan001_a_suppression_inside_a_template_fails_the_scan_requirement(
    tmp_path: Path, tool: str, metadata: str, where: str
) -> None:
    template = "Resources:\n  Logs:\n    Type: AWS::S3::Bucket\n"
    template = metadata + template if not metadata.startswith(" ") else template + metadata
    (tmp_path / "stack.yaml").write_text(template)
    scans = {tool: {"covers": ["templates"]}}
    result = check(tmp_path, "SCAN001", scans=scans)
    assert f"stack.yaml: {tool} is told to look away in the template itself ({where})" in [
        f"{f.location.path}: {f.message.split(': the organization')[0]}" for f in result.findings
    ]


def test_scan001_names_checkov_skip_comments_and_other_cfn_lint_settings(tmp_path: Path) -> None:
    (tmp_path / "stack.yaml").write_text(
        "Metadata:\n  cfn-lint:\n    config:\n      configure_rules: {E3031: {exceptions: [x]}}\n"
        "Resources:\n  Logs:\n    # checkov:skip=CKV_AWS_18: later\n    Type: AWS::S3::Bucket\n"
        "    Metadata:\n      bridgecrew:\n        skip: [{id: CKV_AWS_21}]\n"
    )
    found = set()
    for tool in ("cfn-lint", "checkov"):
        result = check(tmp_path, "SCAN001", scans={tool: {"covers": ["templates"]}})
        found |= {f.element for f in result.findings if "look away" in f.message}
    assert found == {
        "cfn-lint:Metadata sets cfn-lint config configure_rules",
        "checkov:Resources.Logs.Metadata skips CKV_AWS_21",
        "checkov:line 7 has a skip comment",
    }


def test_scan_requirements_cover_tracked_code_in_any_folder(tmp_path: Path) -> None:
    (tmp_path / "src" / "target").mkdir(parents=True)
    (tmp_path / "src" / "target" / "runner.py").write_text(UNSAFE)
    (tmp_path / "venv").mkdir()
    (tmp_path / "venv" / "lib.py").write_text(UNSAFE)  # untracked: a virtual environment, not the team's code
    _in_git(tmp_path)
    _git(tmp_path, "reset", "-q", "venv")
    from checker.facts.repository.scans import required_files
    from checker.policy_scans import ScanRequirement
    from checker.repository import load_repository

    repository = load_repository(tmp_path, "")
    bandit = ScanRequirement("bandit", ("*.py",), (), "medium", "high", None, "policy.yaml")
    assert required_files(bandit, repository, []) == ["src/target/runner.py"]


# SCAN003 --------------------------------------------------------------------


def test_scan003_minimum_scanner_version(scanned: Path, scan_cache: Path) -> None:
    too_new = {"bandit": {**BANDIT_ONLY["bandit"], "min_version": "99.0"}}
    result = check(scanned, "SCAN003", scans=too_new, run_scans=True, cache_dir=scan_cache)
    assert result.status == "fail" and "older than the minimum 99.0" in messages(result)[0]
    fine = {"bandit": {**BANDIT_ONLY["bandit"], "min_version": "1.7"}}
    assert check(scanned, "SCAN003", scans=fine, run_scans=True, cache_dir=scan_cache).status == "pass"
    _bandit(scanned, "-r", "src")  # bandit's JSON does not say which version wrote it
    assert messages(check(scanned, "SCAN003", scans=fine)) == [
        "bandit results do not record the tool's version; the policy requires 1.7 or later"
    ]


@pytest.mark.parametrize(("version", "status"), [("1.8.0rc1", "fail"), ("1.8.0", "pass"), ("1.10.0", "pass")])
def test_scan003_compares_versions_as_the_packaging_ecosystem_does(scanned: Path, version: str, status: str) -> None:
    sarif = {
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": {"name": "Semgrep OSS", "version": version}},
                "artifacts": [{"location": {"uri": "src/safe.py"}}, {"location": {"uri": "src/unsafe.py"}}],
                "results": [],
            }
        ],
    }
    (scanned / "semgrep.sarif").write_text(json.dumps(sarif))
    scans = {"semgrep oss": {"covers": ["src/*.py"], "min_version": "1.8.0"}}
    assert check(scanned, "SCAN003", scans=scans).status == status


# SCAN004 --------------------------------------------------------------------


def test_scan004_results_older_than_the_code(scanned: Path) -> None:
    _bandit(scanned, "-r", "src")
    assert check(scanned, "SCAN004", scans=BANDIT_ONLY).status == "pass"
    report = json.loads((scanned / "bandit.json").read_text())
    report["generated_at"] = "2020-01-01T00:00:00Z"
    (scanned / "bandit.json").write_text(json.dumps(report))
    result = check(scanned, "SCAN004", scans=BANDIT_ONLY)
    assert result.status == "fail"
    assert messages(result)[0].startswith("stale bandit results: bandit.json: produced 2020-01-01T00:00:00Z")


# REPO001 --------------------------------------------------------------------


def test_repo001_end_to_end_tests_at_the_release_location(tmp_path: Path) -> None:
    params = {"location": "tests/e2e", "runner_spec": ["buildspec.yml"]}
    result = check(tmp_path, "REPO001", params)
    assert messages(result)[0].startswith("no end-to-end test in tests/e2e/")
    assert messages(result)[1] == "the runner spec buildspec.yml is missing from tests/e2e/"
    (tmp_path / "tests" / "e2e").mkdir(parents=True)
    (tmp_path / "tests" / "e2e" / "test_api.py").write_text("def test_api():\n    pass\n")
    (tmp_path / "tests" / "e2e" / "buildspec.yml").write_text("version: 0.2\n")
    assert check(tmp_path, "REPO001", params).status == "pass"


# REPO002 --------------------------------------------------------------------


def test_repo002_codeowners(tmp_path: Path) -> None:
    assert check(tmp_path, "REPO002").status == "fail"
    (tmp_path / ".github").mkdir()
    (tmp_path / ".github" / "CODEOWNERS").write_text("# owners\n")
    assert check(tmp_path, "REPO002").status == "fail"  # comments only: nobody owns anything
    (tmp_path / ".github" / "CODEOWNERS").write_text("* @acme/team\n")
    assert check(tmp_path, "REPO002").status == "pass"


def test_repo002_the_checkouts_codeowners_applies_to_a_service_checked_from_its_own_folder(tmp_path: Path) -> None:
    (tmp_path / ".github").mkdir()
    (tmp_path / ".github" / "CODEOWNERS").write_text("* @acme/team\n")
    service = tmp_path / "services" / "orders"
    service.mkdir(parents=True)
    (service / "app.py").write_text("VERSION = 1\n")
    _in_git(tmp_path)
    assert check(service, "REPO002").status == "pass"  # --root is the service, the checkout's top holds the file


# TPL002 --------------------------------------------------------------------


def test_tpl002_a_check_that_judged_too_few_templates_fails(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "notes.yaml").write_text("title: not a template\n")
    result = check(tmp_path, "TPL002", {"min_templates": 1})
    assert result.status == "fail" and messages(result) == ["0 template(s) judged in .; the policy requires at least 1"]
    (tmp_path / "infra.cfn").write_text("Resources:\n  Topic:\n    Type: AWS::SNS::Topic\n")
    assert check(tmp_path, "TPL002", {"min_templates": 1}).status == "pass"
    assert check(tmp_path, "TPL002").status == "pass"  # the default asks for none


# REPO003 --------------------------------------------------------------------


def test_repo003_private_keys_by_content_and_by_name(tmp_path: Path) -> None:
    from checker.signing import generate_key

    (tmp_path / "deploy").mkdir()
    generate_key(tmp_path / "deploy" / "release", "ed25519", None)  # release.key: PEM private key
    (tmp_path / ".aws").mkdir()
    (tmp_path / ".aws" / "credentials").write_text("[default]\nregion = eu-west-1\n")
    result = check(tmp_path, "REPO003")
    assert {(f.location.path, f.message) for f in result.findings} == {
        ("deploy/release.key", "the file holds key material (private-key) from line 1"),
        (".aws/credentials", "a private key or credentials file, by its name"),
    }
    (tmp_path / "deploy" / "release.key").unlink()
    (tmp_path / ".aws" / "credentials").unlink()
    assert check(tmp_path, "REPO003").status == "pass"  # release.pub stays: a public key is fine


def test_repo003_judges_content_not_placeholders(tmp_path: Path) -> None:
    # moto's tests set a dummy variable whose value is its own name: no secret in it.
    (tmp_path / "run-tests.sh").write_text("#!/bin/sh\nAWS_SECRET_ACCESS_KEY=AWS_SECRET_ACCESS_KEY pytest\n")
    (tmp_path / "docs.md").write_text(
        "Use an id like AKIAIOSFODNN7EXAMPLE with your own secret.\n"
        # AWS's documented example pair, and a PEM header with no key in it.
        "AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE\nAWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n"
        'PRIVATE_KEY="-----BEGIN RSA PRIVATE KEY-----<your key here>-----END RSA PRIVATE KEY-----"\n'
    )
    assert check(tmp_path, "REPO003").status == "pass"
    key_id, secret = (
        "AKIA" + "2E0A8F3B244C9986",
        "7iT3Vd9hYqN2xR0pLk5s" + "Wm8bZc1uHj4gEf6oAa0B",
    )  # split: not key-shaped here
    (tmp_path / "deploy.env").write_text(
        f"# deploy\nREGION=eu-west-1\nAWS_ACCESS_KEY_ID={key_id}\nAWS_SECRET_ACCESS_KEY={secret}\n"
    )
    (tmp_path / "ci.yml").write_text("env:\n  TOKEN: ghp_" + "a1B2" * 9 + "\n")
    result = check(tmp_path, "REPO003")
    assert {(f.location.path, f.location.line, f.message) for f in result.findings} == {
        ("deploy.env", 3, "the file holds key material (aws-access-key, aws-credentials) from line 3"),
        ("ci.yml", 2, "the file holds key material (github-token) from line 2"),
    }


def _pem() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def _wrapped(pem: str, width: int) -> list[str]:
    lines = pem.strip().splitlines()
    body = "".join(lines[1:-1])
    return [lines[0], *(body[i : i + width] for i in range(0, len(body), width)), lines[-1]]


def test_repo003_finds_keys_however_they_are_written(tmp_path: Path) -> None:
    pem = _pem()
    secret = "7iT3Vd9hYqN2xR0pLk5s" + "Wm8bZc1uHj4gEf6oAa0B"  # split: not key-shaped here
    files = {
        "conf.yaml": "tls:\n  key: |\n" + "".join(f"    {line}\n" for line in _wrapped(pem, 32)),
        "sa.json": '{"private_key": "' + "\\n".join(_wrapped(pem, 32)) + '\\n"}\n',
        "deploy.env": f"export AWS_ACCESS_KEY_ID=AKIA{'2E0A8F3B244C9986'}\n"
        + "".join(f"export SETTING_{i}=value-{i}\n" for i in range(40))
        + f"export AWS_SECRET_ACCESS_KEY={secret}\n",
        "ssh2.txt": "---- BEGIN SSH2 ENCRYPTED PRIVATE KEY ----\n" + "".join(_wrapped(pem, 64)[1:-1]) + "\n",
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    (tmp_path / "key16.txt").write_bytes(pem.encode("utf-16"))
    (tmp_path / "big.txt").write_bytes(b"# padding\n" * 240_000 + pem.encode())  # the key after 2.3 MB
    found = {f.location.path for f in check(tmp_path, "REPO003").findings}
    assert found == {*files, "key16.txt", "big.txt"}
    big = [f for f in check(tmp_path, "REPO003").findings if f.location.path == "big.txt"]
    assert big[0].message.endswith("from line 240001")


def test_repo003_placeholders_are_not_keys(tmp_path: Path) -> None:
    (tmp_path / "docs.md").write_text(
        "AWS_ACCESS_KEY_ID=AKIAXXXXXXXXXXXXXXXX\nAWS_SECRET_ACCESS_KEY=" + "x" * 40 + "\n"
        "Pinned at AKIA0000000000000000 (commit 9fceb02d0ae598e95dc970b74767f19372d61af8)\n"
    )
    assert check(tmp_path, "REPO003").status == "pass"


@pytest.mark.parametrize("folder", ["target", ".gradle", ".tox", "node_modules/pkg", "venv/lib"])
def test_repo003_finds_a_key_committed_in_any_folder(tmp_path: Path, folder: str) -> None:
    key = tmp_path / folder / "signing.pem"
    key.parent.mkdir(parents=True)
    body = "MHcCAQEEIBq\nA1b2C3d4A1b2C3d4\nA1b2C3d4A1b2C3d4\nA1b2C3d4A1b2C3d4\n"  # base64, wrapped narrow
    key.write_text(f"build output\n-----BEGIN EC PRIVATE KEY-----\n{body}-----END EC PRIVATE KEY-----\n")
    _in_git(tmp_path)
    subprocess.run(["git", "-C", str(tmp_path), "add", "-f", "."], check=True)
    result = check(tmp_path, "REPO003")
    assert [(f.location.path, f.location.line) for f in result.findings] == [(f"{folder}/signing.pem", 2)]


def test_repo003_untracked_dependencies_are_not_the_teams_keys(tmp_path: Path) -> None:
    key_id, secret = (
        "AKIA" + "2E0A8F3B244C9986",
        "7iT3Vd9hYqN2xR0pLk5s" + "Wm8bZc1uHj4gEf6oAa0B",
    )  # split: not key-shaped here
    doc = f"aws_access_key_id = {key_id}\naws_secret_access_key = {secret}\n"
    (tmp_path / "node_modules" / "aws-sdk").mkdir(parents=True)
    (tmp_path / "node_modules" / "aws-sdk" / "README.md").write_text(doc)
    (tmp_path / "app.py").write_text("VERSION = 1\n")
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", "app.py")
    assert check(tmp_path, "REPO003").status == "pass"
    _git(tmp_path, "add", "-f", "node_modules")
    assert check(tmp_path, "REPO003").status == "fail"  # committed: it is in the repository for good


def test_excluded_paths_are_out_of_the_repository_rules_too(tmp_path: Path) -> None:
    (tmp_path / "vendor").mkdir()
    (tmp_path / "vendor" / "id_rsa").write_text("not even a key\n")
    assert check(tmp_path, "REPO003").status == "fail"
    assert check(tmp_path, "REPO003", fixed_excludes=[Exclude("vendor/*", "test")]).status == "pass"


def _commit(project: Path, when: float, message: str) -> None:
    stamp = f"@{int(when)} +0000"
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qam", message],
        cwd=project,
        check=True,
        env={**os.environ, "GIT_COMMITTER_DATE": stamp, "GIT_AUTHOR_DATE": stamp},
    )


def _in_git(project: Path) -> None:
    (project / ".gitignore").write_text(".coverage\ncoverage.*\nlcov.info\n__pycache__/\n")
    _git(project, "init", "-q")
    _git(project, "add", ".")


def test_cov005_a_commit_after_the_test_run_that_changes_nothing_keeps_evidence_fresh(covered_project: Path) -> None:
    _in_git(covered_project)
    _commit(covered_project, time.time() + 60, "after the tests")  # the sources were last written an hour ago
    assert check(covered_project, "COV005").status == "pass"


def test_cov005_freshness_follows_what_git_knows_of_the_sources(covered_project: Path) -> None:
    project = covered_project
    _in_git(project)
    now = time.time()
    _commit(project, now - 7200, "before the tests")
    assert check(project, "COV005").status == "pass"
    # A fresh checkout rewrites every file, but nothing was committed since the run: fresh.
    for source in (project / "pkg").glob("*.py"):
        os.utime(source, (now + 60, now + 60))
    assert check(project, "COV005").status == "pass"
    # Edited and committed after the run: stale, naming the file.
    with open(project / "pkg" / "calc.py", "a") as handle:
        handle.write("\n# reviewed\n")
    os.utime(project / "pkg" / "calc.py", (now + 120, now + 120))
    _commit(project, now + 120, "edit")
    result = check(project, "COV005")
    assert result.status == "fail"
    assert "before pkg/calc.py last changed" in messages(result)[0]


def test_findings_in_excluded_paths_neither_block_nor_count(scanned: Path) -> None:
    (scanned / "tests").mkdir()
    (scanned / "tests" / "test_unsafe.py").write_text(UNSAFE)
    _bandit(scanned, "-r", ".")
    policy = scanned.parent / "scan-policy.yaml"
    policy.write_text(
        yaml.safe_dump(
            {"schema_version": 1, "name": "t", "version": "1", "rules": {"SCAN002": {}}, "scans": BANDIT_ONLY}
        )
    )
    run = run_check(CheckRequest(paths=[scanned], root=scanned, policies=[policy], environ={}), REGISTRY)
    (result,) = [r for r in run.evaluation.results if r.meta.id == "SCAN002"]
    assert {f.location.path for f in result.findings} == {"src/unsafe.py"}
    (entry,) = [e for e in run.statement["predicate"]["evidence"] if e.get("tool") == "bandit"]
    assert entry["blocking"] == len(result.findings)


def test_run_scans_supersedes_results_found_in_the_tree(scanned: Path, scan_cache: Path) -> None:
    _bandit(scanned, "-r", "src")
    report = json.loads((scanned / "bandit.json").read_text())
    (scanned / "bandit.json").write_text(json.dumps({**report, "generated_at": "2020-01-01T00:00:00Z"}))
    assert check(scanned, "SCAN004", scans=BANDIT_ONLY).status == "fail"  # the old results, read
    result = check(scanned, "SCAN004", scans=BANDIT_ONLY, run_scans=True, cache_dir=scan_cache)
    assert (result.status, result.reason) == ("skipped", "no required scan was ingested from a file")


def test_a_file_taken_out_of_the_index_still_needs_scanning(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "runner.py").write_text(UNSAFE)
    _in_git(tmp_path)
    _commit(tmp_path, time.time(), "runner")
    _git(tmp_path, "rm", "-q", "--cached", "src/runner.py")  # still in HEAD and on disk
    from checker.repository import load_repository

    assert "src/runner.py" in load_repository(tmp_path, "").files


def test_cov005_a_report_copied_into_another_folder_is_a_finding(covered_project: Path) -> None:
    (covered_project / "other").mkdir()
    shutil.copy(covered_project / "coverage.xml", covered_project / "other" / "coverage.xml")
    result = check(covered_project, "COV005")
    assert any(
        m.startswith("the same coverage report is at coverage.xml, other/coverage.xml") for m in messages(result)
    )


def test_repo003_says_when_it_could_not_read_a_whole_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from checker.evidence import secrets

    monkeypatch.setattr(secrets, "_MAX_SCANNED_BYTES", 4 * 1024 * 1024)  # the real limit is 64 MiB
    (tmp_path / "dump.sql").write_bytes(b"-- rows\n" * 700_000)  # 5.6 MB
    (result,) = check(tmp_path, "REPO003").findings
    assert result.message.startswith("the file is over 64 MiB and was read for key material only that far")


def test_repo003_key_ids_without_a_secret_are_not_credentials(tmp_path: Path) -> None:
    # 300,000 ids: the secrets near them are looked up once per file, not once per id.
    (tmp_path / "ids.txt").write_bytes(b"".join(b"AKIA%016X\n" % (i * 7919) for i in range(300_000)))
    assert check(tmp_path, "REPO003").status == "pass"
