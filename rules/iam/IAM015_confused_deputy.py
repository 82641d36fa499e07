"""IAM015: a resource policy grants an AWS service without tying it to the
source resource or account (the confused deputy)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from checker.ruleapi import Facts, Finding, Param, RuleMeta, finding_for, restricts

_SOURCE_KEYS = [
    "aws:SourceArn",
    "aws:SourceAccount",
    "aws:SourceOrgID",
    "aws:SourceOrgPaths",
    "aws:SourceOwner",
    # CloudWatch Logs' documented way to tie a key to one account's log groups.
    "kms:EncryptionContext:aws:logs:arn",
]


def _service(principal: str) -> str | None:
    """The service a principal names: ``Service:sns.amazonaws.com`` in a
    policy, or the bare ``apigateway.amazonaws.com`` of a Lambda permission."""
    name = principal.removeprefix("Service:")
    if name.startswith("<") or ":" in name or "." not in name:
        return None
    return name if name.endswith((".amazonaws.com", ".amazonaws.com.cn")) else None


class ConfusedDeputy:
    meta = RuleMeta(
        id="IAM015",
        title="Resource policy grants an AWS service without naming the source (confused deputy)",
        severity="high",
        tags=("iam",),
        views=("iam_statements",),
        rationale=(
            "A grant to a service principal (`sns.amazonaws.com`, `events.amazonaws.com`, "
            "`apigateway.amazonaws.com` in an `AWS::Lambda::Permission`) lets that service act "
            "for any of its customers: anyone can point their own topic, rule or API at your "
            "queue or function, and the service will deliver. `aws:SourceArn` or "
            "`aws:SourceAccount` (a Lambda permission's `SourceArn`/`SourceAccount`) ties the grant "
            "to your resource or account. Judged in resource policies: buckets, queues, topics, "
            "keys, functions (permissions and URLs), APIs, event buses and the other carriers."
        ),
        judges=(
            "Resource policies (as IAM008), Lambda permissions included: Allow statements whose "
            "principal is an AWS service."
        ),
        remediation=(
            "Add `Condition: {ArnEquals: {aws:SourceArn: !Ref Topic}}` (or `StringEquals: "
            "{aws:SourceAccount: !Ref AWS::AccountId}`); on an `AWS::Lambda::Permission`, set "
            "`SourceArn` (`!Sub arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${Api}/*`) "
            "or `SourceAccount`. Services your organization accepts without a source can be listed "
            "in `allowed_services`."
        ),
        params=(
            Param(
                "allowed_services",
                "string_list",
                [],
                "service principals (e.g. `logs.amazonaws.com`) accepted without a source condition",
                tighter="fewer",
            ),
            Param(
                "source_condition_keys",
                "string_list",
                _SOURCE_KEYS,
                "condition keys that tie a service's request to a source resource or account",
                tighter="fewer",
            ),
        ),
        example_fail=(
            "Statement:\n  - Effect: Allow\n    Principal: {Service: sns.amazonaws.com}\n"
            "    Action: sqs:SendMessage\n    Resource: !GetAtt Queue.Arn\n"
        ),
        example_pass=(
            "Statement:\n  - Effect: Allow\n    Principal: {Service: sns.amazonaws.com}\n"
            "    Action: sqs:SendMessage\n    Resource: !GetAtt Queue.Arn\n"
            "    Condition:\n      StringEquals: {aws:SourceAccount: !Ref AWS::AccountId}\n"
        ),
        references=(
            "https://docs.aws.amazon.com/IAM/latest/UserGuide/confused-deputy.html",
            "https://docs.aws.amazon.com/securityhub/latest/userguide/lambda-controls.html#lambda-1",
        ),
    )

    def evaluate(self, facts: Facts, params: Mapping[str, Any]) -> Iterator[Finding]:
        allowed = {s.lower() for s in params["allowed_services"]}
        keys = params["source_condition_keys"]
        for record in facts.view("iam_statements"):
            if record["effect"] != "Allow" or record["policy_kind"] != "resource":
                continue
            if restricts(record["condition"], keys):
                continue
            for principal in record["principals"]:
                service = _service(principal)
                if service is None or service.lower() in allowed:
                    continue
                actions = ", ".join(record["actions"]) or "its actions"
                yield finding_for(
                    record,
                    f"{record['resource_type']} grants {actions} to {service} with no aws:SourceArn or "
                    "aws:SourceAccount condition: any account's resources of that service can use it",
                    element=f"{service} {','.join(record['actions'])}",
                )


RULE = ConfusedDeputy()
