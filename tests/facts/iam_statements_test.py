from __future__ import annotations

import json
from pathlib import Path

import pytest

from checker.discovery import Candidate
from checker.errors import InputError
from checker.facts import TemplateFacts
from checker.templates import load_template

TEMPLATE = """\
AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  Svc:
    Type: String
    Default: iam
Resources:
  Role:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Statement:
          - Effect: Allow
            Principal: {Service: [lambda.amazonaws.com]}
            Action: sts:AssumeRole
      Policies:
        - PolicyName: a
          PolicyDocument:
            Statement:
              Effect: Allow
              Action: !Sub "${Svc}:*"
              Resource: "*"
        - PolicyName: b
          PolicyDocument:
            Statement:
              - Effect: Deny
                NotAction: [S3:GetObject]
                NotResource: !GetAtt Bucket.Arn
  Bucket:
    Type: AWS::S3::Bucket
  BucketPolicy:
    Type: AWS::S3::BucketPolicy
    Properties:
      Bucket: !Ref Bucket
      PolicyDocument:
        Statement:
          - Effect: Allow
            Principal: "*"
            Action: s3:GetObject
            Resource: !Sub "${Bucket.Arn}/*"
            Condition: {StringEquals: {aws:PrincipalOrgID: o-123}}
  Repo:
    Type: AWS::ECR::Repository
    Properties:
      RepositoryPolicyText: '{"Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "ecr:*"}]}'
"""


@pytest.fixture
def statements(tmp_path: Path) -> list[dict[str, object]]:
    path = tmp_path / "t.yaml"
    path.write_text(TEMPLATE)
    template = load_template(Candidate(path, "t.yaml", explicit=True))
    assert template is not None and template.error is None
    return [dict(r) for r in TemplateFacts(template).view("iam_statements")]


def _pick(statements, resource: str, path_part: str):  # type: ignore[no-untyped-def]
    (record,) = [s for s in statements if s["resource"] == resource and path_part in s["path"]]
    return record


def test_every_statement_of_every_source_is_one_record(statements) -> None:  # type: ignore[no-untyped-def]
    assert sorted((s["resource"], s["policy_kind"]) for s in statements) == [
        ("BucketPolicy", "resource"),
        ("Repo", "resource"),
        ("Role", "identity"),
        ("Role", "identity"),
        ("Role", "trust"),
    ]


def test_single_statement_and_sub_resolved_through_a_parameter_default(statements) -> None:  # type: ignore[no-untyped-def]
    record = _pick(statements, "Role", "Policies[0]")
    assert record["actions"] == ["iam:*"]
    assert record["resources"] == ["*"]
    assert record["path"] == "Properties.Policies[0].PolicyDocument.Statement"
    assert record["line"] == 19 and record["action_line"] == 20


def test_not_fields_and_unresolvable_values(statements) -> None:  # type: ignore[no-untyped-def]
    record = _pick(statements, "Role", "Policies[1]")
    assert record["effect"] == "Deny"
    assert record["actions"] == [] and record["not_actions"] == ["S3:GetObject"]
    assert record["not_resources"] == ['<unresolved {"Fn::GetAtt":["Bucket","Arn"]}>']


def test_principals_and_conditions(statements) -> None:  # type: ignore[no-untyped-def]
    trust = _pick(statements, "Role", "AssumeRolePolicyDocument")
    assert trust["principals"] == ["Service:lambda.amazonaws.com"]
    bucket = _pick(statements, "BucketPolicy", "PolicyDocument")
    assert bucket["principals"] == ["*"]
    assert bucket["condition"] == {"StringEquals": {"aws:PrincipalOrgID": ["o-123"]}}


def test_policy_given_as_a_json_string(statements) -> None:  # type: ignore[no-untyped-def]
    record = _pick(statements, "Repo", "RepositoryPolicyText")
    assert record["principals"] == ["AWS:*"] and record["actions"] == ["ecr:*"]
    assert record["line"] == 44


SAM = """\
Transform: AWS::Serverless-2016-10-31
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: app.handler
      CodeUri: src/
      Policies:
        - AWSLambdaBasicExecutionRole
        - DynamoDBCrudPolicy:
            TableName: !Ref Table
        - NoSuchPolicyTemplate: {}
        - Statement:
            - Effect: Allow
              Action: s3:GetObject
              Resource: "*"
  Machine:
    Type: AWS::Serverless::StateMachine
    Properties:
      Policies: !Sub "arn:${AWS::Partition}:iam::aws:policy/AdministratorAccess"
  Table:
    Type: AWS::DynamoDB::Table
  Bus:
    Type: AWS::Events::EventBusPolicy
    Properties:
      StatementId: legacy
      Action: events:PutEvents
      Principal: "*"
      Condition: {Type: StringEquals, Key: aws:PrincipalOrgID, Value: o-123}
"""


def _views(tmp_path: Path, text: str):  # type: ignore[no-untyped-def]
    path = tmp_path / "sam.yaml"
    path.write_text(text)
    template = load_template(Candidate(path, "sam.yaml", explicit=True))
    assert template is not None and template.error is None
    facts = TemplateFacts(template)
    return facts.view("iam_statements"), facts.view("iam_managed_policies")


