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


def _condition_keys(condition: Any, negated: bool = False) -> set[str]:
    """The keys a condition tests (only under negated operators such as
    ``StringNotEquals`` when ``negated``: a Deny unless the key matches)."""
    if not isinstance(condition, Mapping):
        return set()
    return {
        str(key).lower()
        for operator, tests in condition.items()
        if isinstance(tests, Mapping) and (not negated or "Not" in str(operator))
        for key in tests
    }


def _document(record: Mapping[str, Any]) -> tuple[Any, ...]:
    return (record["template"], record["resource"], str(record["path"]).rsplit(".Statement", 1)[0])


def _fences(facts: Facts, restricting: set[str]) -> dict[tuple[Any, ...], list[set[str]]]:
    """By policy, the actions denied to every principal whatever a restricting
    key does not match (Deny, Principal "*", StringNotEquals aws:SourceVpce
    ...): the documented way to keep a private API or a bucket to one network
    or organization, beside an Allow for "*"."""
    fences: dict[tuple[Any, ...], list[set[str]]] = {}
    for record in facts.view("iam_statements"):
        if record["effect"] != "Deny" or record["not_actions"] or not record["actions"]:
            continue
        if not any(p.lower() in _EVERYONE for p in record["principals"]):
            continue
        if _condition_keys(record["condition"], negated=True) & restricting:
            fences.setdefault(_document(record), []).append({a.lower() for a in record["actions"]})
    return fences


def _fenced(record: Mapping[str, Any], fences: Mapping[tuple[Any, ...], list[set[str]]]) -> bool:
    """Whether a fence in the same policy covers every action the Allow grants."""
    allowed = {a.lower() for a in record["actions"]}
    return any("*" in denied or allowed <= denied for denied in fences.get(_document(record), ()))


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
            everyone = [p for p in record["principals"] if p.lower() in _EVERYONE]
            if not everyone or _condition_keys(record["condition"]) & restricting:
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
