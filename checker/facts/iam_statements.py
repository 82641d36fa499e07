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
from checker.facts.intrinsics import (
    Resolver,
    Unknown,
    Value,
    assumed,
    branch,
    condition_name,
    is_intrinsic,
    via_of,
)
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
    "when",
    "assumes",
    "via",
    "unresolved",
    "attached_to",
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

Via = tuple[str, ...]  # the conditions' branches that lead to a statement
Items = list[tuple[Any, "int | None", str, str, Via]]  # statement, line, path, origin, via
# Conditions around one policy part: beyond this nesting, or this many forms,
# the part is not enumerated and the template is reported as not judged.
_MAX_BRANCH_DEPTH = 10
MAX_FORMS = 256


class BranchCapReached(Exception):
    """A policy part has more forms (``Fn::If`` branches) than are enumerated."""


def branches(value: Any, via: Via = (), depth: int = 0) -> list[tuple[Any, Via]]:
    """Every value an ``Fn::If`` can take (both branches, nested), without
    ``AWS::NoValue``, each with the branches taken to reach it: a statement,
    a list of them or a whole document under a condition is read in each
    form it can deploy as."""
    if isinstance(value, dict) and set(value) == {"Fn::If"}:
        arg = value["Fn::If"]
        if depth >= _MAX_BRANCH_DEPTH:
            raise BranchCapReached(f"Fn::If nested more than {_MAX_BRANCH_DEPTH} deep")
        if isinstance(arg, list) and len(arg) == 3:
            # A condition already chosen on the way here takes the same branch again.
            fixed = assumed(via).get(condition_name(arg[0]))
            forms = [
                form
                for value, truth in ((arg[1], True), (arg[2], False))
                if fixed is None or truth == fixed
                for form in branches(value, (*via, branch(arg[0], truth)), depth + 1)
            ]
            if len(forms) > MAX_FORMS:
                raise BranchCapReached(f"more than {MAX_FORMS} forms of one policy part (Fn::If)")
            return forms
    if isinstance(value, dict) and value == {"Ref": "AWS::NoValue"}:
        return []
    return [(value, via)]


def _documents(
    properties: Any, spec: tuple[str, ...], path: str, line: int | None, via: Via = ()
) -> Iterator[tuple[Any, str, int | None, Via]]:
    """Yield (document, json path, line, via) for each place ``spec`` reaches,
    in each form an ``Fn::If`` on the way can take."""
    for value, taken in branches(properties, via):
        if not spec:
            yield value, path, line, taken
            continue
        head, rest = spec[0], spec[1:]
        if head == "*":
            if isinstance(value, list):
                for index, item in enumerate(value):
                    yield from _documents(item, rest, f"{path}[{index}]", line_of(value, index) or line, taken)
            continue
        if isinstance(value, dict) and head in value:
            yield from _documents(value[head], rest, f"{path}.{head}", line_of(value, head) or line, taken)


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


class _Context:
    """What reading one template's policies needs: the template (for errors)
    and its resolver (parameters, mappings, deployment values)."""

    __slots__ = ("globals", "resolver", "template")

    def __init__(self, template: Template) -> None:
        self.template = template
        self.resolver = Resolver(template.data, template.parameter_values)
        data: dict[str, Any] = template.data or {}
        sam_globals = data.get("Globals") if isinstance(data.get("Globals"), dict) else {}
        function = sam_globals.get("Function") if isinstance(sam_globals, dict) else None
        self.globals: dict[str, Any] = function if isinstance(function, dict) else {}


def _statements(document: Any, ctx: _Context, path: str, line: int | None, origin: str, via: Via = ()) -> Items:
    """The statements of a policy document given as a mapping or a JSON string."""
    items: Items = []
    for form, taken in branches(document, via):
        if is_intrinsic(form) and "Fn::ToJsonString" in form:
            # AWS::LanguageExtensions: the document written as data, deployed as its JSON text.
            items += _statements(form["Fn::ToJsonString"], ctx, path, line, origin, taken)
        elif is_intrinsic(form):
            # A document given by an intrinsic (JSON text built by Sub or Join, a
            # parameter, a map entry...): each text it can be; one that cannot be
            # resolved is an undetermined statement, never no statement.
            for text in ctx.resolver.resolve(form):
                if isinstance(text, Unknown):
                    partial = _partial_document(text)
                    if partial is not None:  # JSON text with some parts unresolved: judged field by field
                        items += _document_statements(partial, ctx, path, line, origin, taken)
                        continue
                    undetermined = {
                        "Effect": "Allow",
                        "Action": Unknown(f"policy document {text.expression}", text.kind),
                    }
                    items.append((undetermined, line, path, origin, taken))
                else:
                    items += _statements(str(text), ctx, path, line, origin, (*taken, *via_of(text)))
        else:
            items += _document_statements(form, ctx, path, line, origin, taken)
    return items


