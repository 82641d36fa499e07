"""IAM011: a role's trust policy lets anyone assume it, or grants every action."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from checker.ruleapi import EVERYONE, Facts, Finding, Param, RuleMeta, finding_for, is_all_actions, restricts

# Keys that tie an assumption to known callers: an account, an organization,
# an external id agreed with a third party, a source.
_RESTRICTING_KEYS = [
    "aws:PrincipalAccount",
    "aws:PrincipalArn",
    "aws:PrincipalOrgID",
    "aws:PrincipalOrgPaths",
    "aws:SourceAccount",
    "aws:SourceArn",
    "aws:SourceOrgID",
    "sts:ExternalId",
]


class OpenTrustPolicy:
    meta = RuleMeta(
        id="IAM011",
        title="Role trust policy lets any principal assume the role, or grants every action",
        severity="critical",
        tags=("iam",),
        views=("iam_statements",),
        rationale=(
            "A role's trust policy (`AssumeRolePolicyDocument`) says who may become the role. "
            '`Principal: "*"` or `{AWS: "*"}` without a condition that names an account, an '
            "organization or an external id lets any AWS account assume it and use every "
            'permission the role has. `Action: "*"` (or `NotAction`) in a trust policy grants '
            "every way of assuming and tagging the session instead of `sts:AssumeRole` alone."
        ),
        judges=(
            "Trust policies: AssumeRolePolicyDocument of IAM roles and the other trust carriers. Allow statements."
        ),
        remediation=(
            'Name the principals (`{AWS: !Sub "arn:${AWS::Partition}:iam::123456789012:root"}`, a '
            "service such as `lambda.amazonaws.com`), or add a condition on `aws:PrincipalOrgID`, "
            "`aws:PrincipalAccount` or `sts:ExternalId`; and allow `sts:AssumeRole` (or the one "
            "assume action needed) only."
        ),
        params=(
            Param(
                "restricting_condition_keys",
                "string_list",
                _RESTRICTING_KEYS,
                "condition keys that tie an assumption to known callers",
                tighter="fewer",
            ),
        ),
        example_fail=(
            "Resources:\n  Role:\n    Type: AWS::IAM::Role\n    Properties:\n      AssumeRolePolicyDocument:\n"
            '        Statement:\n          - Effect: Allow\n            Principal: {AWS: "*"}\n'
            "            Action: sts:AssumeRole\n"
        ),
        example_pass=(
            "Resources:\n  Role:\n    Type: AWS::IAM::Role\n    Properties:\n      AssumeRolePolicyDocument:\n"
            '        Statement:\n          - Effect: Allow\n            Principal: {AWS: "*"}\n'
            "            Action: sts:AssumeRole\n            Condition:\n"
            "              StringEquals: {aws:PrincipalOrgID: o-a1b2c3d4e5}\n"
        ),
        references=("https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_terms-and-concepts.html",),
    )

    def evaluate(self, facts: Facts, params: Mapping[str, Any]) -> Iterator[Finding]:
        restricting = params["restricting_condition_keys"]
        for record in facts.view("iam_statements"):
            if record["policy_kind"] != "trust" or record["effect"] != "Allow":
                continue
            everyone = [p for p in record["principals"] if p.lower() in EVERYONE]
            if everyone and not restricts(record["condition"], restricting):
                yield finding_for(
                    record,
                    f"{record['path']} lets every principal ({everyone[0]!r}) assume the role, with no "
                    "account, organization or external id condition",
                    line=record["action_line"],
                    element=f"principal {everyone[0]}",
                )
            wide = [a for a in record["actions"] if is_all_actions(a)]
            if wide or record["not_actions"]:
                granted = ", ".join(wide) if wide else f"every action except {', '.join(record['not_actions'])}"
                yield finding_for(
                    record,
                    f"{record['path']} grants {granted} in a trust policy: allow sts:AssumeRole alone",
                    line=record["action_line"],
                    element=f"action {','.join(wide or record['not_actions'])}",
                )


RULE = OpenTrustPolicy()
