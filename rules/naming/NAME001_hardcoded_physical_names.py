"""NAME001: a resource's physical name written as a fixed string."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from checker.ruleapi import Facts, Finding, Param, RuleMeta, finding_for, line_of

_PROPERTIES = [
    "BucketName",
    "FunctionName",
    "TableName",
    "RoleName",
    "QueueName",
    "TopicName",
    "StateMachineName",
    "ManagedPolicyName",
    "UserName",
    "InstanceProfileName",
    "LogGroupName",
    "RepositoryName",
    "StreamName",
    "DeliveryStreamName",
    "SecretName",
    "KeyAlias",
    "ClusterName",
    "DBInstanceIdentifier",
    "DBClusterIdentifier",
    "ReplicationGroupId",
]


def _fixed_text(value: Any) -> str | None:
    """The name if it is the same in every stack: a plain string, or an
    intrinsic that references nothing (``!Sub "orders"``, a Join of literals)."""
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping) and len(value) == 1:
        ((fn, arg),) = value.items()
        if fn == "Fn::Sub" and isinstance(arg, str) and "${" not in arg.replace("${!", ""):
            return arg
        if (
            fn == "Fn::Join"
            and isinstance(arg, list)
            and len(arg) == 2
            and isinstance(arg[0], str)
            and isinstance(arg[1], list)
            and all(isinstance(i, str) for i in arg[1])
        ):
            return arg[0].join(arg[1])
    return None


def _namespaced(name: str, record: Mapping[str, Any]) -> bool:
    """A name the Serverless Framework derived from service and stage
    (``orders-dev-hello``, ``/aws/lambda/orders-dev-hello``): its package
    output spells it out, but each stage gets its own, so stages deploy side
    by side. The stack is ``service-stage`` (from the framework's state file)."""
    namespace = record.get("stack")
    if record.get("template_kind") != "serverless" or not namespace:
        return False
    return re.search(rf"(?<![A-Za-z0-9]){re.escape(namespace)}(?![A-Za-z0-9])", name) is not None


class HardcodedPhysicalNames:
    meta = RuleMeta(
        id="NAME001",
        title="Physical resource name is hard-coded",
        severity="medium",
        tags=("naming",),
        views=("resources",),
        rationale=(
            "A fixed physical name (`BucketName: orders`) can exist only once per account "
            "and region. Two branches, two developers or a blue/green copy of the stack "
            "cannot be deployed side by side, and CloudFormation cannot replace the resource "
            "on an update that needs replacement: the deployment fails and blocks the release. "
            "The Serverless Framework's package output spells out the names it derives from "
            "service and stage (`orders-dev-hello`); each stage gets its own, so those are not findings."
        ),
        remediation=(
            "Leave the name out and let CloudFormation generate one, or derive it from the "
            'stack: `!Sub "${AWS::StackName}-orders"`, or from a parameter. Reference the '
            "resource with `!Ref`/`!GetAtt` instead of by its literal name."
        ),
        params=(
            Param(
                "properties",
                "string_list",
                _PROPERTIES,
                "properties that set a physical name",
                tighter="more",
            ),
        ),
        example_fail="Orders:\n  Type: AWS::DynamoDB::Table\n  Properties:\n    TableName: orders\n",
        example_pass=(
            'Orders:\n  Type: AWS::DynamoDB::Table\n  Properties:\n    TableName: !Sub "${AWS::StackName}-orders"\n'
        ),
        references=("https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-name.html",),
    )

    def evaluate(self, facts: Facts, params: Mapping[str, Any]) -> Iterator[Finding]:
        names = params["properties"]
        for record in facts.view("resources"):
            properties = record["properties"]
            for name in names:
                if name not in properties:
                    continue
                fixed = _fixed_text(properties[name])
                if fixed is not None and not _namespaced(fixed, record):
                    yield finding_for(
                        record,
                        f"{record['type']} sets {name} to the fixed name {fixed!r}",
                        line=line_of(properties, name),
                        element=f"{name}={fixed}",
                    )


RULE = HardcodedPhysicalNames()
