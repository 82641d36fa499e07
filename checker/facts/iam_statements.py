"""The ``iam_statements`` view: every policy statement, normalized.

Each record is one statement of one policy, wherever a template can put one:
identity policies on IAM resources and on SAM functions and state machines
(inline statements and SAM policy templates, expanded), trust policies, and
resource policies (including ``AWS::Lambda::Permission`` and the legacy form
of ``AWS::Events::EventBusPolicy``, turned into the statement they grant).
Single statements and lists, string and list fields, and documents given as
JSON strings all come out in one shape. Values built with intrinsic
functions are resolved where the template allows (see
:mod:`checker.facts.intrinsics`); what cannot be resolved stays in the lists
as ``<unresolved ...>`` text, so it never matches ``*`` and is never lost.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from checker.errors import InputError
from checker.facts import sam_policies
from checker.facts.intrinsics import Resolver
from checker.facts.policy_carriers import CARRIERS
from checker.iam import is_all_actions
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
    "all_actions",
    "not_actions",
    "resources",
    "not_resources",
    "principals",
    "not_principals",
    "condition",
    "action_line",
    "origin",
)


# Where each resource type keeps its policy documents: a path into the
# properties ("*" walks a list) and what kind of policy it is; built from the
# classification of every policy-named property in the schemas.
def _sources() -> dict[str, tuple[tuple[tuple[str, ...], str], ...]]:
    sources: dict[str, list[tuple[tuple[str, ...], str]]] = {}
    for (resource_type, path), kind in CARRIERS.items():
        sources.setdefault(resource_type, []).append((tuple(path.split(".")), kind))
    return {resource_type: tuple(entries) for resource_type, entries in sources.items()}


SOURCES = _sources()
SAM_POLICY_HOLDERS = ("AWS::Serverless::Function", "AWS::Serverless::StateMachine")

Items = list[tuple[Any, "int | None", str, str]]  # statement, line, path, origin


def branches(value: Any, depth: int = 0) -> list[Any]:
    """Every value an ``Fn::If`` can take (both branches, nested), without
    ``AWS::NoValue``: a statement, a list of them or a whole document under a
    condition is read in each form it can deploy as."""
    if isinstance(value, dict) and set(value) == {"Fn::If"} and depth < 10:
        arg = value["Fn::If"]
        if isinstance(arg, list) and len(arg) == 3:
            return branches(arg[1], depth + 1) + branches(arg[2], depth + 1)
    if isinstance(value, dict) and value == {"Ref": "AWS::NoValue"}:
        return []
    return [value]


def _documents(
    properties: Any, spec: tuple[str, ...], path: str, line: int | None
) -> Iterator[tuple[Any, str, int | None]]:
    """Yield (document, json path, line) for each place ``spec`` reaches, in
    each form an ``Fn::If`` on the way can take."""
    for value in branches(properties):
        if not spec:
            yield value, path, line
            continue
        head, rest = spec[0], spec[1:]
        if head == "*":
            if isinstance(value, list):
                for index, item in enumerate(value):
                    yield from _documents(item, rest, f"{path}[{index}]", line_of(value, index) or line)
            continue
        if isinstance(value, dict) and head in value:
            yield from _documents(value[head], rest, f"{path}.{head}", line_of(value, head) or line)


def _parse_string(document: str, template: Template, where: str, line: int | None) -> Any:
    try:
        parsed = load_json(document, template.relpath)
    except InputError as exc:
        raise InputError(
            f"policy document at {where} is not valid JSON: {exc.message}",
            path=template.relpath,
            line=line,
        ) from None
    # Lines inside a string count from the string's start; plain data makes
    # findings point at the property's line instead.
    return json.loads(json.dumps(parsed))


def _statements(document: Any, template: Template, path: str, line: int | None, origin: str) -> Items:
    """The statements of a policy document given as a mapping or a JSON string."""
    items: Items = []
    for form in branches(document):
        if isinstance(form, dict) and len(form) == 1 and next(iter(form)) in ("Fn::Sub", "Fn::Join"):
            # A document written as JSON text built by an intrinsic: each text it can be.
            texts = [t for t in Resolver(template.data).resolve(form) if isinstance(t, str)]
            for text in texts:
                items += _statements(text, template, path, line, origin)
            continue
        items += _document_statements(form, template, path, line, origin)
    return items


def _document_statements(document: Any, template: Template, path: str, line: int | None, origin: str) -> Items:
    if isinstance(document, str) and not document.strip():
        return []  # an empty policy is no policy (`serverless package` writes "Policy": "" on a RestApi)
    if isinstance(document, str):
        document = _parse_string(document, template, path, line)
    if not isinstance(document, dict):
        return []
    line = line_of(document, "Statement") or line
    items: Items = []
    for statements in branches(document.get("Statement")):
        if isinstance(statements, dict):
            items += [(form, line_of(statements) or line, f"{path}.Statement", origin) for form in branches(statements)]
        elif isinstance(statements, list):
            for i, statement in enumerate(statements):
                at = line_of(statements, i) or line
                items += [(form, at, f"{path}.Statement[{i}]", origin) for form in branches(statement)]
    return items


def _sam_policies(properties: dict[str, Any], template: Template, line: int | None) -> Items:
    """Inline statements and expanded policy templates of a SAM ``Policies``."""
    policies = properties.get("Policies")
    entries = policies if isinstance(policies, list) else [policies]
    # An entry under Fn::If is each entry it can be (a managed policy name, a statement, a template).
    forms = [(index, form) for index, entry in enumerate(entries) for form in branches(entry)]
    items: Items = []
    for index, entry in forms:
        path = f"Properties.Policies[{index}]" if isinstance(policies, list) else "Properties.Policies"
        entry_line = (
            (line_of(policies, index) if isinstance(policies, list) else None)
            or line_of(properties, "Policies")
            or line
        )
        if not isinstance(entry, dict) or any(k == "Ref" or k.startswith("Fn::") for k in entry):
            continue  # a managed policy name or ARN: the iam_managed_policies view
        if "Statement" in entry:
            items += _statements(entry, template, path, entry_line, "sam-inline")
            continue
        for name, arguments in entry.items():
            expanded = sam_policies.expand(str(name), arguments)
            if expanded is None:
                unknown = {"Effect": "Allow", "Action": f"<unresolved SAM policy template {name}>"}
                items.append((unknown, entry_line, f"{path}.{name}", "sam-template"))
                continue
            items += [
                (s, entry_line, f"{path}.{name}.Statement[{i}]", f"sam-template:{name}") for i, s in enumerate(expanded)
            ]
    return items


def _public_function_url(properties: dict[str, Any], line: int | None) -> Items:
    """A function URL with ``AuthType: NONE`` (``AWS::Lambda::Url``, or a SAM
    function's ``FunctionUrlConfig``) lets every caller invoke it: the
    resource-policy statement that grants it."""
    config = properties.get("FunctionUrlConfig", properties)
    if not isinstance(config, dict) or config.get("AuthType") != "NONE":
        return []
    statement = {
        "Effect": "Allow",
        "Principal": "*",
        "Action": "lambda:InvokeFunctionUrl",
        "Condition": {"StringEquals": {"lambda:FunctionUrlAuthType": "NONE"}},
    }
    return [
        (statement, line_of(properties, "FunctionUrlConfig") or line, "Properties.FunctionUrlConfig", "function-url")
    ]


def _sam_api_statements(properties: dict[str, Any], line: int | None) -> Items:
    """A SAM API's resource policy statements (``Auth.ResourcePolicy.CustomStatements``)."""
    auth = properties.get("Auth")
    policy = auth.get("ResourcePolicy") if isinstance(auth, dict) else None
    custom = policy.get("CustomStatements") if isinstance(policy, dict) else None
    path = "Properties.Auth.ResourcePolicy.CustomStatements"
    items: Items = []
    for form in branches(custom):
        listed = form if isinstance(form, list) else [form]
        for index, statement in enumerate(listed):
            at = (line_of(form, index) if isinstance(form, list) else None) or line
            items += [(s, at, f"{path}[{index}]", "sam-api") for s in branches(statement)]
    return items


def _lambda_permission(properties: dict[str, Any], line: int | None) -> Items:
    """The resource-policy statement an ``AWS::Lambda::Permission`` adds."""
    condition: dict[str, Any] = {}
    if "SourceAccount" in properties:
        condition.setdefault("StringEquals", {})["aws:SourceAccount"] = properties["SourceAccount"]
    if "PrincipalOrgID" in properties:
        condition.setdefault("StringEquals", {})["aws:PrincipalOrgID"] = properties["PrincipalOrgID"]
    if "SourceArn" in properties:
        condition.setdefault("ArnLike", {})["aws:SourceArn"] = properties["SourceArn"]
    statement = {
        "Effect": "Allow",
        "Principal": properties.get("Principal"),
        "Action": properties.get("Action"),
        "Resource": properties.get("FunctionName"),
        **({"Condition": condition} if condition else {}),
    }
    return [(statement, line, "Properties", "lambda-permission")]


def _event_bus_policy(properties: dict[str, Any], template: Template, line: int | None) -> Items:
    statement = properties.get("Statement")
    if statement is not None:
        if isinstance(statement, str):
            statement = _parse_string(statement, template, "Properties.Statement", line)
        return [(statement, line_of(properties, "Statement") or line, "Properties.Statement", "event-bus")]
    principal = properties.get("Principal")
    legacy: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"AWS": principal} if principal is not None else None,
        "Action": properties.get("Action"),
    }
    condition = properties.get("Condition")
    if isinstance(condition, dict) and {"Key", "Value"} <= set(condition):
        legacy["Condition"] = {condition.get("Type", "StringEquals"): {condition["Key"]: condition["Value"]}}
    return [(legacy, line, "Properties", "event-bus-legacy")]


