"""IAM008: a resource policy open to every principal without a restricting condition."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from checker.ruleapi import Facts, Finding, Param, RuleMeta, finding_for

_RESTRICTING_KEYS = [
    "aws:SourceAccount",
    "aws:SourceArn",
    "aws:SourceOwner",
    "aws:SourceOrgID",
    "aws:SourceOrgPaths",
    "aws:PrincipalAccount",
    "aws:PrincipalArn",
    "aws:PrincipalOrgID",
    "aws:PrincipalOrgPaths",
    "aws:SourceVpce",
    "aws:SourceVpc",
    "aws:SourceIp",
    "kms:CallerAccount",
    "lambda:FunctionUrlAuthType",
]
_EVERYONE = {"*", "aws:*"}


def _condition_keys(condition: Any) -> set[str]:
    if not isinstance(condition, Mapping):
        return set()
    return {str(key).lower() for operator in condition.values() if isinstance(operator, Mapping) for key in operator}


class PublicResourcePolicy:
    meta = RuleMeta(
        id="IAM008",
        title="Resource policy allows every principal without a restricting condition",
        severity="critical",
        tags=("iam",),
        views=("iam_statements",),
        rationale=(
            '`Principal: "*"` (or `{AWS: "*"}`) in a bucket, queue, topic, key, secret or '
            "function policy grants the actions to anyone with an AWS account, unless a condition "
            "ties the request to your account, organization, source ARN or network. An "
            "`AWS::Lambda::Permission` with principal `*` and no source account or ARN lets any "
            "account invoke the function."
        ),
        remediation=(
            'Name the principals (`{AWS: !Sub "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}` '
            "or a service), or add a condition such as `aws:PrincipalOrgID`, `aws:SourceAccount`, "
            "`aws:SourceArn` or `aws:SourceVpce`. For a Lambda permission, set `SourceAccount` or "
            "`SourceArn`."
        ),
        params=(
            Param(
                "restricting_condition_keys",
                "string_list",
                _RESTRICTING_KEYS,
                "condition keys that restrict who can use a wildcard principal",
                tighter="fewer",
            ),
        ),
        example_fail=(
            'Statement:\n  - Effect: Allow\n    Principal: "*"\n    Action: sqs:SendMessage\n'
            "    Resource: !GetAtt Queue.Arn\n"
        ),
        example_pass=(
            "Statement:\n  - Effect: Allow\n    Principal: {Service: sns.amazonaws.com}\n"
            "    Action: sqs:SendMessage\n    Resource: !GetAtt Queue.Arn\n"
            "    Condition:\n      ArnEquals: {aws:SourceArn: !Ref Topic}\n"
        ),
        references=(
            "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html",
            "https://docs.aws.amazon.com/IAM/latest/UserGuide/confused-deputy.html",
        ),
    )

    def evaluate(self, facts: Facts, params: Mapping[str, Any]) -> Iterator[Finding]:
        restricting = {key.lower() for key in params["restricting_condition_keys"]}
        for record in facts.view("iam_statements"):
            if record["effect"] != "Allow" or record["policy_kind"] != "resource":
                continue
            everyone = [p for p in record["principals"] if p.lower() in _EVERYONE]
            if not everyone or _condition_keys(record["condition"]) & restricting:
                continue
            actions = ", ".join(record["actions"]) or "its actions"
            yield finding_for(
                record,
                f"{record['resource_type']} grants {actions} to every principal ({everyone[0]!r}) "
                "with no account, organization, source or network condition",
                element=f"{everyone[0]} {','.join(record['actions'])}",
            )


RULE = PublicResourcePolicy()
