"""Every output format, from one real run with a failing rule, a waived
finding and a warning."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from checker.cli import main

SHARED = Path(__file__).resolve().parents[3] / "shared"
APP = """\
AWSTemplateFormatVersion: "2010-09-09"
Resources:
  Worker:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Statement:
          - {Effect: Allow, Principal: {Service: lambda.amazonaws.com}, Action: sts:AssumeRole}
      Policies:
        - PolicyName: worker
          PolicyDocument:
            Statement:
              - Effect: Allow
                Action: [logs:PutLogEvents, s3:PutObject]
                Resource: "*"
  Logs:
    Type: AWS::Logs::LogGroup
    Properties:
      LogGroupName: "<script>alert(1)</script>"
"""
POLICY = """\
schema_version: 1
name: org
version: "1"
rules:
  IAM006: {enforce: error}
  NAME001: {enforce: warn}
  TPL001: {}
waivers:
  - rule: IAM006
    scope: {resource: Worker, element: "logs:PutLogEvents on *"}
    reason: log groups are created at run time
    ticket: SEC-1
    approved_by: security@example.com
    expires: 2099-01-01
"""


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("formats")
    (root / "infra").mkdir()
    (root / "infra" / "app.yaml").write_text(APP)
    (root / "infra" / "broken.yaml").write_text("AWSTemplateFormatVersion: '2010-09-09'\nResources: [\n")
    (root / "policy.yaml").write_text(POLICY.replace("2099-01-01", "2026-12-31"))
    args = ["check", "infra", "--root", str(root), "--policy", str(root / "policy.yaml")]
    formats = ["json", "sarif", "junit", "markdown", "html"]
    for fmt in formats:
        args += ["--format", fmt, "--output", str(root / f"out.{fmt}")]
    import os

    cwd = os.getcwd()
    os.chdir(root)
    try:
        # One run writes every format: each --format pairs with its --output.
        assert main([*args, "--format", "text"]) == 1
    finally:
        os.chdir(cwd)
    return {fmt: (root / f"out.{fmt}").read_text() for fmt in formats} | {"dir": str(root)}


def test_sarif_is_valid_against_the_official_schema(outputs: dict[str, str]) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema_file = SHARED / "schemas" / "sarif-schema-2.1.0.json"
    if not schema_file.is_file():
        pytest.skip("../shared/schemas/sarif-schema-2.1.0.json is not present")
    sarif = json.loads(outputs["sarif"])
    jsonschema.validate(sarif, json.loads(schema_file.read_text()))


def test_sarif_content_for_code_scanning(outputs: dict[str, str]) -> None:
    (run,) = json.loads(outputs["sarif"])["runs"]
    rules = {r["id"]: r for r in run["tool"]["driver"]["rules"]}
    assert rules["IAM006"]["defaultConfiguration"]["level"] == "error"
    assert rules["NAME001"]["defaultConfiguration"]["level"] == "warning"
    assert "How to fix" in rules["IAM006"]["help"]["text"]
    prints = [r["partialFingerprints"]["checkerFinding/v1"] for r in run["results"]]
    assert len(set(prints)) == len(prints)  # no two findings are merged into one alert
    by_element = {r.get("properties", {}).get("element"): r for r in run["results"]}
    waived = by_element["logs:PutLogEvents on *"]
    assert waived["suppressions"][0]["status"] == "accepted"
    assert waived["suppressions"][0]["justification"] == "log groups are created at run time"
    open_one = by_element["s3:PutObject on *"]
    assert "suppressions" not in open_one
    location = open_one["locations"][0]["physicalLocation"]
    assert location["artifactLocation"] == {"uri": "infra/app.yaml", "uriBaseId": "%SRCROOT%"}
    assert location["region"] == {"startLine": 14}
    assert any(r["ruleId"] == "TPL001" and r["level"] == "error" for r in run["results"])


def test_junit_has_a_case_per_rule_and_per_finding(outputs: dict[str, str]) -> None:
    root = ET.fromstring(outputs["junit"])
    suites = {s.get("name", "").split()[0]: s for s in root.iter("testsuite")}
    iam = suites["IAM006"]
    cases = {c.get("name"): c for c in iam.iter("testcase")}
    assert cases["IAM006"].find("failure") is not None
    assert (
        cases["infra/app.yaml:14 Worker"].find("failure") is not None
        or cases["infra/app.yaml:14 Worker"].find("skipped") is not None
    )
    failures = [c for c in iam.iter("testcase") if c.find("failure") is not None]
    skipped = [c for c in iam.iter("testcase") if c.find("skipped") is not None]
    assert len(failures) == 2 and len(skipped) == 1  # the rule, its open finding; the waived one
    assert "waived by" in (skipped[0].find("skipped").get("message") or "")  # type: ignore[union-attr]
    assert root.get("failures") == str(sum(int(s.get("failures", 0)) for s in suites.values()))
    # A warning shows without failing a build that reads only JUnit.
    assert suites["NAME001"].get("failures") == "0" and suites["NAME001"].get("skipped") == "2"


def test_markdown_leads_with_the_verdict_and_folds_details(outputs: dict[str, str]) -> None:
    text = outputs["markdown"]
    assert text.startswith("## ❌ checker: FAIL")
    assert "| IAM006 | FAIL | medium | 1 (+1 waived) |" in text
    assert "<details><summary><b>FAIL IAM006</b>" in text
    assert "| applied | IAM006 | security@example.com |" in text


def test_html_is_self_contained_and_escapes_input(outputs: dict[str, str]) -> None:
    page = outputs["html"]
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "http://" not in page and "https://" not in page.replace("https://in-toto.io", "")
    assert "Content-Security-Policy" in page and 'class="verdict fail"' in page


@pytest.mark.skipif(shutil.which("chromium") is None, reason="needs Debian's chromium")
def test_html_in_headless_chromium_no_console_errors_no_requests(outputs: dict[str, str], chromium) -> None:  # type: ignore[no-untyped-def]
    # The harness itself catches a page that logs and fetches.
    bad = Path(outputs["dir"]) / "bad.html"
    bad.write_text('<img src="http://example.invalid/x.png"><script>console.error("boom")</script>')
    stderr, requests, _ = chromium(bad)
    assert ":CONSOLE" in stderr and requests == ["http://example.invalid/x.png"]

    stderr, requests, shot = chromium(Path(outputs["dir"]) / "out.html")
    assert ":CONSOLE" not in stderr
    assert requests == []
    assert shot.stat().st_size > 10_000 and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_every_output_format_is_offered_by_check() -> None:
    from checker.cli import build_parser
    from checker.render import OutputFormat

    check = build_parser()._subparsers._group_actions[0].choices["check"]  # type: ignore[union-attr]
    (fmt,) = [a for a in check._actions if a.dest == "format"]
    assert set(fmt.choices or ()) == {f.value for f in OutputFormat} | {"dsse"}
