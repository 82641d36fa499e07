"""IAM014: an Allow statement whose principal or resource the template does
not determine."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from checker.ruleapi import Facts, Finding, RuleMeta, finding_for

_PLACEHOLDER = re.compile(r"\$\{(?:\?|AWS::\w+)\}")


def _whole(value: str) -> bool:
    """Whether the deployment decides the whole value (``!Ref Param``,
    ``!ImportValue``, ``"${Param}"``), not one part of an ARN the template
    writes (``arn:aws:s3:::${BucketName}/*`` is still an object of one bucket
    the team names)."""
    text = value.split(":", 1)[1] if re.match(r"(AWS|Service|Federated|CanonicalUser):<", value) else value
    text = text.removeprefix("<unresolved ").removesuffix(">")
    return text.startswith("{") or not re.search(r"[A-Za-z0-9]", _PLACEHOLDER.sub("", text))


_FIELDS = (
    ("principals", "Principal"),
    ("not_principals", "NotPrincipal"),
    ("resources", "Resource"),
    ("not_resources", "NotResource"),
)


class UnresolvedPrincipalOrResource:
    meta = RuleMeta(
        id="IAM014",
        title="Allow statement with a principal or resource the template does not determine",
        severity="medium",
        tags=("iam",),
        views=("iam_statements",),
        rationale=(
            "A `Principal` or `Resource` that is wholly a parameter with no known value, an "
            "import, an SSM value or a custom resource's attribute is judged without knowing it: "
            "deployed as `*`, a queue policy is public and a role's writes reach every table. "
            "ARNs of the template's own resources (`!GetAtt Table.Arn`, `${Bucket.Arn}/*`), the "
            "account and the region are specific and not reported; nor is an ARN the template "
            "writes around a parameter (`arn:aws:s3:::${BucketName}/*`), which names objects of "
            "one bucket. Judged in identity, resource and trust policies."
        ),
        judges=(
            "Every policy (identity, resource, trust): Allow statements' Principal, NotPrincipal, "
            "Resource and NotResource, when the whole value is undetermined."
        ),
        remediation=(
            "Build the ARN from the template's resources, give the parameter `AllowedValues` or a "
            "pattern-free default, or commit the values it is deployed with (`samconfig.toml` "
            "`parameter_overrides`, a CloudFormation parameter file)."
        ),
        example_fail=(
            "Resources:\n  Policy:\n    Type: AWS::IAM::ManagedPolicy\n    Properties:\n"
            "      PolicyDocument:\n        Statement:\n          - Effect: Allow\n"
            "            Action: dynamodb:PutItem\n            Resource: !Ref TableArn\n"
            "Parameters:\n  TableArn:\n    Type: String\n"
        ),
        example_pass=(
            "Resources:\n  Table:\n    Type: AWS::DynamoDB::Table\n"
            "  Policy:\n    Type: AWS::IAM::ManagedPolicy\n    Properties:\n"
            "      PolicyDocument:\n        Statement:\n          - Effect: Allow\n"
            "            Action: dynamodb:PutItem\n            Resource: !GetAtt Table.Arn\n"
        ),
        references=(
            "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/parameters-section-structure.html",
        ),
    )

    def evaluate(self, facts: Facts, params: Mapping[str, Any]) -> Iterator[Finding]:
        for record in facts.view("iam_statements"):
            if record["effect"] != "Allow":
                continue
            unresolved = record["unresolved"]
            for field, label in _FIELDS:
                for value in unresolved.get(field, ()):
                    if not _whole(value):
                        continue
                    yield finding_for(
                        record,
                        f"{record['path']} {label} {value} is not determined by the template or its parameter files",
                        element=f"{label} {value}",
                    )


RULE = UnresolvedPrincipalOrResource()
