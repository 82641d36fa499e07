"""The command line as users and CI meet it: exit codes and output."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from checker import __version__
from checker.cli import main

REPO = Path(__file__).resolve().parent.parent
SCHEMA = json.loads((REPO / "checker" / "schemas" / "report.schema.json").read_text())

GOOD = "AWSTemplateFormatVersion: '2010-09-09'\nResources:\n  Topic:\n    Type: AWS::SNS::Topic\n"
BAD = """\
AWSTemplateFormatVersion: '2010-09-09'
Resources:
  Admin:
    Type: AWS::IAM::ManagedPolicy
    Properties:
      PolicyDocument:
        Statement:
          - Effect: Allow
            Action: '*'
            Resource: '*'
"""


def run(capsys, monkeypatch, cwd: Path, *args: str) -> tuple[int, str, str]:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(cwd)
    monkeypatch.setenv("NO_COLOR", "1")
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_pass_exits_0(tmp_path, write, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    write("infra/good.yaml", GOOD)
    code, out, _ = run(capsys, monkeypatch, tmp_path, "check", "--templates-only")
    assert code == 0
    assert out.splitlines()[-1].startswith("PASS: rules 19 passed, 13 skipped; 0 finding(s), 1 template(s) judged")


def test_fail_exits_1_and_names_file_line_resource_why_and_fix(tmp_path, write, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    write("infra/good.yaml", GOOD)
    write("infra/bad.yaml", BAD)
    code, out, _ = run(capsys, monkeypatch, tmp_path, "check", "infra", "--templates-only")
    assert code == 1
    assert "FAIL IAM001 IAM policy allows every action [critical, error]" in out
    assert "infra/bad.yaml:8 Admin: Properties.PolicyDocument.Statement[0] allows every action" in out
    assert "    why: " in out and "    fix: " in out
    assert "\033[" not in out  # NO_COLOR
    assert out.splitlines()[-1].startswith("FAIL: rules 1 failed, 18 passed, 13 skipped")


def test_unparseable_template_fails_closed_and_others_are_still_checked(tmp_path, write, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    write("broken.yaml", "AWSTemplateFormatVersion: '2010-09-09'\nResources:\n  A: [\n")
    write("bad.yaml", BAD)
    code, out, _ = run(capsys, monkeypatch, tmp_path, "check", "--format", "json")
    report = json.loads(out)
    assert code == 1
    results = {r["rule"]: r for r in report["predicate"]["results"]}
    assert results["TPL001"]["status"] == "fail"
    assert results["TPL001"]["findings"][0]["location"]["path"] == "broken.yaml"
    assert results["TPL001"]["findings"][0]["location"]["line"] == 4
    assert results["IAM001"]["findings"][0]["location"]["resource"] == "Admin"
    assert {t["path"]: t["status"] for t in report["predicate"]["templates"]} == {
        "bad.yaml": "ok",
        "broken.yaml": "error",
    }


def test_json_report_is_an_in_toto_statement_valid_against_the_schema(tmp_path, write, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    jsonschema = pytest.importorskip("jsonschema")
    write("bad.yaml", BAD)
    artifact = write("dist/app.zip", "artifact bytes")
    code, out, _ = run(
        capsys, monkeypatch, tmp_path, "check", "--format", "json", "--subject", "dist/app.zip", "--templates-only"
    )
    report = json.loads(out)
    jsonschema.validate(report, SCHEMA, cls=jsonschema.Draft202012Validator)
    assert code == 1
    assert report["_type"] == "https://in-toto.io/Statement/v1"
    import hashlib

    assert report["subject"] == [
        {"name": "dist/app.zip", "digest": {"sha256": hashlib.sha256(artifact.read_bytes()).hexdigest()}}
    ]
    predicate = report["predicate"]
    assert predicate["verdict"] == "fail"
    assert predicate["tool"] == {"name": "checker", "version": __version__}
    assert predicate["policy"]["name"] == "org-baseline"
    assert predicate["summary"]["blocking"] == ["IAM001"]
    (catalogue,) = predicate["data_sources"]
    assert catalogue["name"] == "iam-actions" and catalogue["source_version"]


def test_report_binds_the_git_commit_when_no_subject_is_given(tmp_path, write, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    write("t.yaml", GOOD)
    git = ["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q", "-b", "feature"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "init"], check=True)
    commit = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    write("t.yaml", GOOD + "  Other:\n    Type: AWS::SNS::Topic\n")
    code, out, _ = run(capsys, monkeypatch, tmp_path, "check", "--format", "json", "--templates-only")
    report = json.loads(out)
    assert code == 0
    assert report["subject"][0]["digest"] == {"gitCommit": commit}
    assert report["predicate"]["source"] == {
        "repository": None,
        "commit": commit,
        "branch": "feature",
        "dirty": True,
        "dirty_reasons": ["modified: t.yaml"],
        "untracked_inputs": [],
    }


def test_same_inputs_give_the_same_report_apart_from_timestamps(tmp_path, write, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    write("a.yaml", BAD)
    write("b.yaml", BAD.replace("Admin", "Other"))
    reports = []
    for _ in range(2):
        _, out, _ = run(capsys, monkeypatch, tmp_path, "check", "--format", "json")
        report = json.loads(out)
        report["predicate"].pop("timestamps")
        reports.append(report)
    assert reports[0] == reports[1]


def test_output_file_and_two_formats(tmp_path, write, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    write("t.yaml", GOOD)
    code, out, _ = run(
        capsys,
        monkeypatch,
        tmp_path,
        "check",
        "--format",
        "json",
        "--output",
        "r.json",
        "--format",
        "text",
        "--templates-only",
    )
    assert code == 0
    assert json.loads((tmp_path / "r.json").read_text())["predicate"]["verdict"] == "pass"
    assert out.startswith("PASS")


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["check", "missing-dir"], "no such file or directory: missing-dir"),
        (["check", "--policy", "nope.yaml"], "nope.yaml: cannot read file"),
        (["check", "--rules", "no-rules-here"], "rules folder not found"),
        (["rules", "show", "IAN001"], "no rule with id 'IAN001' (did you mean 'IAM001'?)"),
        (["check", "--output", "a", "--output", "b"], "more --output than --format"),
    ],
)
def test_usage_and_input_errors_exit_2_with_a_message_and_no_traceback(
    tmp_path, capsys, monkeypatch, args, words
) -> None:  # type: ignore[no-untyped-def]
    code, _, err = run(capsys, monkeypatch, tmp_path, *args)
    assert code == 2
    assert words in err
    assert "Traceback" not in err


def test_bad_policy_exits_2_naming_file_line_and_field(tmp_path, write, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    write("policy.yaml", "schema_version: 1\nname: p\nversion: '1'\nrules:\n  IAM001: {enforce: maybe}\n")
    code, _, err = run(capsys, monkeypatch, tmp_path, "policy", "validate", "policy.yaml")
    assert code == 2
    assert err.strip() == "checker: error: policy.yaml:5: rules.IAM001.enforce: must be error, warn or off"


def test_policy_validate_and_digest(tmp_path, write, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    write("policy.yaml", "schema_version: 1\nname: p\nversion: '1'\nrules:\n  IAM001: {}\n")
    code, out, _ = run(capsys, monkeypatch, tmp_path, "policy", "validate", "policy.yaml")
    assert code == 0 and "policy.yaml: valid (1 rules, 1 enabled; sha256:" in out
    code, digest, _ = run(capsys, monkeypatch, tmp_path, "policy", "digest", "policy.yaml")
    assert code == 0 and digest.strip() in out


def test_rules_list_and_show(tmp_path, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = run(capsys, monkeypatch, tmp_path, "rules", "list", "--format", "json")
    listing = {r["id"]: r for r in json.loads(out)}
    template_rules = {f"IAM{i:03}" for i in range(1, 17)} | {"NAME001", "TPL001", "TPL003"}
    repository_rules = {f"COV00{i}" for i in range(1, 6)} | {f"SCAN00{i}" for i in range(1, 5)}
    repository_rules |= {"REPO001", "REPO002", "REPO003", "TPL002"}
    assert code == 0 and set(listing) == template_rules | repository_rules
    assert listing["NAME001"]["params"][0]["name"] == "properties"
    code, out, _ = run(capsys, monkeypatch, tmp_path, "rules", "show", "IAM001")
    assert code == 0
    for heading in ("# IAM001", "## Why is this bad?", "## Example", "## How to fix", "## Use instead"):
        assert heading in out


def test_a_crashing_rule_never_passes_through_the_cli(tmp_path, write, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    write(
        "rules/crash.py",
        "from checker.ruleapi import RuleMeta\n"
        "class C:\n    meta = RuleMeta(id='X-CRASH', title='t', severity='low', tags=('template',),"
        " rationale='r', remediation='f', views=('resources',))\n"
        "    def evaluate(self, facts, params):\n        raise RuntimeError('bad rule')\nRULE = C()\n",
    )
    write("policy.yaml", "schema_version: 1\nname: p\nversion: '1'\nrules:\n  X-CRASH: {enforce: warn}\n")
    write("t.yaml", GOOD)
    code, out, _ = run(capsys, monkeypatch, tmp_path, "check", "t.yaml", "--rules", "rules", "--policy", "policy.yaml")
    assert code == 1
    assert "ERROR X-CRASH" in out and "RuntimeError: bad rule" in out


def test_version_help_and_module_entry_point() -> None:
    done = subprocess.run([sys.executable, "-m", "checker", "--version"], capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.strip() == f"checker {__version__}"
    done = subprocess.run([sys.executable, "-m", "checker", "check", "--help"], capture_output=True, text=True)
    assert done.returncode == 0 and "--policy FILE" in done.stdout


def test_bundled_example_passes_with_one_warning_and_shows_its_evidence(capsys, monkeypatch, scan_cache) -> None:  # type: ignore[no-untyped-def]
    jsonschema = pytest.importorskip("jsonschema")
    code, out, _ = run(
        capsys,
        monkeypatch,
        REPO,
        "check",
        "examples/app",
        "--run-scans",
        "--cache",
        str(scan_cache),
        "--format",
        "json",
        "--output",
        str(scan_cache / "example.json"),
        "--format",
        "text",
    )
    assert code == 0, out
    assert "WARN NAME001" in out and "examples/app/template.yaml:58 AuditLogGroup" in out
    assert "coverage: examples/app/coverage.xml (cobertura): lines 100.0%, branches 100.0%" in out
    assert re.search(r"^scan: bandit [\d.]+ \(ran\): 1 of 1 file\(s\), no findings", out, re.M)
    assert re.search(r"^scan: checkov [\d.]+ \(ran\): 3 of 3 file\(s\), \d+ finding\(s\)", out, re.M)
    assert out.splitlines()[-1].startswith(
        "PASS: rules 1 warned, 28 passed, 3 skipped; 1 finding(s), 3 template(s) judged"
    )
    report = json.loads((scan_cache / "example.json").read_text())
    jsonschema.validate(report, SCHEMA, cls=jsonschema.Draft202012Validator)
    kinds = sorted((e["kind"], e.get("tool", e.get("path"))) for e in report["predicate"]["evidence"])
    assert kinds == [
        ("coverage", "examples/app/coverage.xml"),
        ("coverage-scope", None),
        ("scan", "bandit"),
        ("scan", "cfn-lint"),
        ("scan", "checkov"),
    ]


def test_repository_rules_fail_closed_without_evidence(tmp_path, write, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    write("t.yaml", GOOD)
    code, out, _ = run(capsys, monkeypatch, tmp_path, "check")
    assert code == 1
    assert "no current coverage evidence" in out and "required scan bandit has no results" in out


def test_corrupt_evidence_exits_2_naming_the_file(tmp_path, write, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    write("t.yaml", GOOD)
    write("reports/coverage.xml", '<?xml version="1.0" ?>\n<coverage line-rate="0.9">\n<packages>')
    code, _, err = run(capsys, monkeypatch, tmp_path, "check")
    assert code == 2
    assert err.startswith("checker: error: reports/coverage.xml:3: not well-formed XML")
    code, _, err = run(capsys, monkeypatch, tmp_path, "check", "t.yaml", "--evidence", "missing.json")
    assert code == 2 and "--evidence missing.json: no such file" in err


def test_whole_public_corpus_runs_without_a_crash(corpus: Path, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    code, out, err = run(capsys, monkeypatch, corpus, "check", "--format", "json")
    report = json.loads(out)
    assert code == 1 and err == ""
    assert report["predicate"]["summary"]["templates"] == 1549
    parse_errors = {
        f["location"]["path"] for r in report["predicate"]["results"] if r["rule"] == "TPL001" for f in r["findings"]
    }
    assert "cfn_nag/spec/test_templates/yaml/vulgar_bad_syntax.yml" in parse_errors
    assert all(r["status"] != "error" for r in report["predicate"]["results"])


def test_the_report_names_no_absolute_path_of_the_build_machine(tmp_path, write, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    repo, artifacts = tmp_path / "repo", tmp_path / "artifacts"
    write("repo/infra/good.yaml", GOOD)
    write("artifacts/lcov.info", "TN:\nSF:infra/good.yaml\nDA:1,1\nend_of_record\n")
    shutil.copy(REPO / "policies" / "baseline.yaml", artifacts / "baseline.yaml")
    out = tmp_path / "report.json"
    run(
        capsys,
        monkeypatch,
        repo,
        "check",
        str(repo),
        "--policy",
        str(artifacts / "baseline.yaml"),
        "--evidence",
        str(artifacts / "lcov.info"),
        "--format",
        "json",
        "--output",
        str(out),
    )
    text = out.read_text()
    assert str(tmp_path) not in text
    predicate = json.loads(text)["predicate"]
    assert predicate["policy"]["layers"][0]["path"] == "../artifacts/baseline.yaml"
    assert [e["path"] for e in predicate["evidence"] if e["kind"] == "coverage"] == ["../artifacts/lcov.info"]


def test_evidence_named_relative_to_the_working_directory_is_named_from_the_root(
    tmp_path, write, capsys, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    write("repo/infra/good.yaml", GOOD)
    write("art/lcov.info", "TN:\nSF:infra/good.yaml\nDA:1,1\nend_of_record\n")
    out = tmp_path / "report.json"
    run(
        capsys,
        monkeypatch,
        tmp_path,
        "check",
        "repo",
        "--root",
        "repo",
        "--evidence",
        "art/lcov.info",
        "--format",
        "json",
        "--output",
        str(out),
    )
    predicate = json.loads(out.read_text())["predicate"]
    assert [e["path"] for e in predicate["evidence"] if e["kind"] == "coverage"] == ["../art/lcov.info"]


@pytest.mark.parametrize(
    ("name", "text", "where"),
    [
        ("t.json", '{"Resources": {"Bad\\udcffName": {"Type": "AWS::SQS::Queue"}}}', "t.json:1"),
        ("y.yaml", 'Resources:\n  "Q\\udcff":\n    Type: AWS::SQS::Queue\n', "y.yaml:2"),
    ],
)
def test_a_lone_surrogate_escape_is_a_broken_template_not_a_crash(  # type: ignore[no-untyped-def]
    tmp_path, write, capsys, monkeypatch, name: str, text: str, where: str
) -> None:
    write(name, text)
    out = tmp_path / "report.json"
    code, _, err = run(
        capsys, monkeypatch, tmp_path, "check", "--templates-only", "--format", "json", "--output", str(out)
    )
    assert code == 1 and "internal error" not in err
    (tpl001,) = [r for r in json.loads(out.read_text())["predicate"]["results"] if r["rule"] == "TPL001"]
    assert "lone UTF-16 surrogate" in tpl001["findings"][0]["message"]


def test_evidence_with_a_lone_surrogate_is_an_input_error_naming_it(tmp_path, write, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    write("infra/good.yaml", GOOD)
    write("coverage.json", '{"meta": {}, "files": {"bu\\udcffild/app.py": {"executed_lines": [1]}}}')
    code, _, err = run(capsys, monkeypatch, tmp_path, "check", "--format", "json", "--output", str(tmp_path / "r.json"))
    assert code == 2 and "coverage.json:1: an escape stands for half a character" in err


@pytest.mark.parametrize("in_git", [True, False])
def test_a_file_name_that_is_not_utf8_is_an_input_error_naming_it(tmp_path, capsys, monkeypatch, in_git: bool) -> None:  # type: ignore[no-untyped-def]
    import os

    if in_git:
        subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    with open(os.fsencode(tmp_path) + b"/bad\xff.yaml", "w") as handle:
        handle.write(GOOD)
    code, _, err = run(capsys, monkeypatch, tmp_path, "check", "--templates-only")
    assert code == 2 and "bad\\xff.yaml: a file name that is not UTF-8 text" in err
