"""IAM008: a resource policy open to every principal without a restricting condition."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from checker.ruleapi import (
    EVERYONE,
    Facts,
    Finding,
    Param,
    RuleMeta,
    denies_unless,
    finding_for,
    listed,
    restricts,
)

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
    # A bucket that delegates access control to the access points of one
    # account: their policies (judged too) decide.
    "s3:DataAccessPointAccount",
    "s3:DataAccessPointArn",
]


def _document(record: Mapping[str, Any]) -> tuple[Any, ...]:
    """The policy a statement belongs to: its path without the statement's own
    place (``...PolicyDocument.Statement[2]``, ``...CustomStatements[0]``)."""
    return (record["template"], record["resource"], re.sub(r"(\.Statement)?(\[\d+\])?$", "", str(record["path"])))


def _fences(facts: Facts, restricting: set[str]) -> dict[tuple[Any, ...], list[tuple[set[str], set[str]]]]:
    """By policy, the (actions, resources) denied to every principal unless a
    restricting key matches (Deny, Principal "*", StringNotEquals
    aws:SourceVpce ...): the documented way to keep a private API or a bucket
    to one network or organization, beside an Allow for "*"."""
    fences: dict[tuple[Any, ...], list[tuple[set[str], set[str]]]] = {}
    for record in facts.view("iam_statements"):
        if record["effect"] != "Deny" or record["not_actions"] or record["not_resources"] or not record["actions"]:
            continue
        if not any(p.lower() in EVERYONE for p in record["principals"]):
            continue
        if denies_unless(record["condition"], restricting):
            fence = ({a.lower() for a in record["actions"]}, set(record["resources"]))
            fences.setdefault(_document(record), []).append(fence)
    return fences


def _fenced(record: Mapping[str, Any], fences: Mapping[tuple[Any, ...], list[tuple[set[str], set[str]]]]) -> bool:
    """Whether a fence in the same policy covers every action and resource the Allow grants."""
    resources = set(record["resources"])
    return any(
        all(listed(action, sorted(denied)) for action in record["actions"])
        and ("*" in where or (bool(resources) and resources <= where))
        for denied, where in fences.get(_document(record), ())
    )


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
            "account invoke the function. A Deny in the same policy for every principal unless "
            "such a key matches (`StringNotEquals: {aws:SourceVpce: ...}`, as private APIs use) "
            "fences the Allow for the actions it covers. VPC endpoint policies are not resource "
            "policies in this sense: their `*` is every caller inside the network."
        ),
        judges=(
            "Resource policies: every carrier the policy-carrier table classifies as resource "
            "(bucket, access point, queue, topic, key, secret, repository, log, API, event bus, "
            "OpenSearch, Glue, Backup ... policies), AWS::Lambda::Permission, "
            "AWS::Lambda::LayerVersionPermission, function URLs with AuthType NONE "
            "(AWS::Lambda::Url, SAM FunctionUrlConfig), SAM APIs' "
            "Auth.ResourcePolicy.CustomStatements and the legacy AWS::Events::EventBusPolicy. Not "
            "VPC endpoint policies. Allow statements for every principal."
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
        fences = _fences(facts, restricting)
        for record in facts.view("iam_statements"):
            if record["effect"] != "Allow" or record["policy_kind"] != "resource":
                continue
            everyone = [p for p in record["principals"] if p.lower() in EVERYONE]
            if not everyone or restricts(record["condition"], restricting):
                continue
            if _fenced(record, fences):
                continue
            actions = ", ".join(record["actions"]) or "its actions"
            yield finding_for(
                record,
                f"{record['resource_type']} grants {actions} to every principal ({everyone[0]!r}) "
                "with no account, organization, source or network condition",
                element=f"{everyone[0]} {','.join(record['actions'])}",
            )


RULE = PublicResourcePolicy()
