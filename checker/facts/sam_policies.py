"""SAM policy templates (``DynamoDBCrudPolicy: {TableName: ...}``) expanded
to the statements the SAM translator would write, without importing it.

The definitions come from the aws-sam-translator package's own data file,
read on first use; its version is what the translator itself would apply.
"""

from __future__ import annotations

import functools
import importlib.util
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any


@functools.cache
def templates() -> Mapping[str, Any]:
    """SAM's policy templates by name; empty when aws-sam-translator is absent."""
    spec = importlib.util.find_spec("samtranslator")  # finds the package without importing it
    if spec is None or not spec.submodule_search_locations:
        return {}
    path = Path(spec.submodule_search_locations[0]) / "policy_templates_data" / "policy_templates.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    found = data.get("Templates")
    return found if isinstance(found, dict) else {}


def _substitute(value: Any, arguments: Mapping[str, Any]) -> Any:
    if isinstance(value, dict):
        if len(value) == 1 and "Ref" in value and value["Ref"] in arguments:
            return arguments[value["Ref"]]
        return {k: _substitute(v, arguments) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, arguments) for v in value]
    return value


def expand(name: str, arguments: Any) -> list[Any] | None:
    """The statements of policy template ``name`` with ``arguments`` filled
    in, or None when SAM has no such template."""
    template = templates().get(name)
    if not isinstance(template, dict):
        return None
    args = arguments if isinstance(arguments, dict) else {}
    statements = _substitute(template.get("Definition", {}), args).get("Statement", [])
    return statements if isinstance(statements, list) else [statements]
