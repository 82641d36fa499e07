"""IAM016, known privilege-escalation paths: the golden fixtures, the path
data, and each judgment the rule makes (breadth of a resource, conditions,
Denys, what other rules already report)."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
import textwrap
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from checker.discovery import Candidate
from checker.engine import evaluate
from checker.iam import catalogue
from checker.policy import load_policy
from checker.registry import builtin_rules_dir, load_registry
from checker.ruleapi import Finding
from checker.templates import load_template

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "IAM016"
DATA = Path(__file__).resolve().parents[2] / "checker" / "data" / "iam_escalation_paths.json"
REGISTRY = load_registry()

def _rule_module() -> ModuleType:
    file = builtin_rules_dir() / "iam" / "IAM016_privilege_escalation.py"
    spec = importlib.util.spec_from_file_location("iam016_under_test", file)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


RULE = _rule_module()


def _run(fixture: Path, tmp_path: Path, params: str = "") -> list[Finding]:
    policy_file = tmp_path / "policy.yaml"
    setting = f"{{enforce: error, params: {params}}}" if params else "{enforce: error}"
    policy_file.write_text(f"schema_version: 1\nname: t\nversion: '1'\nrules:\n  IAM016: {setting}\n")
    policy = load_policy([policy_file], REGISTRY)
    template = load_template(Candidate(fixture, fixture.name, explicit=True))
    assert template is not None
    (result,) = evaluate([template], REGISTRY, policy).results
    assert result.status != "error", result.errors
    return list(result.findings)


def _paths(statements: str, tmp_path: Path, extra: str = "") -> set[str]:
    """The path ids reported for one managed policy with these statements."""
    text = (
        "Parameters:\n  Prefix: {Type: String}\n  Account: {Type: String}\n"
        "Resources:\n  AppPolicy:\n    Type: AWS::IAM::ManagedPolicy\n"
        "    Properties: {PolicyDocument: {Statement: [{Effect: Allow, Action: s3:GetObject, Resource: '*'}]}}\n"
        "  Holder:\n    Type: AWS::IAM::ManagedPolicy\n    Properties:\n      PolicyDocument:\n"
        "        Statement:\n" + textwrap.indent(textwrap.dedent(statements), " " * 10) + extra
    )
    template = tmp_path / "template.yaml"
    template.write_text(text)
    return {(f.element or "").split(":", 1)[0] for f in _run(template, tmp_path)}


def test_findings_name_the_path_the_target_action_and_its_resource(tmp_path: Path) -> None:
    findings = _run(FIXTURES / "fail.yaml", tmp_path)
    assert {f.element for f in findings} == {
        "iam-attach-role-policy: iam:AttachRolePolicy on arn:aws:iam::${AWS::AccountId}:role/*",
        "passrole-lambda: iam:PassRole on *",
        "iam-create-access-key: iam:CreateAccessKey on arn:aws:iam::123456789012:user/*",
        "passrole-ec2: iam:PassRole on *",
        "lambda-update-function-code: lambda:UpdateFunctionCode on arn:aws:lambda:*:${AWS::AccountId}:function:*",
    }
    (lambda_path,) = [f for f in findings if f.location.resource == "FunctionDeployer"]
    # The message says what the combination achieves, with every action it takes.
    for text in (
        "passrole-lambda",
        "iam:PassRole on '*'",
        "lambda:CreateFunction",
        "lambda:InvokeFunction",
        "any role",
    ):
        assert text in lambda_path.message
    (ec2_path,) = [f for f in findings if f.element and f.element.startswith("passrole-ec2")]
    assert "through 'iam:*'" in ec2_path.message


def test_a_finding_is_located_at_the_statement_that_names_the_target_action(tmp_path: Path) -> None:
    findings = _run(FIXTURES / "fail.yaml", tmp_path)
    located = {
        (f.element or "").split(":", 1)[0]: f.location.line for f in findings if f.location.resource == "Provisioner"
    }
    # PutRolePolicy is granted only through iam:* (IAM002) and iam:Put*Policy
    # (IAM003, with the escalation actions it expands to): theirs, not repeated.
    # PassRole comes through iam:* but ec2:RunInstances is named, so the
    # combination is this rule's, located at the statement granting PassRole.
    assert located == {"passrole-ec2": 72}


def test_allowed_paths_accept_paths_by_id_or_glob(tmp_path: Path) -> None:
    findings = _run(FIXTURES / "fail.yaml", tmp_path, "{allowed_paths: [iam-create-access-key, 'passrole-*']}")
    assert {f.location.resource for f in findings} == {"PlatformRole", "Patcher"}
    assert not any(f.element and f.element.startswith(("passrole-", "iam-create-access-key")) for f in findings)


ALLOW = "- Effect: Allow\n  Action: {action}\n  Resource: {resource}\n"


@pytest.mark.parametrize(
    ("resource", "broad"),
    [
        ('"*"', True),
        ("arn:aws:iam::*:role/*", True),
        ("arn:aws:iam::*:*", True),
        ("arn:aws-us-gov:iam::123456789012:role/*", True),
        ('!Sub "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/*"', True),
        ('!Sub "arn:aws:iam::${Account}:role/*"', True),  # whichever account, all its roles
        ("arn:aws:iam::*:role/service-role/*", False),  # one path
        ("arn:aws:iam::*:role/app-*", False),  # one prefix
        ('!Sub "arn:aws:iam::${AWS::AccountId}:role/${Prefix}*"', False),  # unresolved: never a wildcard
        ("!Ref Prefix", False),
        ("!GetAtt Target.Arn", False),
        ("arn:aws:iam::*:user/*", False),  # every user, but not a role
    ],
)
def test_a_target_action_must_reach_every_resource_of_its_type(resource: str, broad: bool, tmp_path: Path) -> None:
    found = _paths(ALLOW.format(action="iam:AttachRolePolicy", resource=resource), tmp_path)
    assert found == ({"iam-attach-role-policy"} if broad else set())


def test_a_policy_variable_is_the_caller_not_every_user(tmp_path: Path) -> None:
    assert (
        _paths(ALLOW.format(action="iam:CreateAccessKey", resource="arn:aws:iam::*:user/${aws:username}"), tmp_path)
        == set()
    )


@pytest.mark.parametrize(
    ("statements", "expected"),
    [
        # Matched as IAM does: case-insensitive.
        (ALLOW.format(action="IAM:attachROLEpolicy", resource='"*"'), {"iam-attach-role-policy"}),
        # A partial pattern is IAM003's, which names the escalation actions it expands to ...
        (ALLOW.format(action="iam:Attach*", resource="arn:aws:iam::*:group/*"), set()),
        # ... unless an action of the path is named: then the combination is this rule's.
        (
            ALLOW.format(action="[iam:PassRole, ec2:Run*]", resource='"*"'),
            {"passrole-ec2"},
        ),
        # Every action through IAM001's or IAM002's wildcards: theirs, not repeated.
        (ALLOW.format(action="[iam:*, lambda:*]", resource='"*"'), set()),
        # ... but one action named makes the combination this rule's.
        (ALLOW.format(action="[iam:*, lambda:*, lambda:CreateFunction]", resource='"*"'), {"passrole-lambda"}),
        # A holder allowed every action is IAM001's, whatever else it names.
        (ALLOW.format(action='["*", iam:CreateAccessKey]', resource='"*"'), set()),
        # PassRole alone is IAM007's; with a companion missing, no path.
        (ALLOW.format(action="iam:PassRole", resource='"*"'), set()),
        (ALLOW.format(action="[iam:PassRole, lambda:CreateFunction]", resource='"*"'), set()),
        # Either way of running the function.
        (
            ALLOW.format(
                action="[iam:PassRole, lambda:CreateFunction, lambda:CreateEventSourceMapping]", resource='"*"'
            ),
            {"passrole-lambda"},
        ),
        # A trust-policy rewrite needs the assumption too.
        (ALLOW.format(action="iam:UpdateAssumeRolePolicy", resource='"*"'), set()),
        (
            ALLOW.format(action="iam:UpdateAssumeRolePolicy", resource="arn:aws:iam::*:role/*")
            + ALLOW.format(action="sts:AssumeRole", resource="!GetAtt Target.Arn"),
            {"iam-update-assume-role-policy"},
        ),
    ],
)
def test_paths_are_matched_with_iam_semantics(statements: str, expected: set[str], tmp_path: Path) -> None:
    assert _paths(statements, tmp_path) == expected


PASSROLE_LAMBDA = (
    "- Effect: Allow\n  Action: iam:PassRole\n  Resource: '*'\n  Condition: {condition}\n"
    "- Effect: Allow\n  Action: [lambda:CreateFunction, lambda:InvokeFunction, ecs:RegisterTaskDefinition]\n"
    "  Resource: '*'\n"
)
ATTACH = (
    "- Effect: Allow\n  Action: iam:AttachRolePolicy\n  Resource: 'arn:aws:iam::*:role/*'\n  Condition: {condition}\n"
)


@pytest.mark.parametrize(
    ("statements", "expected"),
    [
        # PassedToService closes the paths through other services, not its own.
        (
            PASSROLE_LAMBDA.format(condition="{StringEquals: {iam:PassedToService: lambda.amazonaws.com}}"),
            {"passrole-lambda"},
        ),
        (
            PASSROLE_LAMBDA.format(condition='{StringEquals: {iam:PassedToService: !Sub "lambda.${AWS::URLSuffix}"}}'),
            {"passrole-lambda"},
        ),
        (PASSROLE_LAMBDA.format(condition="{StringLike: {iam:PassedToService: 'lambda*'}}"), {"passrole-lambda"}),
        (PASSROLE_LAMBDA.format(condition="{StringEquals: {iam:PassedToService: ecs-tasks.amazonaws.com}}"), set()),
        # A pattern that pins nothing, or a test that may not apply, restricts nothing.
        (PASSROLE_LAMBDA.format(condition="{StringLike: {iam:PassedToService: '*'}}"), {"passrole-lambda"}),
        (
            PASSROLE_LAMBDA.format(condition="{StringEqualsIfExists: {iam:PassedToService: ecs-tasks.amazonaws.com}}"),
            {"passrole-lambda"},
        ),
        # Conditions the path does not name do not close it.
        (PASSROLE_LAMBDA.format(condition="{Bool: {aws:SecureTransport: 'true'}}"), {"passrole-lambda"}),
        # Only roles with a given tag: the target is fenced.
        (PASSROLE_LAMBDA.format(condition="{StringEquals: {aws:ResourceTag/team: payments}}"), set()),
        # Role changes fenced by a permissions boundary; attaching AdministratorAccess is not fenced.
        (
            ATTACH.format(condition="{StringEquals: {iam:PermissionsBoundary: 'arn:aws:iam::123456789012:policy/b'}}"),
            set(),
        ),
        # A policy of the template is specific; a parameter nobody gives a value could be "*".
        (ATTACH.format(condition="{ArnEquals: {iam:PolicyARN: !Ref AppPolicy}}"), set()),
        (ATTACH.format(condition="{ArnEquals: {iam:PolicyARN: !Ref Prefix}}"), {"iam-attach-role-policy"}),
        (
            ATTACH.format(condition="{ArnEquals: {iam:PolicyARN: 'arn:aws:iam::aws:policy/AdministratorAccess'}}"),
            {"iam-attach-role-policy"},
        ),
    ],
)
def test_conditions_close_a_path_only_when_they_restrict_it(
    statements: str, expected: set[str], tmp_path: Path
) -> None:
    assert _paths(statements, tmp_path) == expected


KEYS = "- Effect: Allow\n  Action: [iam:CreateAccessKey, iam:PassRole, ec2:RunInstances]\n  Resource: '*'\n"


@pytest.mark.parametrize(
    ("deny", "expected"),
    [
        ("- Effect: Deny\n  Action: iam:CreateAccessKey\n  Resource: '*'\n", {"passrole-ec2"}),
        ("- Effect: Deny\n  Action: 'iam:*'\n  Resource: '*'\n", set()),
        ("- Effect: Deny\n  Action: ec2:RunInstances\n  Resource: '*'\n", {"iam-create-access-key"}),
        # On every resource of the target's type: as good as "*".
        ("- Effect: Deny\n  Action: iam:PassRole\n  Resource: 'arn:aws:iam::*:role/*'\n", {"iam-create-access-key"}),
        # Conditioned, or on part of the resources: not judged, the path stays.
        (
            "- Effect: Deny\n  Action: iam:CreateAccessKey\n  Resource: '*'\n"
            "  Condition: {Bool: {aws:MultiFactorAuthPresent: 'false'}}\n",
            {"iam-create-access-key", "passrole-ec2"},
        ),
        (
            "- Effect: Deny\n  Action: iam:CreateAccessKey\n  Resource: 'arn:aws:iam::*:user/admin-*'\n",
            {"iam-create-access-key", "passrole-ec2"},
        ),
    ],
)
def test_an_unconditioned_deny_of_the_holder_takes_a_path_away(deny: str, expected: set[str], tmp_path: Path) -> None:
    assert _paths(KEYS + deny, tmp_path) == expected


def test_a_holder_is_a_role_with_its_policies_and_those_attached_to_it(tmp_path: Path) -> None:
    template = tmp_path / "template.yaml"
    template.write_text(
        textwrap.dedent(
            """\
            Resources:
              Deployer:
                Type: AWS::IAM::Role
                Properties:
                  AssumeRolePolicyDocument:
                    Statement: [{Effect: Allow, Principal: {Service: codebuild.amazonaws.com}, Action: sts:AssumeRole}]
                  Policies:
                    - PolicyName: pass
                      PolicyDocument:
                        Statement: [{Effect: Allow, Action: iam:PassRole, Resource: "*"}]
                    - PolicyName: run
                      PolicyDocument:
                        Statement: [{Effect: Allow, Action: cloudformation:CreateStack, Resource: "*"}]
              Separate:
                Type: AWS::IAM::ManagedPolicy
                Properties:
                  Roles: [!Ref Deployer]
                  PolicyDocument:
                    Statement: [{Effect: Allow, Action: ec2:RunInstances, Resource: "*"}]
            """
        )
    )
    # The role's two inline policies make one path, and the managed policy
    # attached to it (Roles: [!Ref Deployer]) is the role's too: its
    # RunInstances with the role's PassRole is another.
    assert {f.element for f in _run(template, tmp_path)} == {
        "passrole-cloudformation: iam:PassRole on *",
        "passrole-ec2: iam:PassRole on *",
    }


BRANCHES = """\
Conditions:
  IsProd: !Equals [!Ref Env, prod]
