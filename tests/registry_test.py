from __future__ import annotations

from pathlib import Path

import pytest

from checker.discovery import Candidate
from checker.engine import evaluate
from checker.errors import RuleDefinitionError
from checker.policy import load_policy
from checker.registry import load_registry
from checker.templates import load_template

DECLARATIVE = """\
id: ACME-TAG-001
title: SNS topics must be encrypted
severity: high
tags: [template]
view: resources
condition: "type == 'AWS::SNS::Topic' && !(properties.KmsMasterKeyId)"
message: "{resource} ({type}) has no KmsMasterKeyId"
rationale: Messages at rest must be encrypted.
remediation: Set KmsMasterKeyId.
"""

CRASHING = """\
from checker.ruleapi import RuleMeta


class Crash:
    meta = RuleMeta(id="ACME-CRASH", title="crashes", severity="low", tags=("template",),
                    rationale="r", remediation="f", views=("resources",))

    def evaluate(self, facts, params):
        raise ZeroDivisionError("boom")


RULE = Crash()
"""

SAM_RULE = """\
id: ACME-SAM-ROLE
title: Generated roles are visible after SAM expansion
severity: low
tags: [iam]
view: resources
sam_expanded: true
condition: "type == 'AWS::IAM::Role'"
message: "{resource} generates {generated_id}"
rationale: r
remediation: f
"""

TEMPLATE = """\
Transform: AWS::Serverless-2016-10-31
Resources:
  Topic:
    Type: AWS::SNS::Topic
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: app.handler
      CodeUri: src/
"""


def _run(tmp_path: Path, rules: dict[str, str], enabled: list[str]):  # type: ignore[no-untyped-def]
    folder = tmp_path / "org-rules"
    folder.mkdir()
    for name, text in rules.items():
        (folder / name).write_text(text)
    registry = load_registry([folder])
    policy_file = tmp_path / "policy.yaml"
    policy_file.write_text(
        "schema_version: 1\nname: t\nversion: '1'\nrules:\n" + "".join(f"  {r}: {{}}\n" for r in enabled)
    )
    template_file = tmp_path / "template.yaml"
    template_file.write_text(TEMPLATE)
    template = load_template(Candidate(template_file, "template.yaml", explicit=True))
    return evaluate([template], registry, load_policy([policy_file], registry))  # type: ignore[list-item]


def test_organization_rules_load_from_a_folder_and_run(tmp_path: Path) -> None:
    evaluation = _run(tmp_path, {"tag.yaml": DECLARATIVE}, ["ACME-TAG-001", "IAM001"])
    result = {r.meta.id: r for r in evaluation.results}["ACME-TAG-001"]
    assert result.status == "fail"
    assert [(f.location.resource, f.location.line, f.message) for f in result.findings] == [
        ("Topic", 3, "Topic (AWS::SNS::Topic) has no KmsMasterKeyId")
    ]


def test_a_crashing_rule_is_an_error_and_fails_the_verdict_while_others_run(tmp_path: Path) -> None:
    evaluation = _run(tmp_path, {"crash.py": CRASHING, "tag.yaml": DECLARATIVE}, ["ACME-CRASH", "ACME-TAG-001"])
    results = {r.meta.id: r for r in evaluation.results}
    assert results["ACME-CRASH"].status == "error"
    assert "ZeroDivisionError: boom" in results["ACME-CRASH"].errors[0]
    assert results["ACME-TAG-001"].status == "fail"
    assert evaluation.verdict == "fail"


def test_sam_expanded_rules_see_generated_resources_at_the_sam_resource(tmp_path: Path) -> None:
    evaluation = _run(tmp_path, {"sam.yaml": SAM_RULE}, ["ACME-SAM-ROLE"])
    (result,) = evaluation.results
    assert [(f.location.resource, f.location.line, f.message) for f in result.findings] == [
        ("Fn", 5, "Fn generates FnRole")
    ]


@pytest.mark.parametrize(
    ("text", "field", "words"),
    [
        (DECLARATIVE.replace("view: resources", "view: resourcez"), "view", "no fact view"),
        (DECLARATIVE.replace("severity: high", "severity: urgent"), "severity", "must be one of"),
        (DECLARATIVE.replace("{type}", "{typo}"), "message", "not a field of view resources"),
        (DECLARATIVE.replace("&& !(properties", "&& !!!(("), "condition", "invalid JMESPath"),
        (DECLARATIVE + "colour: red\n", "colour", "unknown key"),
    ],
)
def test_malformed_rule_files_are_refused_with_file_and_field(
    tmp_path: Path, text: str, field: str, words: str
) -> None:
    with pytest.raises(RuleDefinitionError) as caught:
        _run(tmp_path, {"bad.yaml": text}, [])
    assert caught.value.field == field
    assert caught.value.path is not None and caught.value.path.endswith("org-rules/bad.yaml")
    assert words in caught.value.message


PARAMS = "params:\n  floor:\n    type: number\n    default: 80\n    tighter: higher\n    description: d\n"


@pytest.mark.parametrize(
    ("text", "field", "line", "words"),
    [
        (DECLARATIVE + PARAMS.replace("default: 80", "default: high"), "params.floor.default", 13, "must be a number"),
        (DECLARATIVE + PARAMS.replace("type: number", "type: float"), "params.floor.type", 12, "must be one of"),
        (DECLARATIVE + PARAMS.replace("higher", "stricter"), "params.floor.tighter", 14, "must be one of"),
        (DECLARATIVE + "references: [see the wiki]\n", "references", 10, "must be URLs"),
        (DECLARATIVE + "example: {fail: 'x: 1'}\n", "example", 10, "both a failing and a passing example"),
    ],
)
def test_declarative_metadata_goes_through_the_one_validator_with_its_line(
    tmp_path: Path, text: str, field: str, line: int, words: str
) -> None:
    with pytest.raises(RuleDefinitionError) as caught:
        _run(tmp_path, {"bad.yaml": text}, [])
    assert (caught.value.field, caught.value.line) == (field, line)
    assert words in caught.value.message


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ('severity="low"', 'severity="urgent"', "must be one of"),
        (
            'views=("resources",)',
            'views=("resources",), params=(Param("floor", "number", "80", "d"),)',
            "must be a number",
        ),
        ('views=("resources",)', 'views=("resources", "coverage")', "all be template views or all repository"),
        ('rationale="r"', 'rationale=" "', "rationale: is required"),
    ],
)
def test_python_rule_metadata_goes_through_the_same_validator(
    tmp_path: Path, change: str, field: str, words: str
) -> None:
    text = CRASHING.replace("import RuleMeta", "import Param, RuleMeta").replace(change, field)
    with pytest.raises(RuleDefinitionError) as caught:
        _run(tmp_path, {"bad.py": text}, [])
    assert words in caught.value.message
    assert caught.value.path is not None and caught.value.path.endswith("org-rules/bad.py")


def test_duplicate_rule_ids_are_refused(tmp_path: Path) -> None:
    with pytest.raises(RuleDefinitionError, match="IAM001 is already defined in rules/iam/"):
        _run(tmp_path, {"dup.yaml": DECLARATIVE.replace("ACME-TAG-001", "IAM001")}, [])


def test_a_python_rule_without_RULE_is_refused(tmp_path: Path) -> None:
    with pytest.raises(RuleDefinitionError, match="must define RULE"):
        _run(tmp_path, {"empty.py": "X = 1\n"}, [])
