"""IAM007: ``iam:PassRole`` allowed on every role."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from checker.ruleapi import Facts, Finding, RuleMeta, covers_every, finding_for, listed


def _every_role(resource: str) -> bool:
    """``*``, or an IAM ARN for every role (``arn:aws:iam::*:role/*``,
    ``arn:${AWS::Partition}:iam::${AWS::AccountId}:role/*``)."""
    return covers_every(resource) and (not resource.strip("*?") or bool(_ROLES.search(resource)))


_ROLES = re.compile(r":iam::(?:\$\{[^}]*\}|[^:])*:(role/|[*?]+>?$)")


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
            wide = next((r for r in record["resources"] if _every_role(r)), None)
            if record["effect"] != "Allow" or record["policy_kind"] != "identity" or wide is None:
                continue
            for action in record["actions"]:
                # A bare "*" is IAM001's finding already.
                if action != "*" and listed("iam:PassRole", [action]):
                    yield finding_for(
                        record,
                        f"{action!r} allows passing every role (Resource {wide!r})",
                        line=record["action_line"],
                        element=f"{action} on {wide}",
                    )


RULE = PassRoleOnAnyRole()
