"""IAM007: ``iam:PassRole`` allowed on every role."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from checker.ruleapi import Facts, Finding, RuleMeta, finding_for, listed


class PassRoleOnAnyRole:
    meta = RuleMeta(
        id="IAM007",
        title="iam:PassRole allowed on every role",
        severity="critical",
        tags=("iam",),
        views=("iam_statements",),
        rationale=(
            "`iam:PassRole` on `*` lets the holder give any role in the account, administrator "
            "roles included, to a service it controls (a Lambda function, an EC2 instance, a "
            "CloudFormation stack) and then act as that role. It is the most used privilege-"
            "escalation path in AWS."
        ),
        judges=(
            'Identity policies (as IAM001): Allow statements on `Resource: "*"` whose Action matches `iam:PassRole`.'
        ),
        remediation=(
            "Scope `Resource` to the ARNs of the roles the workload must pass, and add an "
            "`iam:PassedToService` condition naming the service that receives them."
        ),
        example_fail='Statement:\n  - Effect: Allow\n    Action: iam:PassRole\n    Resource: "*"\n',
        example_pass=(
            "Statement:\n  - Effect: Allow\n    Action: iam:PassRole\n    Resource: !GetAtt TaskRole.Arn\n"
            "    Condition:\n      StringEquals: {iam:PassedToService: ecs-tasks.amazonaws.com}\n"
        ),
        references=("https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_passrole.html",),
    )

    def evaluate(self, facts: Facts, params: Mapping[str, Any]) -> Iterator[Finding]:
        for record in facts.view("iam_statements"):
            if record["effect"] != "Allow" or record["policy_kind"] != "identity" or "*" not in record["resources"]:
                continue
            for action in record["actions"]:
                # A bare "*" is IAM001's finding already.
                if action != "*" and listed("iam:PassRole", [action]):
                    yield finding_for(
                        record,
                        f"{action!r} allows passing every role (Resource '*')",
                        line=record["action_line"],
                        element=f"{action} on *",
                    )


RULE = PassRoleOnAnyRole()