def test_sam_policies_without_the_transform(tmp_path: Path) -> None:
    statements, managed = _views(tmp_path, SAM)
    by_origin = {s["origin"]: s for s in statements if s["resource"] == "Fn"}
    crud = by_origin["sam-template:DynamoDBCrudPolicy"]
    assert "dynamodb:PutItem" in crud["actions"] and crud["policy_kind"] == "identity"
    assert crud["resources"][0].startswith("<unresolved arn:aws:dynamodb:")
    assert by_origin["sam-template"]["actions"] == ["<unresolved SAM policy template NoSuchPolicyTemplate>"]
    assert by_origin["sam-inline"]["actions"] == ["s3:GetObject"]
    assert by_origin["sam-inline"]["path"] == "Properties.Policies[3].Statement[0]"
    assert sorted((m["resource"], m["name"], m["aws_managed"]) for m in managed) == [
        ("Fn", "AWSLambdaBasicExecutionRole", True),
        ("Machine", "AdministratorAccess", True),
    ]


def test_legacy_event_bus_policy_becomes_a_statement(tmp_path: Path) -> None:
    statements, _ = _views(tmp_path, SAM)
    (bus,) = [s for s in statements if s["resource"] == "Bus"]
    assert bus["principals"] == ["AWS:*"] and bus["actions"] == ["events:PutEvents"]
    assert bus["condition"] == {"StringEquals": {"aws:PrincipalOrgID": ["o-123"]}}


def test_an_empty_policy_string_is_no_policy_not_an_error(tmp_path: Path) -> None:
    # What `serverless package` writes on every RestApi: "Policy": "".
    from checker.engine import evaluate
    from checker.policy import default_policy_path, load_policy
    from checker.registry import load_registry

    registry = load_registry()
    path = tmp_path / "cloudformation-template-update-stack.json"
    path.write_text(
        '{"AWSTemplateFormatVersion": "2010-09-09", "Resources": {"ApiGatewayRestApi": '
        '{"Type": "AWS::ApiGateway::RestApi", "Properties": {"Name": "dev-svc", "Policy": ""}}}}'
    )
    template = load_template(Candidate(path, path.name, explicit=True))
    assert template is not None and template.error is None
    policy = load_policy([default_policy_path()], registry)
    results = {r.meta.id: r.status for r in evaluate([template], registry, policy).results}
    assert "error" not in results.values(), results


_CONDITIONAL = """\
Conditions:
  Never: !Equals [a, b]
  Always: !Equals [a, a]
Resources:
  EffectIf:
    Type: AWS::IAM::ManagedPolicy
    Properties:
      PolicyDocument:
        Statement:
          - {Effect: !If [Never, Deny, Allow], Action: "*", Resource: "*"}
  StatementIf:
    Type: AWS::IAM::ManagedPolicy
    Properties:
      PolicyDocument:
        Statement:
          - !If [Always, {Effect: Allow, Action: "*", Resource: "*"}, !Ref AWS::NoValue]
  ListIf:
    Type: AWS::IAM::ManagedPolicy
    Properties:
      PolicyDocument:
        Statement: !If [Always, [{Effect: Allow, Action: "*", Resource: "*"}], []]
  DocumentIf:
    Type: AWS::IAM::ManagedPolicy
    Properties:
      PolicyDocument: !If [Always, {Statement: [{Effect: Allow, Action: "*", Resource: "*"}]}, !Ref AWS::NoValue]
  RoleIf:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Statement: [{Effect: Allow, Principal: {Service: lambda.amazonaws.com}, Action: sts:AssumeRole}]
      Policies:
        - !If
          - Always
          - {PolicyName: p, PolicyDocument: {Statement: [{Effect: Allow, Action: "*", Resource: "*"}]}}
          - !Ref AWS::NoValue
  FunctionIf:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: app.handler
      CodeUri: src/
      Policies:
        - !If [Always, {Statement: [{Effect: Allow, Action: "*", Resource: "*"}]}, !Ref AWS::NoValue]
  SubJson:
    Type: AWS::IAM::ManagedPolicy
    Properties:
      PolicyDocument: !Sub >-
        {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "arn:${AWS::Partition}:s3:::b"}]}
"""


def test_every_form_an_intrinsic_gives_a_policy_is_read(tmp_path: Path) -> None:
    statements, _ = _views(tmp_path, _CONDITIONAL)
    allowing_all = {r["resource"] for r in statements if r["effect"] == "Allow" and r["all_actions"]}
    assert allowing_all == {"EffectIf", "StatementIf", "ListIf", "DocumentIf", "RoleIf", "FunctionIf", "SubJson"}


def test_conditions_nested_past_the_cap_are_an_error_never_a_clean_policy(tmp_path: Path) -> None:
    statement: object = {"Effect": "Allow", "Action": "*", "Resource": "*"}
    for i in range(12):
        statement = {"Fn::If": [f"C{i}", statement, {"Ref": "AWS::NoValue"}]}
    template = {
        "Resources": {
            "Policy": {
                "Type": "AWS::IAM::ManagedPolicy",
                "Properties": {"PolicyDocument": {"Statement": [statement]}},
            }
        }
    }
    path = tmp_path / "t.json"
    path.write_text(json.dumps(template))
    loaded = load_template(Candidate(path, "t.json", explicit=True))
    assert loaded is not None
    with pytest.raises(InputError) as caught:
        TemplateFacts(loaded).view("iam_statements")
    assert "Fn::If nested more than 10 deep" in caught.value.message and caught.value.path == "t.json"