Parameters:
  Env: {{Type: String}}
Resources:
  Holder:
    Type: AWS::IAM::ManagedPolicy
    Properties:
      PolicyDocument:
        Statement:
          - !If [IsProd, {{Effect: Allow, Action: iam:PassRole, Resource: "*"}}, !Ref AWS::NoValue]
          - {run_instances}
"""
RUN = '{Effect: Allow, Action: ec2:RunInstances, Resource: "*"}'


@pytest.mark.parametrize(
    ("run_instances", "reported"),
    [
        (f"!If [IsProd, {RUN}, !Ref AWS::NoValue]", True),
        (f"!If [IsProd, !Ref AWS::NoValue, {RUN}]", False),  # only where PassRole is not granted
        (RUN, True),
    ],
)
def test_statements_under_opposite_branches_never_make_a_path(
    run_instances: str, reported: bool, tmp_path: Path
) -> None:
    template = tmp_path / "template.yaml"
    template.write_text(BRANCHES.format(run_instances=run_instances))
    findings = _run(template, tmp_path)
    assert [f.element for f in findings] == (["passrole-ec2: iam:PassRole on *"] if reported else [])
    if reported:
        assert "[when condition IsProd true]" in findings[0].message


# The path data.


def _data() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DATA.read_text(encoding="utf-8"))
    return loaded


def test_every_action_of_every_path_is_in_the_action_catalogue() -> None:
    for path in _data()["paths"]:
        for entry in path["actions"]:
            for action in [entry] if isinstance(entry, str) else entry:
                found = catalogue().lookup(action)
                assert found is not None and found.name == action, (path["id"], action)


def test_the_path_data_is_well_formed() -> None:
    data = _data()
    parsed = RULE.parse(data)
    ids = [p.id for p in parsed.paths]
    assert len(ids) == len(set(ids)) and all(re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", i) for i in ids)
    for path in data["paths"]:
        assert path["name"] and path["achieves"] and path["references"], path["id"]
        assert all(r.startswith("https://") for r in path["references"]), path["id"]
    assert all(s["url"].startswith("https://") for s in data["sources"])
    # Each type's samples are told apart from the others': no type is covered by another's pattern.
    types = parsed.target_types
    assert RULE.covers_type("arn:aws:iam::*:role/*", types["role"])
    assert not RULE.covers_type("arn:aws:iam::*:role/*", types["user"])
    assert not RULE.covers_type("arn:aws:iam::*:role/*", types["any"])
    assert all(RULE.covers_type("*", samples) for samples in types.values())


def test_a_malformed_path_is_refused_by_name() -> None:
    data = _data()
    broken = {**data, "paths": [{**data["paths"][0], "targets": {"iam:PassRole": "role"}}]}
    with pytest.raises(ValueError, match=data["paths"][0]["id"]):
        RULE.parse(broken)


@pytest.mark.parametrize("path", _data()["paths"], ids=lambda p: str(p["id"]))
def test_each_path_is_reported_when_its_actions_are_named_on_every_resource(
    path: dict[str, Any], tmp_path: Path
) -> None:
    actions = [entry if isinstance(entry, str) else entry[0] for entry in path["actions"]]
    found = _paths(ALLOW.format(action=json.dumps(actions), resource='"*"'), tmp_path)
    assert path["id"] in found
