from __future__ import annotations

import hashlib
from importlib import resources

from checker.iam import catalogue, catalogue_source, listed


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
