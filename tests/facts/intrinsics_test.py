from __future__ import annotations

import pytest

from checker.facts.intrinsics import Resolver, Unknown, via_of

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


CHOICES = {
    "Parameters": {
        "Act": {"Type": "String", "AllowedValues": ["s3:GetObject", "*"]},
        "Acts": {"Type": "CommaDelimitedList", "Default": "s3:GetObject, iam:*"},
        "FromSsm": {"Type": "AWS::SSM::Parameter::Value<String>", "Default": "/org/action"},
        "Deployed": {"Type": "String"},
    },
    "Mappings": {"Perms": {"us-east-1": {"Action": "*"}, "eu-west-1": {"Action": ["s3:GetObject", "sqs:*"]}}},
    "Resources": {
        "Bucket": {"Type": "AWS::S3::Bucket"},
        "Lookup": {"Type": "Custom::Lookup"},
    },
}
C = Resolver(CHOICES, {"Deployed": [("kms:*", "samconfig.toml [prod]")]})


def _texts(values: list[object]) -> list[str]:
    return [str(v) for v in values]


def test_every_allowed_value_of_a_parameter_is_a_value_it_can_take() -> None:
    values = C.resolve({"Ref": "Act"})
    assert _texts(values) == ["s3:GetObject", "*"]
    assert via_of(values[1]) == ("parameter Act='*' (AllowedValues)",)


def test_a_comma_delimited_default_gives_each_item() -> None:
    values = C.resolve_list({"Ref": "Acts"})
    assert _texts(values) == ["s3:GetObject", "iam:*"]
    assert via_of(values[1]) == ("parameter Acts='s3:GetObject, iam:*' (default)",)


def test_deployment_files_give_parameters_their_values() -> None:
    (value,) = C.resolve({"Ref": "Deployed"})
    assert value == "kms:*" and via_of(value) == ("parameter Deployed='kms:*' (samconfig.toml [prod])",)


def test_an_ssm_parameter_default_is_a_name_not_the_value() -> None:
    (value,) = C.resolve({"Ref": "FromSsm"})
    assert isinstance(value, Unknown) and value.kind == "deployment"


def test_find_in_map_gives_every_entry_its_keys_can_select() -> None:
    values = C.resolve_list({"Fn::FindInMap": ["Perms", {"Ref": "AWS::Region"}, "Action"]})
    assert _texts(values) == ["*", "s3:GetObject", "sqs:*"]
    assert via_of(values[0]) == ("Mappings Perms.us-east-1.Action",)
    assert _texts(C.resolve({"Fn::FindInMap": ["Perms", "us-east-1", "Action"]})) == ["*"]


def test_select_and_split_over_literals_are_folded() -> None:
    assert C.resolve({"Fn::Select": [1, {"Fn::Split": [",", "a,*,c"]}]}) == ["*"]
    assert C.resolve({"Fn::Select": [0, ["x", "y"]]}) == ["x"]
    assert C.resolve({"Fn::Join": [":", {"Fn::Split": ["/", "s3/*"]}]}) == ["s3:*"]
    # An index the template cannot tell picks any item.
    assert _texts(C.resolve({"Fn::Select": [{"Ref": "Deployed2"}, ["x", "*"]]})) == ["x", "*"]


def test_resources_of_the_template_are_specific_but_custom_resources_are_not() -> None:
    (bucket,) = C.resolve({"Fn::GetAtt": ["Bucket", "Arn"]})
    (custom,) = C.resolve({"Fn::GetAtt": ["Lookup", "Action"]})
    assert isinstance(bucket, Unknown) and bucket.kind == "specific"
    assert isinstance(custom, Unknown) and custom.kind == "deployment"
    (sub,) = C.resolve({"Fn::Sub": "${Bucket.Arn}/*"})
    assert isinstance(sub, Unknown) and sub.kind == "specific"


def test_a_value_needing_both_branches_of_one_condition_is_never_produced() -> None:
    value = {"Fn::Join": ["", [{"Fn::If": ["C", "a", "b"]}, {"Fn::If": ["C", "1", "2"]}]]}
    assert C.resolve(value) == ["a1", "b2"]
    assert C.assuming(("condition C false",)).resolve(value) == ["b2"]


def test_reaching_the_cap_says_so() -> None:
    many = {"Fn::Join": ["", [{"Fn::If": [f"C{i}", "a", "b"]} for i in range(10)]]}
    (result,) = C.resolve(many)
    assert isinstance(result, Unknown) and result.kind == "capped"
    assert "not enumerated" in str(result)
