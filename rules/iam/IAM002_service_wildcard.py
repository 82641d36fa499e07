"""IAM002: an identity policy allows every action of a service (``s3:*``)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from checker.ruleapi import Facts, Finding, Param, RuleMeta, finding_for, is_service_wildcard, listed


class ServiceWildcard:
    meta = RuleMeta(
        id="IAM002",
        title="IAM policy allows every action of a service",
        severity="high",
        tags=("iam",),
        views=("iam_statements",),
        rationale=(
            "`s3:*` or `iam:*` grants every present and future action of the service: deleting "
            "buckets and their policies, or for IAM creating users and attaching policies, which "
            "is full administrator in a few calls. Workloads need a handful of actions; the rest "
            "is blast radius when the credentials leak."
        ),
        judges=("Identity policies (as IAM001): Allow statements whose Action matches every action of one service."),
        remediation=(
            "List the actions the workload calls (`s3:GetObject`, `s3:PutObject`). If a whole "
            "service is accepted by your organization, add it to `allowed_services`."
        ),
        params=(
            Param(
                "allowed_services",
                "string_list",
                [],
                "service prefixes whose `svc:*` is accepted (e.g. `logs`)",
                tighter="fewer",
            ),
        ),
        example_fail=('Statement:\n  - Effect: Allow\n    Action: s3:*\n    Resource: !Sub "${Bucket.Arn}/*"\n'),
        example_pass=(
            "Statement:\n  - Effect: Allow\n    Action: [s3:GetObject, s3:PutObject]\n"
            '    Resource: !Sub "${Bucket.Arn}/*"\n'
        ),
        references=("https://docs.aws.amazon.com/IAM/latest/UserGuide/best-practices.html#grant-least-privilege",),
    )

    def evaluate(self, facts: Facts, params: Mapping[str, Any]) -> Iterator[Finding]:
        allowed = [f"{service}:*" for service in params["allowed_services"]]
        for record in facts.view("iam_statements"):
            if record["effect"] != "Allow" or record["policy_kind"] != "identity":
                continue
            for action in record["actions"]:
                if is_service_wildcard(action) and not listed(action, allowed):
                    yield finding_for(
                        record,
                        f"{record['path']} allows every {action.partition(':')[0]} action ({action!r})",
                        line=record["action_line"],
                        element=action,
                    )


RULE = ServiceWildcard()
