"""The ``resources`` view: one record per resource of a template."""

from __future__ import annotations

from typing import Any

from checker.loaders.nodes import LineDict, line_of
from checker.templates import Template

FIELDS = (
    "template",
    "stack",
    "template_kind",
    "resource",
    "type",
    "properties",
    "metadata",
    "condition",
    "line",
    "generated_id",
)


def build(template: Template) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    resources = template.resources
    for logical_id, body in resources.items():
        body = body if isinstance(body, dict) else {}
        properties = body.get("Properties")
        metadata = body.get("Metadata")
        records.append(
            {
                "template": template.relpath,
                "stack": template.stack,
                "template_kind": template.kind,
                "resource": str(logical_id),
                "type": body.get("Type") if isinstance(body.get("Type"), str) else None,
                "properties": properties if isinstance(properties, dict) else LineDict(),
                "metadata": metadata if isinstance(metadata, dict) else {},
                "condition": body.get("Condition"),
                "line": line_of(resources, logical_id),
                "generated_id": None,
            }
        )
    return records