def _partial_document(text: Unknown) -> dict[str, Any] | None:
    """A JSON policy built by ``Fn::Sub``/``Fn::Join`` whose text is known but
    for some parts (``${?}``): the document, each string holding an unknown
    part an :class:`Unknown` itself; None when the text is no such document."""
    if text.kind == "capped" or not text.expression.lstrip().startswith("{"):
        return None
    try:
        document = json.loads(text.expression)
    except (ValueError, RecursionError):
        return None
    if not isinstance(document, dict) or "Statement" not in document:
        return None

    def mark(value: Any) -> Any:
        if isinstance(value, str) and "${" in value:
            return Unknown(value, text.kind)
        if isinstance(value, dict):
            return {k: mark(v) for k, v in value.items()}
        if isinstance(value, list):
            return [mark(v) for v in value]
        return value

    marked = mark(document)
    return marked if isinstance(marked, dict) else None


def _document_statements(document: Any, ctx: _Context, path: str, line: int | None, origin: str, via: Via) -> Items:
    if isinstance(document, str) and not document.strip():
        return []  # an empty policy is no policy (`serverless package` writes "Policy": "" on a RestApi)
    if isinstance(document, str):
        document = _parse_string(document, ctx.template, path, line)
    if not isinstance(document, dict):
        return []
    line = line_of(document, "Statement") or line
    items: Items = []
    for statements, taken in branches(document.get("Statement"), via):
        if isinstance(statements, dict):
            at = line_of(statements) or line
            items += [(form, at, f"{path}.Statement", origin, chosen) for form, chosen in branches(statements, taken)]
        elif isinstance(statements, list):
            for i, statement in enumerate(statements):
                at = line_of(statements, i) or line
                items += [
                    (form, at, f"{path}.Statement[{i}]", origin, chosen) for form, chosen in branches(statement, taken)
                ]
    return items


