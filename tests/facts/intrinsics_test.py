from __future__ import annotations

import pytest

from checker.facts.intrinsics import Resolver, Unknown

TEMPLATE = {
    "Parameters": {
        "Env": {"Type": "String", "Default": "dev"},
        "Bucket": {"Type": "String"},
        "Count": {"Type": "Number", "Default": 3},
    }
}
R = Resolver(TEMPLATE)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("s3:GetObject", ["s3:GetObject"]),
        ({"Ref": "Env"}, ["dev"]),
        ({"Ref": "Count"}, ["3"]),
        ({"Ref": "AWS::Partition"}, ["aws"]),
        ({"Fn::Sub": "arn:${AWS::Partition}:s3:::${Env}-logs/*"}, ["arn:aws:s3:::dev-logs/*"]),
        ({"Fn::Sub": ["${Svc}:*", {"Svc": "iam"}]}, ["iam:*"]),
        ({"Fn::Sub": "literal ${!NotAVar}"}, ["literal ${NotAVar}"]),
        ({"Fn::Join": [":", ["s3", "*"]]}, ["s3:*"]),
        ({"Fn::If": ["IsProd", "s3:GetObject", "*"]}, ["s3:GetObject", "*"]),
        ({"Fn::Join": ["", [{"Fn::If": ["C", "a", "b"]}, "-x"]]}, ["a-x", "b-x"]),
    ],
)
def test_resolves_what_the_template_determines(value: object, expected: list[str]) -> None:
    assert R.resolve(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        {"Ref": "Bucket"},  # parameter without a default
        {"Fn::GetAtt": ["Role", "Arn"]},
        {"Fn::ImportValue": "shared-arn"},
        {"Fn::Sub": "arn:aws:s3:::${Bucket}/*"},
        {"Fn::Sub": "${Role.Arn}"},
        ["not", "a", "scalar"],
    ],
)
def test_what_cannot_be_resolved_is_unknown_never_a_wildcard(value: object) -> None:
    (result,) = R.resolve(value)
    assert isinstance(result, Unknown)
    assert str(result).startswith("<unresolved ")
    assert result != "*"


def test_unknown_part_keeps_its_literal_context() -> None:
    (result,) = R.resolve({"Fn::Sub": "arn:aws:s3:::${Bucket}/*"})
    assert str(result) == "<unresolved arn:aws:s3:::${?}/*>"


def test_list_fields_flatten_and_expand_both_branches() -> None:
    value = [{"Fn::If": ["C", "a", "b"]}, "c"]
    assert R.resolve_list(value) == ["a", "b", "c"]
    assert R.resolve_list({"Fn::If": ["C", ["x", "y"], "z"]}) == ["x", "y", "z"]


def test_combinatorial_blowup_is_bounded() -> None:
    many = {"Fn::Join": ["", [{"Fn::If": ["C", "a", "b"]}] * 10]}  # 1024 combinations
    (result,) = R.resolve(many)
    assert isinstance(result, Unknown)
