from __future__ import annotations

import pytest

from checker.errors import InputError
from checker.loaders import LineDict, LineList, line_of, load_text

TEMPLATE = """\
AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  Env:
    Type: String
    Default: dev
Resources:
  Bucket:
    Type: AWS::S3::Bucket
    Properties:
      BucketName: !Sub "${AWS::StackName}-data"
      Tags:
        - Key: env
          Value: !Ref Env
  Policy:
    Type: AWS::IAM::ManagedPolicy
    Properties:
      PolicyDocument:
        Version: 2012-10-17
        Statement:
          - Effect: Allow
            Action: s3:GetObject
            Resource: !Join ["", [!GetAtt Bucket.Arn, "/*"]]
            Condition: !If [IsProd, {Bool: {aws:SecureTransport: true}}, !Ref AWS::NoValue]
"""


def test_short_form_tags_become_long_form() -> None:
    data = load_text(TEMPLATE, "t.yaml")
    bucket = data["Resources"]["Bucket"]["Properties"]
    assert bucket["BucketName"] == {"Fn::Sub": "${AWS::StackName}-data"}
    assert bucket["Tags"][0]["Value"] == {"Ref": "Env"}
    statement = data["Resources"]["Policy"]["Properties"]["PolicyDocument"]["Statement"][0]
    assert statement["Resource"] == {"Fn::Join": ["", [{"Fn::GetAtt": ["Bucket", "Arn"]}, "/*"]]}
    assert statement["Condition"]["Fn::If"][0] == "IsProd"
    assert statement["Condition"]["Fn::If"][2] == {"Ref": "AWS::NoValue"}


def test_every_key_and_item_has_its_line() -> None:
    data = load_text(TEMPLATE, "t.yaml")
    resources = data["Resources"]
    assert isinstance(resources, LineDict)
    assert line_of(resources, "Bucket") == 7
    assert line_of(resources["Bucket"]["Properties"], "BucketName") == 10
    statements = resources["Policy"]["Properties"]["PolicyDocument"]["Statement"]
    assert isinstance(statements, LineList)
    assert line_of(statements, 0) == 20
    assert line_of(statements[0], "Action") == 21


def test_unquoted_dates_stay_strings_as_cloudformation_reads_them() -> None:
    data = load_text(TEMPLATE, "t.yaml")
    assert data["Resources"]["Policy"]["Properties"]["PolicyDocument"]["Version"] == "2012-10-17"


def test_scalars_keep_yaml_types() -> None:
    data = load_text("a: 1\nb: 1.5\nc: true\nd: null\ne: '1'\n", "t.yaml")
    assert data == {"a": 1, "b": 1.5, "c": True, "d": None, "e": "1"}


def test_getatt_list_form_and_merge_keys() -> None:
    data = load_text("base: &b {x: 1, y: 2}\nm:\n  <<: *b\n  y: 3\ng: !GetAtt [A, B.C]\n", "t.yaml")
    assert data["m"] == {"x": 1, "y": 3}
    assert data["g"] == {"Fn::GetAtt": ["A", "B.C"]}


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("a: 1\nb: 2\na: 3\n", 3, "duplicate key 'a' (first at line 1)"),
        ("a: !Python/object foo\n", 1, "unknown tag '!Python/object'"),
        ("a: !!python/object:os.system x\n", 1, "unsupported YAML tag"),
        ("a: [1, 2\nb: 3\n", 2, "invalid YAML"),
        ("? [a, b]\n: 1\n", 1, "mapping key must be a plain scalar"),
        ("~: 1\n", 1, "null key"),
    ],
)
def test_malformed_input_is_an_input_error_with_a_line(text: str, line: int, words: str) -> None:
    with pytest.raises(InputError) as caught:
        load_text(text, "bad.yaml")
    assert caught.value.path == "bad.yaml"
    assert caught.value.line == line
    assert words in caught.value.message


def test_alias_bomb_is_refused() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        prev = f"*a{i - 1}"
        lines.append(f"a{i}: &a{i} [{', '.join([prev] * 10)}]")
    with pytest.raises(InputError, match="alias bomb"):
        load_text("\n".join(lines) + "\n", "bomb.yaml")


def test_deep_nesting_is_refused() -> None:
    text = "a: " + "[" * 300 + "]" * 300 + "\n"
    with pytest.raises(InputError, match="nesting deeper"):
        load_text(text, "deep.yaml")


def test_empty_document_is_an_empty_mapping() -> None:
    assert load_text("", "empty.yaml") == {}


@pytest.mark.parametrize("text", ["N: " + "9" * 5000 + "\n", '{"N": ' + "9" * 5000 + "}"])
def test_an_integer_over_pythons_conversion_limit_is_an_input_error(text: str) -> None:
    from checker.errors import InputError
    from checker.loaders import load_text

    with pytest.raises(InputError, match="a number has too many digits"):
        load_text(text, "big.yaml")
