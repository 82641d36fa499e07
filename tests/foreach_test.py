"""Fn::ForEach: the resources a loop generates are judged as deployed."""

from __future__ import annotations

from pathlib import Path

from checker.discovery import Candidate
from checker.facts import TemplateFacts
from checker.templates import load_template

LOOPS = """\
Transform: AWS::LanguageExtensions
Parameters:
  Services:
    Type: CommaDelimitedList
    Default: "s3,sqs"
  Names:
    Type: CommaDelimitedList
Resources:
  Fn::ForEach::Roles:
    - Svc
    - !Ref Services
    - "&{Svc}Role":
        Type: AWS::IAM::ManagedPolicy
        Properties:
          PolicyDocument:
            Statement:
              - Effect: Allow
                Action: !Sub "${Svc}:*"
                Resource: "*"
  Fn::ForEach::Outer:
    - Env
    - [dev, prod]
    - Fn::ForEach::Inner:
        - Tier
        - [a, b]
        - "Queue${Env}${Tier}":
            Type: AWS::SQS::Queue
  Fn::ForEach::Unlisted:
    - Name
    - !Ref Names
    - "Policy${Name}":
        Type: AWS::IAM::ManagedPolicy
        Properties:
          PolicyDocument:
            Statement:
              - {Effect: Allow, Action: !Ref Name, Resource: "*"}
"""


def _load(tmp_path: Path, text: str, explicit: bool = False):  # type: ignore[no-untyped-def]
    path = tmp_path / "t.yaml"
    path.write_text(text)
    return load_template(Candidate(path, "t.yaml", explicit=explicit))


def test_each_value_of_the_collection_generates_its_resource_with_its_lines(tmp_path: Path) -> None:
    template = _load(tmp_path, LOOPS)
    assert template is not None and template.error is None
    records = TemplateFacts(template).view("iam_statements")
    by_resource = {r["resource"]: r for r in records}
    assert by_resource["s3Role"]["actions"] == ["s3:*"] and by_resource["sqsRole"]["actions"] == ["sqs:*"]
    assert by_resource["s3Role"]["line"] == 17


def test_nested_loops_multiply(tmp_path: Path) -> None:
    template = _load(tmp_path, LOOPS)
    assert template is not None
    queues = [k for k, v in template.resources.items() if v.get("Type") == "AWS::SQS::Queue"]
    assert queues == ["Queuedeva", "Queuedevb", "Queueproda", "Queueprodb"]


def test_a_collection_nobody_can_list_still_generates_its_resource_unresolved(tmp_path: Path) -> None:
    template = _load(tmp_path, LOOPS)
    assert template is not None
    records = TemplateFacts(template).view("iam_statements")
    (unlisted,) = [r for r in records if r["resource"].startswith("Policy${Name}")]
    assert unlisted["unresolved"] == {"actions": ['<unresolved {"Ref":"Name"}>']}


def test_a_file_of_loops_only_is_still_a_template(tmp_path: Path) -> None:
    only = LOOPS.split("  Fn::ForEach::Outer")[0]
    template = _load(tmp_path, only)
    assert template is not None and set(template.resources) == {"s3Role", "sqsRole"}


def test_a_loop_that_generates_too_much_is_an_input_error(tmp_path: Path) -> None:
    values = ", ".join(f"v{i}" for i in range(50))
    text = (
        "Transform: AWS::LanguageExtensions\nResources:\n"
        f"  Fn::ForEach::A:\n    - X\n    - [{values}]\n"
        f"    - Fn::ForEach::B:\n        - Y\n        - [{values}]\n"
        '        - "Q${X}${Y}":\n            Type: AWS::SQS::Queue\n'
    )
    template = _load(tmp_path, text)
    assert template is not None and template.error is not None
    assert template.error.message.startswith("Fn::ForEach::B generates more than 2000 resources")
    assert template.error.line == 6


def test_a_malformed_loop_is_an_input_error_naming_it(tmp_path: Path) -> None:
    text = "Transform: AWS::LanguageExtensions\nResources:\n  Fn::ForEach::Bad: [X]\n  Q: {Type: AWS::SQS::Queue}\n"
    template = _load(tmp_path, text)
    assert template is not None and template.error is not None
    assert template.error.field == "Fn::ForEach::Bad" and template.error.line == 3


def test_a_collection_takes_the_values_the_parameter_files_give(tmp_path: Path) -> None:
    from checker.facts.deployment_parameters import DeploymentParameters, ParameterFile, ParameterSet

    text = (
        "Transform: AWS::LanguageExtensions\nParameters:\n  Acts: {Type: CommaDelimitedList, Default: s3:GetObject}\n"
        "Resources:\n  Fn::ForEach::P:\n    - A\n    - !Ref Acts\n    - 'Policy&{A}':\n"
        "        Type: AWS::IAM::ManagedPolicy\n        Properties:\n          PolicyDocument:\n"
        "            Statement: [{Effect: Allow, Action: !Ref A, Resource: '*'}]\n"
    )
    path = tmp_path / "t.yaml"
    path.write_text(text)
    prod = ParameterSet("samconfig.toml [prod.deploy]", (("Acts", "*"),))
    parameters = DeploymentParameters((ParameterFile("samconfig.toml", "0" * 64, "samconfig", (prod,)),))
    template = load_template(Candidate(path, "t.yaml"), parameters=parameters)
    assert template is not None
    actions = {r["resource"]: r["actions"] for r in TemplateFacts(template).view("iam_statements")}
    assert actions == {"Policys3GetObject": ["s3:GetObject"], "Policy": ["*"]}


def test_a_loop_generating_a_name_twice_is_an_input_error(tmp_path: Path) -> None:
    text = (
        "Transform: AWS::LanguageExtensions\nResources:\n"
        "  Fn::ForEach::A:\n    - X\n    - [one, two]\n"
        '    - "Policy":\n        Type: AWS::IAM::ManagedPolicy\n'
        "        Properties: {PolicyDocument: {Statement: [{Effect: Allow, Action: '*', Resource: '*'}]}}\n"
    )
    template = _load(tmp_path, text)
    assert template is not None and template.error is not None
    assert "resource Policy is defined twice" in template.error.message