def _sam_policies(properties: dict[str, Any], ctx: _Context, line: int | None) -> Items:
    """Inline statements and expanded policy templates of a SAM ``Policies``."""
    policies = properties.get("Policies")
    entries = [(form, via) for form, via in branches(policies)]
    listed = [(i, e, via) for f, via in entries for i, e in enumerate(f if isinstance(f, list) else [f])]
    # An entry under Fn::If is each entry it can be (a managed policy name, a statement, a template).
    forms = [(index, form, chosen) for index, entry, via in listed for form, chosen in branches(entry, via)]
    items: Items = []
    for index, entry, via in forms:
        path = f"Properties.Policies[{index}]" if isinstance(policies, list) else "Properties.Policies"
        entry_line = (
            (line_of(policies, index) if isinstance(policies, list) else None)
            or line_of(properties, "Policies")
            or line
        )
        if not isinstance(entry, dict) or is_intrinsic(entry):
            continue  # a managed policy name or ARN: the iam_managed_policies view
        if "Statement" in entry:
            items += _statements(entry, ctx, path, entry_line, "sam-inline", via)
            continue
        for name, arguments in entry.items():
            expanded = sam_policies.expand(str(name), arguments)
            if expanded is None:
                unknown = {"Effect": "Allow", "Action": Unknown(f"SAM policy template {name}")}
                items.append((unknown, entry_line, f"{path}.{name}", "sam-template", via))
                continue
            items += [
                (s, entry_line, f"{path}.{name}.Statement[{i}]", f"sam-template:{name}", via)
                for i, s in enumerate(expanded)
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
    at = line_of(properties, "FunctionUrlConfig") or line
    return [(statement, at, "Properties.FunctionUrlConfig", "function-url", ())]


def _sam_api_statements(properties: dict[str, Any], line: int | None) -> Items:
    """A SAM API's resource policy statements (``Auth.ResourcePolicy.CustomStatements``)."""
    auth = properties.get("Auth")
    policy = auth.get("ResourcePolicy") if isinstance(auth, dict) else None
    custom = policy.get("CustomStatements") if isinstance(policy, dict) else None
    path = "Properties.Auth.ResourcePolicy.CustomStatements"
    items: Items = []
    # The accounts SAM grants invoke to (AwsAccountWhitelist: ["*"] is everyone).
    accounts = policy.get("AwsAccountWhitelist") if isinstance(policy, dict) else None
    if accounts is not None:
        granted = {"Effect": "Allow", "Principal": {"AWS": accounts}, "Action": "execute-api:Invoke"}
        at = line_of(policy, "AwsAccountWhitelist") or line
        items.append((granted, at, "Properties.Auth.ResourcePolicy.AwsAccountWhitelist", "sam-api", ()))
    for form, via in branches(custom):
        listed = form if isinstance(form, list) else [form]
        for index, statement in enumerate(listed):
            at = (line_of(form, index) if isinstance(form, list) else None) or line
            items += [(s, at, f"{path}[{index}]", "sam-api", chosen) for s, chosen in branches(statement, via)]
    return items


def _openapi_policy(properties: dict[str, Any], ctx: _Context, line: int | None) -> Items:
    """The resource policy an OpenAPI definition carries
    (``x-amazon-apigateway-policy`` in ``Body`` or SAM's ``DefinitionBody``)."""
    items: Items = []
    for key in ("Body", "DefinitionBody"):
        for body, via in branches(properties.get(key)):
            if isinstance(body, dict) and "x-amazon-apigateway-policy" in body:
                at = line_of(body, "x-amazon-apigateway-policy") or line
                path = f"Properties.{key}.x-amazon-apigateway-policy"
                items += _statements(body["x-amazon-apigateway-policy"], ctx, path, at, "openapi", via)
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
    return [(statement, line, "Properties", "lambda-permission", ())]


def _layer_permission(properties: dict[str, Any], line: int | None) -> Items:
    """The resource-policy statement an ``AWS::Lambda::LayerVersionPermission``
    adds: ``Principal`` is an account id or ``*`` (every account), narrowed
    to one organization by ``OrganizationId``."""
    principal = properties.get("Principal")
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": principal if principal == "*" else {"AWS": principal},
        "Action": properties.get("Action"),
        "Resource": properties.get("LayerVersionArn"),
    }
    if "OrganizationId" in properties:
        statement["Condition"] = {"StringEquals": {"aws:PrincipalOrgID": properties["OrganizationId"]}}
    return [(statement, line, "Properties", "layer-permission", ())]


def _event_bus_policy(properties: dict[str, Any], ctx: _Context, line: int | None) -> Items:
    statement = properties.get("Statement")
    if statement is not None:
        if isinstance(statement, str):
            statement = _parse_string(statement, ctx.template, "Properties.Statement", line)
        at = line_of(properties, "Statement") or line
        return [(form, at, "Properties.Statement", "event-bus", via) for form, via in branches(statement)]
    principal = properties.get("Principal")
    legacy: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"AWS": principal} if principal is not None else None,
        "Action": properties.get("Action"),
    }
    condition = properties.get("Condition")
    if isinstance(condition, dict) and {"Key", "Value"} <= set(condition):
        legacy["Condition"] = {condition.get("Type", "StringEquals"): {condition["Key"]: condition["Value"]}}
    return [(legacy, line, "Properties", "event-bus-legacy", ())]


def _key_line(statement: dict[str, Any], keys: tuple[str, ...]) -> int | None:
    if isinstance(statement, LineDict):
        return next((statement.key_lines[k] for k in keys if k in statement.key_lines), None)
    return None


