"""The ``template_errors`` view: templates that could not be loaded."""

from __future__ import annotations

from typing import Any

from checker.templates import Template

FIELDS = ("template", "resource", "line", "field", "message")


def build(template: Template) -> list[dict[str, Any]]:
    error = template.error
    if error is None:
        return []
    return [
        {
            "template": template.relpath,
            "resource": None,
            "line": error.line,
            "field": error.field,
            "message": error.message,
        }
    ]
