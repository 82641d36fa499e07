"""Scanner results, produced by running the scanners for real (bandit,
cfn-lint, checkov) or written by hand for a generic SARIF scanner, read into
findings with severities, versions and the files they cover."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from checker.cache import JsonStore
from checker.errors import InputError
from checker.evidence.load import EvidenceInput, load_evidence
from checker.evidence.paths import PathResolver
from checker.evidence.scanrun import find_executable, run_scans
from checker.repository import load_repository

UNSAFE = 'import subprocess\n\n\ndef run(cmd):\n    return subprocess.call(cmd, shell=True)\n\n\nPASSWORD = "hunter2"\n'
SAFE = "def add(a, b):\n    return a + b\n"
TEMPLATE = """\
AWSTemplateFormatVersion: "2010-09-09"
Resources:
  Bucket:
    Type: AWS::S3::Bucket
    Properties:
      BucketName: !Sub "${AWS::StackName}-data"
      NotAProperty: true
"""


def _tool(name: str) -> str:
    executable = find_executable(name)
    if executable is None:
        pytest.skip(f"{name} is not installed")
    return executable


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "unsafe.py").write_text(UNSAFE)
    (tmp_path / "src" / "safe.py").write_text(SAFE)
    (tmp_path / "template.yaml").write_text(TEMPLATE)
    return tmp_path


def _load(project: Path, name: str):  # type: ignore[no-untyped-def]
    resolver = PathResolver(project, load_repository(project, "").files)
    return load_evidence([EvidenceInput(project / name, name, True)], resolver, project)


def test_bandit_json_from_a_real_run(project: Path) -> None:
    subprocess.run([_tool("bandit"), "-r", "src", "-f", "json", "-o", "bandit.json", "-q"], cwd=project, check=False)
    (report,) = _load(project, "bandit.json").scans
    assert report.tool == "bandit" and report.obtained == "ingested" and report.version is None
    assert report.scanned == {"src/unsafe.py", "src/safe.py"}
    found = {(f.rule_id, f.severity, f.path, f.line) for f in report.findings}
    assert ("B602", "high", "src/unsafe.py", 5) in found
    assert ("B105", "low", "src/unsafe.py", 8) in found


def test_cfn_lint_json_from_a_real_run_lists_findings_only(project: Path) -> None:
    done = subprocess.run([_tool("cfn-lint"), "-f", "json", "template.yaml"], cwd=project, capture_output=True)
    (project / "cfn-lint.json").write_bytes(done.stdout)
    (report,) = _load(project, "cfn-lint.json").scans
    assert report.tool == "cfn-lint" and report.scanned is None
    assert [(f.rule_id, f.severity, f.path, f.line) for f in report.findings] == [("E3002", "high", "template.yaml", 7)]


def test_checkov_json_from_a_real_run_has_version_and_unrated_findings(project: Path) -> None:
    done = subprocess.run(
        [_tool("checkov"), "-f", "template.yaml", "-o", "json", "--skip-download", "--framework", "cloudformation"],
        cwd=project,
        capture_output=True,
    )
    (project / "checkov.json").write_bytes(done.stdout)
    (report,) = _load(project, "checkov.json").scans
    assert report.tool == "checkov" and report.version and report.version[0].isdigit()
    assert report.scanned == {"template.yaml"}
    assert report.findings and all(not f.rated and f.path == "template.yaml" for f in report.findings)
    assert "CKV_AWS_18" in {f.rule_id for f in report.findings}  # bucket without access logging


SARIF = {
    "version": "2.1.0",
    "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
    "runs": [
        {
            "tool": {
                "driver": {
                    "name": "Semgrep OSS",
                    "version": "1.90.0",
                    "rules": [{"id": "py.sqli", "properties": {"security-severity": "9.1"}}],
                }
            },
            "artifacts": [{"location": {"uri": "src/unsafe.py"}}, {"location": {"uri": "src/safe.py"}}],
            "invocations": [{"executionSuccessful": True, "endTimeUtc": "2026-11-28T10:00:00Z"}],
            "results": [
                {
                    "ruleId": "py.sqli",
                    "level": "error",
                    "message": {"text": "SQL built from input"},
                    "locations": [
                        {"physicalLocation": {"artifactLocation": {"uri": "src/unsafe.py"}, "region": {"startLine": 5}}}
                    ],
                },
                {
                    "ruleId": "py.style",
                    "level": "note",
                    "message": {"text": "suppressed"},
                    "suppressions": [{"kind": "inSource"}],
                },
            ],
        }
    ],
}


def test_any_sarif_scanner_with_severity_artifacts_and_time(project: Path) -> None:
    (project / "semgrep.sarif").write_text(json.dumps(SARIF))
    (report,) = _load(project, "semgrep.sarif").scans
    assert report.tool == "semgrep oss" and report.version == "1.90.0"
    assert report.scanned == {"src/unsafe.py", "src/safe.py"}
    assert [(f.rule_id, f.severity, f.path, f.line) for f in report.findings] == [
        ("py.sqli", "critical", "src/unsafe.py", 5)
    ]
    assert report.generated is not None


@pytest.mark.parametrize(
    ("suppressions", "kept"),
    [
        ([{"kind": "inSource"}], False),  # no status: in effect
        ([{"kind": "inSource", "status": "accepted"}], False),
        ([{"kind": "inSource", "status": "rejected"}], True),
        ([{"kind": "external", "status": "underReview"}], True),
        ([{"kind": "inSource", "status": "accepted"}, {"kind": "external", "status": "underReview"}], True),
        ([{"kind": "inSource", "status": "rejected"}, {"kind": "external", "status": "accepted"}], False),
        ([], True),
    ],
)
def test_only_suppressions_in_effect_remove_a_result(project: Path, suppressions: list[Any], kept: bool) -> None:
    log = json.loads(json.dumps(SARIF))
    log["runs"][0]["results"][0]["suppressions"] = suppressions
    (project / "semgrep.sarif").write_text(json.dumps(log))
    (report,) = _load(project, "semgrep.sarif").scans
    assert [f.rule_id for f in report.findings] == (["py.sqli"] if kept else [])
    assert report.suppressed == (1 if kept else 2)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"results": [], "metrics": {}, "generated_at": "2026-', "not valid JSON"),
        ('{"version": "2.0.0", "runs": []}', "only SARIF 2.1.0"),
        ('{"results": [{"filename": "a.py"}], "metrics": {}}', "lacks filename, line_number"),
    ],
)
def test_broken_scan_output_is_an_input_error(project: Path, content: str, message: str) -> None:
    (project / "results.sarif").write_text(content)
    with pytest.raises(InputError, match=message) as caught:
        _load(project, "results.sarif")
    assert caught.value.path == "results.sarif"


def test_run_scans_in_parallel_then_from_the_cache(
    project: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    _tool("bandit")
    resolver = PathResolver(project, load_repository(project, "").files)
    cache = JsonStore(tmp_path_factory.mktemp("cache"), b"a CI secret of sixteen bytes or more")
    wanted = {"bandit": ["src/safe.py", "src/unsafe.py"], "cfn-lint": ["template.yaml"]}
    first = run_scans(wanted, project, resolver, jobs=2, cache=cache)
    assert [r.tool for r in first] == ["bandit", "cfn-lint"]
    assert all(r.failure is None and r.obtained == "ran" and r.version for r in first)
    assert first[0].scanned == {"src/safe.py", "src/unsafe.py"}
    assert {f.rule_id for f in first[0].findings} == {"B602", "B105", "B404"}

    # An unchanged rerun starts no scanner: every result comes from the cache.
    def refuse(*args: object) -> None:
        raise AssertionError("a scanner ran on unchanged files")

    monkeypatch.setattr("checker.evidence.scanrun._run_batch", refuse)
    again = run_scans(wanted, project, resolver, jobs=2, cache=cache)
    assert [set(r.findings) for r in again] == [set(r.findings) for r in first]
    assert cache.hits == 3


def test_a_missing_scanner_is_a_failure_not_an_empty_pass(project: Path) -> None:
    resolver = PathResolver(project, [])
    (report,) = run_scans({"trivy": ["src/safe.py"]}, project, resolver, jobs=1, cache=None)
    assert report.failure and "cannot run trivy" in report.failure


def test_checkov_severities_from_a_platform_run_and_unknown_words(project: Path) -> None:
    check = {
        "check_id": "CKV_AWS_18",
        "check_name": "logging",
        "file_path": "/template.yaml",
        "file_line_range": [3, 7],
    }
    output = {
        "check_type": "cloudformation",
        "results": {
            "passed_checks": [],
            "failed_checks": [{**check, "severity": "CRITICAL"}, {**check, "check_id": "CKV_X", "severity": "UNKNOWN"}],
        },
        "summary": {"checkov_version": "3.2.1"},
    }
    (project / "checkov.json").write_text(json.dumps(output))
    (report,) = _load(project, "checkov.json").scans
    assert [(f.rule_id, f.severity, f.rated, f.line) for f in report.findings] == [
        ("CKV_AWS_18", "critical", True, 3),
        ("CKV_X", "high", False, 3),
    ]


def test_checkov_output_with_nothing_to_scan_is_an_empty_run(project: Path) -> None:
    # What checkov prints when the files hold no resource it checks: a bare summary.
    summary = {"passed": 0, "failed": 0, "skipped": 0, "parsing_errors": 0, "resource_count": 0}
    (project / "checkov.json").write_text(json.dumps({**summary, "checkov_version": "3.2.1"}))
    (report,) = _load(project, "checkov.json").scans
    assert (report.tool, report.version, report.findings, report.failure) == ("checkov", "3.2.1", (), None)


def test_a_malformed_shape_is_an_input_error_not_a_crash(project: Path) -> None:
    (project / "checkov.json").write_text(
        json.dumps({"check_type": "cloudformation", "results": {"failed_checks": [7]}})
    )
    with pytest.raises(InputError, match="malformed checkov-json content") as caught:
        _load(project, "checkov.json")
    assert caught.value.path == "checkov.json"


def test_scanner_times_are_utc_unless_they_say_otherwise() -> None:
    from checker.evidence.scans import _time

    assert _time("2026-11-28T10:00:00") == _time("2026-11-28T10:00:00Z")  # no offset means UTC
    assert _time("2026-11-28T12:00:00+02:00") == _time("2026-11-28T10:00:00Z")
    assert _time("not a time") is None and _time(5) is None


@pytest.mark.parametrize(
    ("tool", "config"),
    [
        ("cfn-lint", (".cfnlintrc", "ignore_checks:\n  - E\n  - W\n  - I\n")),
        ("checkov", (".checkov.yaml", "skip-check:\n  - CKV_AWS_18\n  - CKV_AWS_21\n  - CKV2_AWS_6\n  - CKV_AWS_56\n")),
    ],
)
def test_the_repositorys_own_scanner_settings_do_not_change_the_scan(
    project: Path, tool: str, config: tuple[str, str]
) -> None:
    _tool(tool)
    resolver = PathResolver(project, load_repository(project, "").files)
    (before,) = run_scans({tool: ["template.yaml"]}, project, resolver, jobs=1, cache=None)
    assert before.failure is None and before.findings
    (project / config[0]).write_text(config[1])  # the team silencing the organization's scan
    (after,) = run_scans({tool: ["template.yaml"]}, project, resolver, jobs=1, cache=None)
    assert set(after.findings) == set(before.findings)


def test_the_ci_environment_does_not_configure_the_organizations_scan(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _tool("checkov")
    resolver = PathResolver(project, load_repository(project, "").files)
    (before,) = run_scans({"checkov": ["template.yaml"]}, project, resolver, jobs=1, cache=None)
    assert before.findings
    monkeypatch.setenv("CKV_CHECK", "CKV_NONE")  # "run no check", set by the team's CI
    (after,) = run_scans({"checkov": ["template.yaml"]}, project, resolver, jobs=1, cache=None)
    assert set(after.findings) == set(before.findings)


def test_a_finding_on_a_file_outside_the_listing_is_named_from_the_root_not_the_machine(project: Path) -> None:
    location = {"physicalLocation": {"artifactLocation": {"uri": f"file://{project}/node_modules/x/t.yaml"}}}
    result = {"ruleId": "E3002", "level": "error", "message": {"text": "bad"}, "locations": [location]}
    log = {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "cfn-lint"}}, "results": [result]}]}
    (project / "cfn-lint.sarif").write_text(json.dumps(log))
    (report,) = _load(project, "cfn-lint.sarif").scans
    assert [f.path for f in report.findings] == ["node_modules/x/t.yaml"]