def _items_for(
    resource_type: str, properties: dict[str, Any], ctx: _Context, line: int | None
) -> list[tuple[Items, str]]:
    if resource_type in SAM_POLICY_HOLDERS:
        trust = []
        for document, path, doc_line, via in _documents(properties, ("AssumeRolePolicyDocument",), "Properties", line):
            trust += _statements(document, ctx, path, doc_line, "sam-trust", via)
        return [
            (_sam_policies(properties, ctx, line), "identity"),
            (_public_function_url(properties, line), "resource"),
            (trust, "trust"),
        ]
    if resource_type in ("AWS::Serverless::Api", "AWS::ApiGateway::RestApi"):
        found = [(_openapi_policy(properties, ctx, line), "resource")]
        if resource_type == "AWS::Serverless::Api":
            found.append((_sam_api_statements(properties, line), "resource"))
        found += [
            (_statements(document, ctx, path, doc_line, "template", via), kind)
            for spec, kind in SOURCES.get(resource_type, ())
            for document, path, doc_line, via in _documents(properties, spec, "Properties", line)
        ]
        return found
    if resource_type == "AWS::Organizations::ResourcePolicy":
        return [
            (_statements(document, ctx, path, doc_line, "template", via), "resource")
            for document, path, doc_line, via in _documents(properties, ("Content",), "Properties", line)
        ]
    if resource_type == "AWS::Lambda::Url":
        return [(_public_function_url(properties, line), "resource")]
    if resource_type == "AWS::Lambda::Permission":
        return [(_lambda_permission(properties, line), "resource")]
    if resource_type == "AWS::Lambda::LayerVersionPermission":
        return [(_layer_permission(properties, line), "resource")]
    if resource_type == "AWS::Events::EventBusPolicy":
        return [(_event_bus_policy(properties, ctx, line), "resource")]
    found = []
    for spec, kind in SOURCES.get(resource_type, ()):
        for document, path, doc_line, via in _documents(properties, spec, "Properties", line):
            found.append((_statements(document, ctx, path, doc_line, "template", via), kind))
    return found


def build(template: Template) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    ctx = _Context(template)
    resources = template.resources
    for logical_id, body in resources.items():
        if not isinstance(body, dict) or not isinstance(body.get("Type"), str):
            continue
        line = line_of(resources, logical_id)
        try:
            # A whole Properties block under an Fn::If is each block it can be.
            found = [
                (items_for, properties, chosen)
                for properties, chosen in branches(body.get("Properties"))
                if isinstance(properties, dict)
                for items_for in _items_for(body["Type"], _with_globals(body["Type"], properties, ctx), ctx, line)
            ]
        except BranchCapReached as exc:
            raise InputError(
                f"{logical_id}: {exc}: its policies are not enumerated, so the template is not judged",
                path=template.relpath,
                line=line,
            ) from None
        for (items, kind), properties, chosen in found:
            attached = _attached(body["Type"], properties)
            for statement, stmt_line, path, origin, via in items:
                if isinstance(statement, dict):
                    taken = (*chosen, *via)
                    where = (str(logical_id), body["Type"], kind, path, origin, taken)
                    record = _record(template, where, statement, stmt_line, ctx.resolver.assuming(taken))
                    record["attached_to"] = attached
                    records.append(record)
    return records


_ATTACHING = ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy")


def _attached(resource_type: str, properties: dict[str, Any]) -> list[str]:
    """The roles, users and groups of this template a policy resource is
    attached to (``Roles: [!Ref AppRole]``): its statements are theirs too."""
    if resource_type not in _ATTACHING:
        return []
    names = []
    for key in ("Roles", "Users", "Groups"):
        for value, _ in branches(properties.get(key)):
            for item in value if isinstance(value, list) else [value]:
                for form, _ in branches(item):
                    if isinstance(form, dict) and isinstance(form.get("Ref"), str):
                        names.append(form["Ref"])
    return names


def _with_globals(resource_type: str, properties: dict[str, Any], ctx: _Context) -> dict[str, Any]:
    """A SAM function's properties as the transform deploys them: what
    ``Globals.Function`` sets and the function does not (maps merged)."""
    if resource_type != "AWS::Serverless::Function" or not ctx.globals:
        return properties
    merged = dict(ctx.globals)
    for key, value in properties.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict) and not is_intrinsic(value):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return merged


def _chosen(item: Any, via: Via) -> Any:
    """A resolved value that also comes through the branches ``via`` names."""
    if not via or isinstance(item, Unknown):
        return item
    return Value(str(item), tuple(dict.fromkeys((*via, *via_of(item)))))


