"""The ``iam_managed_policies`` view: managed policies attached by ARN or name.

Sources: ``ManagedPolicyArns`` of IAM roles, users and groups,
``ManagedPolicies`` of IAM Identity Center permission sets, and the string
entries of a SAM function's or state machine's ``Policies`` (SAM takes AWS
managed policy names there, or ARNs). Each entry is every value it can take
(an ``Fn::If`` around the list or an entry, a parameter's values, a map entry).
"""

from __future__ import annotations

from typing import Any

from checker.facts.intrinsics import Resolver, Unknown, is_intrinsic
from checker.loaders.nodes import line_of
from checker.templates import Template

FIELDS = (
    "template",
    "stack",
    "resource",
    "resource_type",
    "line",
    "path",
    "policy",
    "name",
    "aws_managed",
    "undetermined",
)

_ARN_HOLDERS = ("AWS::IAM::Role", "AWS::IAM::User", "AWS::IAM::Group")
_SAM_HOLDERS = ("AWS::Serverless::Function", "AWS::Serverless::StateMachine")
_SSO = "AWS::SSO::PermissionSet"
_HOLDERS = (*_ARN_HOLDERS, *_SAM_HOLDERS, _SSO)


def _key(resource_type: str) -> str:
    if resource_type in _ARN_HOLDERS:
        return "ManagedPolicyArns"
    return "ManagedPolicies" if resource_type == _SSO else "Policies"


def _entries(resource_type: str, properties: dict[str, Any]) -> list[tuple[Any, str, int | None]]:
    key = _key(resource_type)
    value = properties.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        if resource_type in _SAM_HOLDERS and isinstance(value, dict) and not is_intrinsic(value):
            return []  # one inline policy or policy template: the iam_statements view
        return [(value, f"Properties.{key}", line_of(properties, key))]
    found = []
    for index, item in enumerate(value):
        if resource_type in _SAM_HOLDERS and isinstance(item, dict) and not is_intrinsic(item):
            continue  # inline statements or a policy template: the iam_statements view
        found.append((item, f"Properties.{key}[{index}]", line_of(value, index)))
    return found


def build(template: Template) -> list[dict[str, Any]]:
    resolver = Resolver(template.data, template.parameter_values)
    records = []
    resources = template.resources
    for logical_id, body in resources.items():
        if not isinstance(body, dict) or body.get("Type") not in _HOLDERS:
            continue
        properties = body.get("Properties")
        if not isinstance(properties, dict):
            continue
        for value, path, line in _entries(body["Type"], properties):
            for policy in resolver.resolve_list(value):
                text = str(policy)
                # Which policy the deployment attaches is not known: it may be AdministratorAccess.
                undetermined = isinstance(policy, Unknown) and policy.kind != "specific"
                is_arn = text.startswith("arn:")
                name = text.rpartition("/")[2] if is_arn else text
                records.append(
                    {
                        "template": template.relpath,
                        "stack": template.stack,
                        "resource": str(logical_id),
                        "resource_type": body["Type"],
                        "line": line or line_of(resources, logical_id),
                        "path": path,
                        "policy": text,
                        "name": name,
                        # AWS managed: an ARN in the "aws" account, or a bare name as SAM takes it.
                        "aws_managed": (":iam::aws:policy/" in text) or (not is_arn and not text.startswith("<")),
                        "undetermined": undetermined,
                    }
                )
    return records
