"""Golden tests for the built-in rules: each has a failing and a passing
fixture, and the findings of the failing one are listed by resource and line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from checker.discovery import Candidate, discover
from checker.engine import evaluate
from checker.facts import scope_of
from checker.policy import default_policy_path, load_policy
from checker.registry import load_registry
from checker.templates import load_template

FIXTURES = Path(__file__).resolve().parent / "fixtures"
REGISTRY = load_registry()

EXPECTED_FAILURES: dict[str, set[tuple[str | None, int | None]]] = {
    "TPL001": {(None, 5)},
    "TPL003": {(None, 2), ("Shared", 7), ("Members", 11), ("Auth", 19), ("Bucket", 25)},
    "IAM001": {("AdminRole", 15), ("ListPolicy", 25), ("SingleStatementPolicy", 33)},
    "IAM002": {("Role", 21), ("Handler", 32)},
    "IAM003": {("Deployer", 9), ("Deployer", 14), ("EveryTable", 22)},
    "IAM004": {("Policy", 10), ("BucketPolicy", 19)},
    "IAM005": {("Cleaner", 15)},
    "IAM006": {("Writer", 12), ("Writer", 15), ("Handler", 26), ("Unscoped", 35), ("Unscoped", 40)},
    "IAM007": {("Deployer", 16), ("Deployer", 19)},
    "IAM008": {
        ("QueuePolicy", 11),
        ("Key", 18),
        ("Invoke", 19),
        ("HalfFencedApi", 33),
        ("PublicUrl", 46),
        ("OpenApi", 55),
        ("SharedLayer", 56),
    },
    "IAM009": {("Admin", 19), ("Admin", 20), ("Handler", 28), ("Operators", 36), ("Switched", 45)},
    "IAM010": {("QueuePolicy", 11), ("BucketPolicy", 24)},
    "IAM011": {
        ("OpenRole", 10),
        ("StarRole", 18),
        ("ConditionedOnNothing", 26),
        ("AnyAccount", 37),
        ("AnyAccount", 42),
    },
    "IAM012": {("QueuePolicy", 17), ("BucketPolicy", 29), ("Key", 44)},
    "IAM013": {("Policy", 22), ("Policy", 25), ("Policy", 28), ("Policy", 31), ("Handler", 40), ("Attached", 46)},
    "IAM014": {("Writer", 13), ("Writer", 16), ("QueuePolicy", 27)},
    "IAM015": {("ApiInvoke", 16), ("TopicPolicy", 30), ("QueuePolicy", 42)},
    "IAM016": {
        ("PlatformRole", 20),
        ("FunctionDeployer", 35),
        ("KeyRotation", 53),
        ("Provisioner", 72),
        ("Patcher", 91),
    },
    "NAME001": {("Orders", 7), ("Handler", 13), ("Queue", 20)},
}


def _findings(rule_id: str, fixture: Path, tmp_path: Path) -> set[tuple[str | None, int | None]]:
    policy_file = tmp_path / "policy.yaml"
    policy_file.write_text(f"schema_version: 1\nname: t\nversion: '1'\nrules:\n  {rule_id}: {{enforce: error}}\n")
    policy = load_policy([policy_file], REGISTRY)
    template = load_template(Candidate(fixture, fixture.name, explicit=True))
    assert template is not None
    (result,) = evaluate([template], REGISTRY, policy).results
    assert result.status != "error", result.errors
    return {(f.location.resource, f.location.line) for f in result.findings}


def test_every_builtin_template_rule_has_golden_fixtures() -> None:
    # Repository rules (coverage, scans, repository files) read evidence, not
    # templates: their cases are in repository_rules_test.py.
    template_rules = {r for r, rule in REGISTRY.items() if scope_of(rule.meta.views) == "template"}
    assert set(EXPECTED_FAILURES) == template_rules
    for rule_id in template_rules:
        assert (FIXTURES / rule_id / "fail.yaml").is_file(), rule_id
        assert (FIXTURES / rule_id / "pass.yaml").is_file(), rule_id


@pytest.mark.parametrize("rule_id", sorted(EXPECTED_FAILURES))
def test_failing_fixture_gives_exactly_the_expected_findings(rule_id: str, tmp_path: Path) -> None:
    assert _findings(rule_id, FIXTURES / rule_id / "fail.yaml", tmp_path) == EXPECTED_FAILURES[rule_id]


@pytest.mark.parametrize("rule_id", sorted(EXPECTED_FAILURES))
def test_passing_fixture_gives_no_findings(rule_id: str, tmp_path: Path) -> None:
    assert _findings(rule_id, FIXTURES / rule_id / "pass.yaml", tmp_path) == set()


def test_findings_name_the_offending_element(tmp_path: Path) -> None:
    policy_file = tmp_path / "policy.yaml"
    policy_file.write_text("schema_version: 1\nname: t\nversion: '1'\nrules:\n  IAM006: {}\n")
    fixture = FIXTURES / "IAM006" / "fail.yaml"
    template = load_template(Candidate(fixture, "fail.yaml", explicit=True))
    assert template is not None
    (result,) = evaluate([template], REGISTRY, load_policy([policy_file], REGISTRY)).results
    assert {f.element for f in result.findings} == {
        "dynamodb:PutItem on *",
        "logs:CreateLogStream on *",
        "sqs:Send* on *",
        "sns:Publish on *",
        "iam:CreateServiceLinkedRole on *",
        "ec2:StopInstances on *",
    }


def test_allow_lists_accept_what_the_organization_accepts(tmp_path: Path) -> None:
    policy_file = tmp_path / "policy.yaml"
    policy_file.write_text(
        "schema_version: 1\nname: t\nversion: '1'\nrules:\n"
        "  IAM006: {params: {allowed_actions: ['logs:*', sqs:SendMessage]}}\n"
        "  IAM002: {params: {allowed_services: [s3]}}\n"
    )
    policy = load_policy([policy_file], REGISTRY)
    found = {}
    for rule_id in ("IAM006", "IAM002"):
        fixture = FIXTURES / rule_id / "fail.yaml"
        template = load_template(Candidate(fixture, "fail.yaml", explicit=True))
        assert template is not None
        results = {r.meta.id: r for r in evaluate([template], REGISTRY, policy).results}
        found[rule_id] = {f.element for f in results[rule_id].findings}
    # Waiving logs:* on "*" leaves dynamodb:PutItem and sns:Publish reported.
    assert found["IAM006"] == {
        "dynamodb:PutItem on *",
        "sns:Publish on *",
        "iam:CreateServiceLinkedRole on *",
        "ec2:StopInstances on *",
    }
    assert found["IAM002"] == {"dynamodb:*"}


def test_rule_ids_are_unique_and_documented() -> None:
    for rule in REGISTRY.values():
        meta = rule.meta
        assert meta.rationale and meta.remediation and meta.example_fail and meta.example_pass, meta.id


def test_name001_properties_param_narrows_the_check(tmp_path: Path) -> None:
    policy_file = tmp_path / "policy.yaml"
    policy_file.write_text(
        "schema_version: 1\nname: t\nversion: '1'\nrules:\n  NAME001: {params: {properties: [QueueName]}}\n"
    )
    policy = load_policy([policy_file], REGISTRY)
    fixture = FIXTURES / "NAME001" / "fail.yaml"
    template = load_template(Candidate(fixture, "fail.yaml", explicit=True))
    assert template is not None
    (result,) = evaluate([template], REGISTRY, policy).results
    assert {f.location.resource for f in result.findings} == {"Queue"}


SERVERLESS_OUTPUT = {
    "Resources": {
        "HelloLambdaFunction": {
            "Type": "AWS::Lambda::Function",
            "Properties": {"FunctionName": "orders-dev-hello", "Handler": "h.main", "Runtime": "python3.12"},
        },
        "HelloLogGroup": {
            "Type": "AWS::Logs::LogGroup",
            "Properties": {"LogGroupName": "/aws/lambda/orders-dev-hello"},
        },
        "OrdersTable": {"Type": "AWS::DynamoDB::Table", "Properties": {"TableName": "orders"}},
        "ProdTable": {"Type": "AWS::DynamoDB::Table", "Properties": {"TableName": "orders-development"}},
    }
}


DEV = {"service": {"service": "orders", "provider": {"stage": "dev"}}}
EVERY_NAME = {"HelloLambdaFunction", "HelloLogGroup", "OrdersTable", "ProdTable"}


@pytest.mark.parametrize(
    ("state", "config", "flagged"),
    [
        (DEV, "service: orders\n", {"OrdersTable", "ProdTable"}),
        (None, "service: orders\n", EVERY_NAME),
        (DEV, None, EVERY_NAME),  # no configuration says which service this is
        (DEV, "service: payments\n", EVERY_NAME),  # a state file for another service
        # --stage prod: the artifact folder says prod whatever the configured default
        (
            {**DEV, "package": {"artifactDirectoryName": "serverless/orders/prod/1700000000"}},
            "service: orders\n",
            EVERY_NAME,
        ),
    ],
)
def test_name001_names_the_serverless_framework_derives_from_the_stage_are_not_fixed(
    tmp_path: Path, state: dict[str, Any] | None, config: str | None, flagged: set[str]
) -> None:
    import json

    output = tmp_path / ".serverless"
    output.mkdir()
    (output / "cloudformation-template-update-stack.json").write_text(json.dumps(SERVERLESS_OUTPUT))
    if state is not None:
        (output / "serverless-state.json").write_text(json.dumps(state))
    if config is not None:
        (tmp_path / "serverless.yml").write_text(config + "provider: {name: aws}\n")
    policy = load_policy([default_policy_path()], REGISTRY)
    found = discover([tmp_path], tmp_path)
    templates = [t for t in (load_template(c) for c in found.candidates) if t is not None]
    (result,) = [r for r in evaluate(templates, REGISTRY, policy).results if r.meta.id == "NAME001"]
    assert {f.location.resource for f in result.findings} == flagged


def test_name001_a_committed_state_file_is_hand_made_not_build_output(tmp_path: Path) -> None:
    import json
    import subprocess

    (tmp_path / ".serverless").mkdir()
    (tmp_path / ".serverless" / "cloudformation-template-update-stack.json").write_text(json.dumps(SERVERLESS_OUTPUT))
    (tmp_path / ".serverless" / "serverless-state.json").write_text(json.dumps(DEV))
    (tmp_path / "serverless.yml").write_text("service: orders\n")
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    subprocess.run(["git", "-C", str(tmp_path), "add", "."], check=True)
    subprocess.run(
        ["git", "-C", str(tmp_path), "-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-qm", "i"],
        check=True,
    )
    found = discover([tmp_path], tmp_path)
    assert [c.stack for c in found.candidates if c.relpath.endswith("stack.json")] == [None]


_PUBLIC_BUCKET = """\
Resources:
  Bucket:
    Type: AWS::S3::Bucket
  Policy:
    Type: AWS::S3::BucketPolicy
    Properties:
      Bucket: !Ref Bucket
      PolicyDocument:
        Statement:
          - Effect: Allow
            Principal: "*"
            Action: s3:GetObject
            Resource: arn:aws:s3:::b/*
{allow_condition}{deny}"""
_DENY = """\
          - Effect: Deny
            Principal: "*"
            Action: s3:*
            Resource: {resource}
            Condition: {condition}
"""


@pytest.mark.parametrize(
    ("allow_condition", "deny", "public"),
    [
        ("", "", True),
        ("            Condition: {StringEquals: {aws:PrincipalOrgID: o-a1b2c3d4e5}}\n", "", False),
        ("            Condition: {StringEqualsIfExists: {aws:PrincipalOrgID: o-a1b2c3d4e5}}\n", "", True),
        ("            Condition: {IpAddress: {aws:SourceIp: 0.0.0.0/0}}\n", "", True),
        ("            Condition: {StringLike: {aws:PrincipalAccount: '*'}}\n", "", True),
        ("            Condition: {'Null': {aws:SourceVpce: 'true'}}\n", "", True),
        ("            Condition: {StringNotEquals: {aws:SourceVpce: vpce-0abc}}\n", "", True),
        (
            "",
            _DENY.format(resource="arn:aws:s3:::b/*", condition="{StringNotEquals: {aws:SourceVpce: vpce-0abc}}"),
            False,
        ),
        ("", _DENY.format(resource="'*'", condition="{NotIpAddress: {aws:SourceIp: [0.0.0.0/0, '::/0']}}"), True),
        ("", _DENY.format(resource="'*'", condition="{StringNotLike: {aws:PrincipalOrgID: o-*}}"), True),
        (
            "",
            _DENY.format(resource="'*'", condition="{ForAnyValue:StringNotEquals: {aws:SourceVpce: vpce-0abc}}"),
            True,
        ),
        (
            "",
            _DENY.format(
                resource="'*'",
                condition="{StringNotEquals: {aws:SourceVpce: vpce-0abc}, StringEquals: {aws:username: nobody}}",
            ),
            True,
        ),
        (
            "",
            _DENY.format(resource="arn:aws:s3:::other/*", condition="{StringNotEquals: {aws:SourceVpce: vpce-0abc}}"),
            True,
        ),
    ],
)
def test_iam008_conditions_count_by_what_they_restrict(
    tmp_path: Path, allow_condition: str, deny: str, public: bool
) -> None:
    fixture = tmp_path / "t.yaml"
    fixture.write_text(_PUBLIC_BUCKET.format(allow_condition=allow_condition, deny=deny))
    assert bool(_findings("IAM008", fixture, tmp_path)) == public


def test_every_builtin_iam_rule_says_which_policies_it_judges() -> None:
    iam = [rule.meta for rule in REGISTRY.values() if "iam" in rule.meta.tags]
    assert len(iam) >= 16
    assert [m.id for m in iam if len(m.judges) < 40] == []