class _Fields:
    """Resolves a statement's fields, keeping what is learned on the way: the
    choices each value comes through (``via``) and what stays unresolved."""

    def __init__(self, resolver: Resolver) -> None:
        self.resolver = resolver
        self.via: dict[str, list[str]] = {}
        self.unresolved: dict[str, list[str]] = {}

    def keep(self, field: str, item: Any, prefix: str = "") -> str:
        text = prefix + str(item)
        if isinstance(item, Unknown):
            # A resource of this template names something specific; anything
            # else the deployment decides, and may be a wildcard.
            if item.kind != "specific":
                self.unresolved.setdefault(field, []).append(text)
        else:
            for choice in via_of(item):
                if choice not in self.via.setdefault(text, []):
                    self.via[text].append(choice)
        return text

    def strings(self, field: str, value: Any) -> list[str]:
        if value is None:
            return []
        return [self.keep(field, item) for item in self.resolver.resolve_list(value)]

    def principals(self, field: str, value: Any) -> list[str]:
        """Every principal the field can name, in each form an ``Fn::If``
        around it can take (``!If [C, {AWS: "*"}, {Service: ...}]``)."""
        found: list[str] = []
        for form, via in branches(value):
            if form is None:
                continue
            if isinstance(form, str):
                texts = [self.keep(field, Value(form, via) if via else form)]
            elif isinstance(form, dict) and not is_intrinsic(form):
                texts = [
                    self.keep(field, _chosen(item, via), f"{kind}:")
                    for kind, entry in form.items()
                    for item in self.resolver.resolve_list(entry)
                ]
            else:
                texts = [self.keep(field, _chosen(item, via)) for item in self.resolver.resolve_list(form)]
            found += [text for text in texts if text not in found]
        return found

    def effect(self, value: Any) -> tuple[str, tuple[str, ...]]:
        """The effect, and the choices that make it so. An effect an
        ``Fn::If`` or a parameter chooses is Allow if any value is, and so is
        one that cannot be resolved: it can deploy so."""
        if isinstance(value, str):
            return value, ()
        values = self.resolver.resolve(value)
        for item in values:
            if isinstance(item, Unknown):
                self.keep("effect", item)
                return "Allow", ()
        allow = [item for item in values if item == "Allow"]
        if allow:
            return "Allow", via_of(allow[0])
        return (str(values[0]) if values else "Unknown"), ()


def _condition(condition: dict[str, Any], resolver: Resolver) -> dict[str, Any]:
    resolved: dict[str, Any] = {}
    for operator, tests in condition.items():
        if not isinstance(tests, dict):
            resolved[operator] = tests
            continue
        resolved[operator] = {
            key: [_test_value(item) for item in resolver.resolve_list(values)] for key, values in tests.items()
        }
    return resolved


def _test_value(item: Any) -> str:
    """A condition value as text. What the deployment decides stays
    ``<unresolved ...>``; a resource of the template, the account, the
    region or the stack's name (never a pattern: stack names have no ``*``)
    is written in, so that ``arn:aws:sns:${AWS::Region}:${AWS::AccountId}:x``
    still pins one account."""
    if not isinstance(item, Unknown):
        return str(item)
    if item.kind == "specific" or not (item.expression.startswith("{") or "${?}" in item.expression):
        return item.expression.replace("${?}", "${resource}")
    return str(item)


def _record(
    template: Template,
    where: tuple[str, str, str, str, str, Via],
    statement: dict[str, Any],
    line: int | None,
    resolver: Resolver,
) -> dict[str, Any]:
    logical_id, resource_type, kind, path, origin, via = where
    fields = _Fields(resolver)
    effect, effect_via = fields.effect(statement.get("Effect"))
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
        "effect": effect,
        "actions": (actions := fields.strings("actions", statement.get("Action"))),
        # Any pattern that matches every action ("*", "*:*", "?*"), in IAM's own wildcard semantics.
        "all_actions": any(is_all_actions(a) for a in actions),
        "not_actions": fields.strings("not_actions", statement.get("NotAction")),
        "resources": fields.strings("resources", statement.get("Resource")),
        "not_resources": fields.strings("not_resources", statement.get("NotResource")),
        "principals": fields.principals("principals", statement.get("Principal")),
        "not_principals": fields.principals("not_principals", statement.get("NotPrincipal")),
        # Each test's values resolved (every value it can take); one the
        # deployment decides stays "<unresolved ...>", never a pattern.
        "condition": _condition(condition, resolver) if isinstance(condition, dict) else None,
        "action_line": _key_line(statement, ("Action", "NotAction")) or line,
        "origin": origin,
        # The conditions' branches this statement is read under, and for each
        # value that comes through a choice (a branch, a parameter value, a
        # map entry), the choices: a finding says which leads to it.
        "when": list(dict.fromkeys((*via, *effect_via))),
        # The same, as data: each condition the statement is read under, and its value.
        "assumes": assumed((*via, *effect_via)),
        "via": fields.via,
        # Values the deployment decides (parameters without any known value,
        # imports, custom resources), by field; never read as a wildcard.
        "unresolved": fields.unresolved,
    }