def _key_line(statement: dict[str, Any], keys: tuple[str, ...]) -> int | None:
    if isinstance(statement, LineDict):
        return next((statement.key_lines[k] for k in keys if k in statement.key_lines), None)
    return None


def _items_for(
    resource_type: str, properties: dict[str, Any], template: Template, line: int | None
) -> list[tuple[Items, str]]:
    if resource_type in SAM_POLICY_HOLDERS:
        return [
            (_sam_policies(properties, template, line), "identity"),
            (_public_function_url(properties, line), "resource"),
        ]
    if resource_type == "AWS::Serverless::Api":
        return [(_sam_api_statements(properties, line), "resource")]
    if resource_type == "AWS::Lambda::Url":
        return [(_public_function_url(properties, line), "resource")]
    if resource_type == "AWS::Lambda::Permission":
        return [(_lambda_permission(properties, line), "resource")]
    if resource_type == "AWS::Events::EventBusPolicy":
        return [(_event_bus_policy(properties, template, line), "resource")]
    found = []
    for spec, kind in SOURCES.get(resource_type, ()):
        for document, path, doc_line in _documents(properties, spec, "Properties", line):
            found.append((_statements(document, template, path, doc_line, "template"), kind))
    return found


def build(template: Template) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    resolver = Resolver(template.data)
    resources = template.resources
    for logical_id, body in resources.items():
        if not isinstance(body, dict) or not isinstance(body.get("Type"), str):
            continue
        properties = body.get("Properties")
        if not isinstance(properties, dict):
            continue
        line = line_of(resources, logical_id)
        for items, kind in _items_for(body["Type"], properties, template, line):
            for statement, stmt_line, path, origin in items:
                if isinstance(statement, dict):
                    records.append(
                        _record(
                            template,
                            str(logical_id),
                            body["Type"],
                            kind,
                            statement,
                            stmt_line,
                            path,
                            origin,
                            resolver,
                        )
                    )
    return records


