"""IAM013: an Allow statement whose actions the template does not determine."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from checker.ruleapi import Facts, Finding, RuleMeta, finding_for


class UnresolvedAction:
    meta = RuleMeta(
        id="IAM013",
        title="Allow statement with an action the template does not determine",
        severity="high",
        tags=("iam",),
        views=("iam_statements", "iam_managed_policies"),
        rationale=(
            "`Action: !Ref Actions` with no default, no `AllowedValues` and no value in a "
            "deployment parameter file, an action read from SSM, an import or a custom resource: "
            "the build is judged without knowing what the policy grants, and the deployment can "
            "pass `*`. checker resolves every value the repository determines (each condition "
            "branch, map entry, allowed value, default and parameter-file value) and judges each; "
            "what is left is reported here, so that nothing passes by omission. A value with more "
            "alternatives than checker enumerates is reported the same way. Judged in every "
            "policy kind: identity, resource and trust policies, `Action` and `NotAction`."
        ),
        judges=(
            "Every policy (identity, resource, trust): Allow statements, Action and NotAction, in "
            "every form the template and its deployment parameter files can give them; and the "
            "managed policies attached (ManagedPolicyArns, SSO ManagedPolicies, SAM Policies entries)."
        ),
        remediation=(
            "Write the actions in the template, give the parameter `AllowedValues` (each is judged), "
            "or commit the values it is deployed with: `samconfig.toml` `parameter_overrides` "
            "beside the template, or a CloudFormation parameter file (`[{ParameterKey, "
            "ParameterValue}]` or `{Parameters: {...}}`) in the repository."
        ),
        example_fail=(
            "Resources:\n  Policy:\n    Type: AWS::IAM::ManagedPolicy\n    Properties:\n"
            "      PolicyDocument:\n        Statement:\n          - Effect: Allow\n"
            "            Action: !Ref Actions\n            Resource: !GetAtt Table.Arn\n"
            "  Table:\n    Type: AWS::DynamoDB::Table\n"
            "Parameters:\n  Actions:\n    Type: CommaDelimitedList\n"
        ),
        example_pass=(
            "Resources:\n  Policy:\n    Type: AWS::IAM::ManagedPolicy\n    Properties:\n"
            "      PolicyDocument:\n        Statement:\n          - Effect: Allow\n"
            "            Action: !Ref Actions\n            Resource: !GetAtt Table.Arn\n"
            "  Table:\n    Type: AWS::DynamoDB::Table\n"
            "Parameters:\n  Actions:\n    Type: CommaDelimitedList\n"
            "    AllowedValues: [dynamodb:GetItem, dynamodb:Query]\n"
        ),
        references=(
            "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/parameters-section-structure.html",
            "https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/serverless-sam-cli-config.html",
        ),
    )

    def evaluate(self, facts: Facts, params: Mapping[str, Any]) -> Iterator[Finding]:
        for record in facts.view("iam_statements"):
            if record["effect"] != "Allow":
                continue
            unresolved = record["unresolved"]
            for field, label in (("actions", "Action"), ("not_actions", "NotAction")):
                for value in unresolved.get(field, ()):
                    yield finding_for(
                        record,
                        f"{record['path']} {label} {value} is not determined by the template or its "
                        "parameter files: the deployment decides what it grants",
                        line=record["action_line"],
                        element=f"{label} {value}",
                    )
        for record in facts.view("iam_managed_policies"):
            if record["undetermined"]:
                yield finding_for(
                    record,
                    f"{record['path']} attaches {record['policy']}, which the template and its parameter files do "
                    "not determine: the deployment decides which policy (AdministratorAccess?) the holder gets",
                    element=f"ManagedPolicy {record['policy']}",
                )


RULE = UnresolvedAction()
