"""The ``iam_statements`` view: every policy statement, normalized.

Each record is one statement of one policy document, wherever CloudFormation
lets a template put one: identity policies on IAM resources, trust policies,
and resource policies. Single statements and lists, string and list fields,
and documents given as JSON strings all come out in one shape. Values built
with intrinsic functions are resolved where the template allows (see
:mod:`checker.facts.intrinsics`); what cannot be resolved stays in the lists
as ``<unresolved ...>`` text, so it never matches ``*`` and is never lost.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from checker.errors import InputError
from checker.facts.intrinsics import Resolver
from checker.loaders.json_loader import load_json
from checker.loaders.nodes import LineDict, line_of
from checker.templates import Template

FIELDS = (
    "template",
    "stack",
    "resource",
    "resource_type",
    "line",
    "path",
    "policy_kind",
    "sid",
    "effect",
    "actions",
    "not_actions",
    "resources",
    "not_resources",
    "principals",
    "not_principals",
    "condition",
    "action_line",
)

# Where each resource type keeps its policy documents: a path into the
# properties ("*" walks a list) and what kind of policy it is.
SOURCES: dict[str, tuple[tuple[tuple[str, ...], str], ...]] = {
    "AWS::IAM::Role": (
        (("Policies", "*", "PolicyDocument"), "identity"),
        (("AssumeRolePolicyDocument",), "trust"),
    ),
    "AWS::IAM::User": ((("Policies", "*", "PolicyDocument"), "identity"),),
    "AWS::IAM::Group": ((("Policies", "*", "PolicyDocument"), "identity"),),
    "AWS::IAM::Policy": ((("PolicyDocument",), "identity"),),
    "AWS::IAM::ManagedPolicy": ((("PolicyDocument",), "identity"),),
    "AWS::IAM::RolePolicy": ((("PolicyDocument",), "identity"),),
    "AWS::IAM::UserPolicy": ((("PolicyDocument",), "identity"),),
    "AWS::IAM::GroupPolicy": ((("PolicyDocument",), "identity"),),
    "AWS::S3::BucketPolicy": ((("PolicyDocument",), "resource"),),
    "AWS::SQS::QueuePolicy": ((("PolicyDocument",), "resource"),),
    "AWS::SNS::TopicPolicy": ((("PolicyDocument",), "resource"),),
    "AWS::SNS::TopicInlinePolicy": ((("PolicyDocument",), "resource"),),
    "AWS::KMS::Key": ((("KeyPolicy",), "resource"),),
    "AWS::SecretsManager::ResourcePolicy": ((("ResourcePolicy",), "resource"),),
    "AWS::ECR::Repository": ((("RepositoryPolicyText",), "resource"),),
    "AWS::Logs::ResourcePolicy": ((("PolicyDocument",), "resource"),),
    "AWS::ApiGateway::RestApi": ((("Policy",), "resource"),),
    "AWS::OpenSearchService::Domain": ((("AccessPolicies",), "resource"),),
    "AWS::Elasticsearch::Domain": ((("AccessPolicies",), "resource"),),
    "AWS::Events::EventBus": ((("Policy",), "resource"),),
}


def _documents(
    properties: Any, spec: tuple[str, ...], path: str, line: int | None
) -> Iterator[tuple[Any, str, int | None]]:
    """Yield (document, json path, line) for each place ``spec`` reaches."""
    if not spec:
        yield properties, path, line
        return
    head, rest = spec[0], spec[1:]
    if head == "*":
        if isinstance(properties, list):
            for index, item in enumerate(properties):
                yield from _documents(item, rest, f"{path}[{index}]", line_of(properties, index))
        return
    if isinstance(properties, dict) and head in properties:
        yield from _documents(properties[head], rest, f"{path}.{head}", line_of(properties, head))


def _principals(value: Any, resolver: Resolver) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict) and not any(k == "Ref" or k.startswith("Fn::") for k in value):
        return [f"{kind}:{item}" for kind, entry in value.items() for item in resolver.resolve_list(entry)]
    return [str(item) for item in resolver.resolve_list(value)]


def _strings(value: Any, resolver: Resolver) -> list[str]:
    if value is None:
        return []
    return [str(item) for item in resolver.resolve_list(value)]


def _statements(document: Any, template: Template, where: str, line: int | None) -> tuple[Any, int | None]:
    """The Statement list of a document given as a mapping or a JSON string."""
    if isinstance(document, str):
        try:
            document = load_json(document, template.relpath)
        except InputError as exc:
            raise InputError(
                f"policy document at {where} is not valid JSON: {exc.message}",
                path=template.relpath,
                line=line,
            ) from None
        # Lines inside a string count from the string's start; drop them so
        # findings point at the property's line instead.
        statements = document.get("Statement") if isinstance(document, dict) else None
        return json.loads(json.dumps(statements)), line
    if isinstance(document, dict):
        return document.get("Statement"), line_of(document, "Statement") or line
    return None, line


def _key_line(statement: dict[str, Any], keys: tuple[str, ...]) -> int | None:
    if isinstance(statement, LineDict):
        return next((statement.key_lines[k] for k in keys if k in statement.key_lines), None)
    return None


def build(template: Template) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    resolver = Resolver(template.data)
    resources = template.resources
    for logical_id, body in resources.items():
        if not isinstance(body, dict):
            continue
        sources = SOURCES.get(body.get("Type"))  # type: ignore[arg-type]
        properties = body.get("Properties")
        if sources is None or not isinstance(properties, dict):
            continue
        for spec, kind in sources:
            for document, path, line in _documents(
                properties, spec, "Properties", line_of(resources, logical_id)
            ):
                statements, line = _statements(document, template, path, line)
                if isinstance(statements, dict):
                    own = line_of(statements)
                    items: list[tuple[Any, int | None, str]] = [
                        (statements, own or line, f"{path}.Statement")
                    ]
                elif isinstance(statements, list):
                    items = [
                        (s, line_of(statements, i) or line, f"{path}.Statement[{i}]")
                        for i, s in enumerate(statements)
                    ]
                else:
                    continue
                for statement, stmt_line, stmt_path in items:
                    if not isinstance(statement, dict):
                        continue
                    records.append(
                        _record(
                            template,
                            str(logical_id),
                            body["Type"],
                            kind,
                            statement,
                            stmt_line,
                            stmt_path,
                            resolver,
                        )
                    )
    return records


def _record(
    template: Template,
    logical_id: str,
    resource_type: str,
    kind: str,
    statement: dict[str, Any],
    line: int | None,
    path: str,
    resolver: Resolver,
) -> dict[str, Any]:
    effect = statement.get("Effect")
    return {
        "template": template.relpath,
        "stack": template.stack,
        "resource": logical_id,
        "resource_type": resource_type,
        "line": line,
        "path": path,
        "policy_kind": kind,
        "sid": statement.get("Sid") if isinstance(statement.get("Sid"), str) else None,
        "effect": effect if isinstance(effect, str) else str(resolver.resolve(effect)[0]),
        "actions": _strings(statement.get("Action"), resolver),
        "not_actions": _strings(statement.get("NotAction"), resolver),
        "resources": _strings(statement.get("Resource"), resolver),
        "not_resources": _strings(statement.get("NotResource"), resolver),
        "principals": _principals(statement.get("Principal"), resolver),
        "not_principals": _principals(statement.get("NotPrincipal"), resolver),
        "condition": statement.get("Condition") if isinstance(statement.get("Condition"), dict) else None,
        "action_line": _key_line(statement, ("Action", "NotAction")) or line,
    }
