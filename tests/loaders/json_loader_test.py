from __future__ import annotations

import pytest

from checker.errors import InputError
from checker.loaders import line_of, load_text

TEMPLATE = """{
  "Resources": {
    "Role": {
      "Type": "AWS::IAM::Role",
      "Properties": {
        "Policies": [
          {"PolicyName": "p",
           "PolicyDocument": {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}}
        ],
        "MaxSessionDuration": 3600,
        "Ratio": -1.5e3,
        "Flag": true,
        "Nothing": null,
        "Text": "tab\\tand \\u00e9"
      }
    }
  }
}
"""


def test_values_and_lines() -> None:
    data = load_text(TEMPLATE, "t.json")
    props = data["Resources"]["Role"]["Properties"]
    assert props["MaxSessionDuration"] == 3600
    assert props["Ratio"] == -1500.0
    assert props["Flag"] is True and props["Nothing"] is None
    assert props["Text"] == "tab\tand é"
    assert line_of(data["Resources"], "Role") == 3
    assert line_of(props, "Policies") == 6
    assert line_of(props["Policies"], 0) == 7
    assert line_of(props["Policies"][0]["PolicyDocument"]["Statement"], 0) == 8


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ('{"a": 1,\n "a": 2}', 2, "duplicate key 'a' (first at line 1)"),
        ('{"a": 1\n "b": 2}', 2, "expected ',' or '}'"),
        ('{"a": [1, 2\n', 2, "expected ',' or ']'"),
        ('{"a": @}', 1, "expected a value, found '@'"),
        ('{"a": 1} x', 1, "extra data"),
        ('{"a": "unterminated\n}', 1, "Invalid control character"),
    ],
)
def test_malformed_json_names_the_line(text: str, line: int, words: str) -> None:
    with pytest.raises(InputError) as caught:
        load_text(text, "bad.json")
    assert caught.value.line == line
    assert words in caught.value.message


def test_yaml_flow_mapping_starting_with_brace_still_loads() -> None:
    # CloudFormation takes YAML, and flow-style YAML starts with "{" too.
    assert load_text("{Resources: {A: {Type: 'AWS::SNS::Topic'}}}", "flow.yaml") == {
        "Resources": {"A": {"Type": "AWS::SNS::Topic"}}
    }
