from __future__ import annotations

import hashlib
from importlib import resources
from pathlib import Path

import pytest

from checker.iam import catalogue, catalogue_source, has_wildcard, listed


def test_catalogue_knows_access_levels_and_resource_level_support() -> None:
    cat = catalogue()
    passrole = cat.lookup("IAM:passrole")
    assert passrole is not None and passrole.name == "iam:PassRole"
    assert passrole.level == "Permissions management" and passrole.resource_level and passrole.escalates
    describe = cat.lookup("ec2:DescribeInstances")
    assert describe is not None and describe.level == "List" and not describe.resource_level


def test_wildcards_expand_case_insensitively() -> None:
    names = {a.name for a in catalogue().match("IAM:*policy*")}
    assert {"iam:AttachRolePolicy", "iam:PutRolePolicy", "iam:CreatePolicyVersion"} <= names
    assert "iam:PassRole" not in names
    assert {a.name for a in catalogue().match("iam:Pass?ole")} == {"iam:PassRole"}
    assert catalogue().match("nosuchservice:*") == ()


def test_about_file_describes_the_packaged_catalogue() -> None:
    about = catalogue_source()
    data = resources.files("checker").joinpath("data", "iam_actions.json").read_bytes()
    assert about["sha256"] == hashlib.sha256(data).hexdigest()
    assert about["source_sha256"] == catalogue().source["source_sha256"]


def test_allow_lists_take_exact_names_and_globs() -> None:
    assert listed("logs:PutLogEvents", ["logs:*"])
    assert listed("LOGS:PutLogEvents", ["logs:putlogevents"])
    assert not listed("s3:PutObject", ["logs:*", "s3:Get*"])


@pytest.mark.parametrize(
    ("pattern", "every_action", "one_service"),
    [
        ("*", True, False),
        ("*:*", True, False),
        ("**", True, False),
        ("?*", True, False),
        ("*:?*", True, False),
        ("s3:*", False, True),
        ("states:?*", False, True),
        ("cloudwatch:**", False, True),
        ("S3:*?", False, True),
        ("s3:Get*", False, False),
        ("s3:????", False, False),  # four-letter names only
        ("s*:*", False, True),  # every action of several services
        ("kinesi?:*", False, True),
    ],
)
def test_wildcards_are_judged_by_what_they_match_in_iams_own_semantics(
    pattern: str, every_action: bool, one_service: bool
) -> None:
    from checker.iam import is_all_actions, is_service_wildcard

    assert (is_all_actions(pattern), is_service_wildcard(pattern)) == (every_action, one_service)
    if one_service and not has_wildcard(pattern.split(":")[0]):  # the catalogue agrees: every action of it
        service = pattern.split(":")[0].lower()
        assert len(catalogue().match(pattern)) == len(catalogue().services[service])


@pytest.mark.parametrize(
    ("action", "rule"), [("?*", "IAM001"), ("*:**", "IAM001"), ("states:?*", "IAM002"), ("cloudwatch:**", "IAM002")]
)
def test_a_wildcard_spelled_another_way_is_still_found(tmp_path: Path, action: str, rule: str) -> None:
    from checker.engine import evaluate
    from checker.policy import default_policy_path, load_policy
    from checker.registry import load_registry
    from checker.templates import Template

    template = tmp_path / "t.yaml"
    template.write_text(
        "Resources:\n  P:\n    Type: AWS::IAM::ManagedPolicy\n    Properties:\n      PolicyDocument:\n"
        f"        Statement:\n          - {{Effect: Allow, Action: '{action}', Resource: '*'}}\n"
    )
    from checker.discovery import Candidate
    from checker.templates import load_template

    loaded = load_template(Candidate(template, "t.yaml", explicit=True))
    assert isinstance(loaded, Template)
    registry = load_registry()
    results = {
        r.meta.id: r for r in evaluate([loaded], registry, load_policy([default_policy_path()], registry)).results
    }
    assert results[rule].status == "fail"
