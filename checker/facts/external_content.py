"""The ``external_content`` view: what a template deploys that is not in it.

A nested stack whose template is at a URL, a Serverless Application
Repository application, a StackSet's template (deployed into other
accounts), a Service Catalog product, an ``AWS::Include`` or another macro:
CloudFormation fetches or generates that content at deploy time, so no rule
read it. One record per place, so that a rule can say so rather than pass
the template by omission. A nested stack whose template is a local file
(``TemplateURL: nested/app.yaml``, packaged by ``sam``/``aws cloudformation
package``) or a CDK asset (``aws:asset:path``) is judged where it sits, and
is not listed.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from checker.loaders.nodes import line_of
from checker.templates import Template

FIELDS = ("template", "stack", "resource", "line", "kind", "location")

# Transforms checker applies itself: the others are macros it cannot run.
_UNDERSTOOD = ("AWS::Serverless-2016-10-31", "AWS::LanguageExtensions")
_REMOTE = ("https://", "http://", "s3://")


def _location(value: Any) -> str | None:
    """Where remote content comes from; None for a local file checker judges."""
    if isinstance(value, str):
        return value if value.lower().startswith(_REMOTE) else None
    if value is None:
        return None
    return _text(value)  # built by an intrinsic: wherever the deployment says


def _text(value: Any) -> str:
    import json

    return json.dumps(value, sort_keys=True, default=str, separators=(",", ":"))


def _transforms(value: Any) -> Iterator[tuple[str, Any]]:
    """(name, parameters) of every Fn::Transform under ``value``."""
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if "Fn::Transform" in node:
                found = node["Fn::Transform"]
                for transform in found if isinstance(found, list) else [found]:
                    if isinstance(transform, dict):
                        yield str(transform.get("Name")), transform.get("Parameters")
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)


def build(template: Template) -> list[dict[str, Any]]:
    data: dict[str, Any] = template.data or {}
    records: list[dict[str, Any]] = []

    def add(resource: str | None, line: int | None, kind: str, location: str) -> None:
        records.append(
            {
                "template": template.relpath,
                "stack": template.stack,
                "resource": resource,
                "line": line,
                "kind": kind,
                "location": location,
            }
        )

    transform = data.get("Transform")
    for name in transform if isinstance(transform, list) else [transform]:
        if isinstance(name, str) and name not in _UNDERSTOOD:
            add(None, line_of(data, "Transform"), "macro", name)
        elif isinstance(name, dict):
            add(None, line_of(data, "Transform"), "macro", _text(name))
    resources = template.resources
    for logical_id, body in resources.items():
        if not isinstance(body, dict):
            continue
        line = line_of(resources, logical_id)
        properties: dict[str, Any] = body["Properties"] if isinstance(body.get("Properties"), dict) else {}
        metadata: dict[str, Any] = body["Metadata"] if isinstance(body.get("Metadata"), dict) else {}
        kind = body.get("Type")
        if kind == "AWS::CloudFormation::Stack" and "aws:asset:path" not in metadata:
            location = _location(properties.get("TemplateURL"))
            if location is not None:
                add(str(logical_id), line, "nested-stack", location)
        elif kind == "AWS::Serverless::Application":
            app = properties.get("Location")
            location = _location(app) if isinstance(app, str) else _text(app)
            if location is not None:
                add(str(logical_id), line, "serverless-application", location)
        elif kind == "AWS::CloudFormation::StackSet":
            source = properties.get("TemplateURL", properties.get("TemplateBody"))
            add(str(logical_id), line, "stackset", _location(source) or "TemplateBody")
        elif kind == "AWS::ServiceCatalog::CloudFormationProvisionedProduct":
            product = properties.get("ProductName", properties.get("ProductId"))
            add(str(logical_id), line, "service-catalog-product", _text(product))
        seen: set[tuple[str, str]] = set()
        for name, arguments in _transforms(body):
            if name == "AWS::Include":
                where = arguments.get("Location") if isinstance(arguments, dict) else None
                if isinstance(where, str) and _location(where) is None:
                    continue  # a file of the repository that `package` uploads (an OpenAPI body, mostly)
                found = ("include", str(_location(where)))
            else:
                found = ("macro", name)
            if found not in seen:
                seen.add(found)
                add(str(logical_id), line, *found)
    return records