def _effect(values: list[Any]) -> str:
    texts = [str(v) for v in values]
    return "Allow" if "Allow" in texts else texts[0] if texts else "Unknown"


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


def _record(
    template: Template,
    logical_id: str,
    resource_type: str,
    kind: str,
    statement: dict[str, Any],
    line: int | None,
    path: str,
    origin: str,
    resolver: Resolver,
) -> dict[str, Any]:
    effect = statement.get("Effect")
    condition = statement.get("Condition")
    return {
        "template": template.relpath,
        "stack": template.stack,
        "resource": logical_id,
        "resource_type": resource_type,
        "line": line,
        "path": path,
        "policy_kind": kind,
        "sid": statement.get("Sid") if isinstance(statement.get("Sid"), str) else None,
        # An Effect an Fn::If chooses is Allow if any branch is (it can deploy so).
        "effect": effect if isinstance(effect, str) else _effect(resolver.resolve(effect)),
        "actions": (actions := _strings(statement.get("Action"), resolver)),
        # Any pattern that matches every action ("*", "*:*", "?*"), in IAM's own wildcard semantics.
        "all_actions": any(is_all_actions(a) for a in actions),
        "not_actions": _strings(statement.get("NotAction"), resolver),
        "resources": _strings(statement.get("Resource"), resolver),
        "not_resources": _strings(statement.get("NotResource"), resolver),
        "principals": _principals(statement.get("Principal"), resolver),
        "not_principals": _principals(statement.get("NotPrincipal"), resolver),
        "condition": condition if isinstance(condition, dict) else None,
        "action_line": _key_line(statement, ("Action", "NotAction")) or line,
        "origin": origin,
    }
