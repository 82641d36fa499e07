"""Every property named like a policy in the CloudFormation schemas is
classified: an IAM policy the statement view reads, or not one, with why.
A new resource type with a policy property fails this test until the table
says what it is."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from checker.facts.iam_statements import SOURCES
from checker.facts.policy_carriers import CARRIERS, classify

cfnlint = pytest.importorskip("cfnlint")
SCHEMAS = Path(cfnlint.__file__).parent / "data" / "schemas"


def _resolve(node: Any, definitions: dict[str, Any]) -> Any:
    seen: set[str] = set()
    while isinstance(node, dict) and str(node.get("$ref", "")).startswith("#/definitions/"):
        name = node["$ref"].split("/")[-1]
        if name in seen:
            break
        seen.add(name)
        node = {**definitions.get(name, {}), **{k: v for k, v in node.items() if k != "$ref"}}
    return node


def _shape(node: Any) -> str:
    kind = node.get("type") if isinstance(node, dict) else None
    if isinstance(node, dict) and node.get("properties"):
        return "object"
    if isinstance(node, dict) and (node.get("items") or kind == "array"):
        return "list"
    if kind in ("boolean", "integer", "number"):
        return "scalar"
    return ""


def _policy_properties(
    node: Any, path: tuple[str, ...], definitions: dict[str, Any], depth: int = 0
) -> Iterator[tuple[str, str]]:
    node = _resolve(node, definitions)
    if depth > 14 or not isinstance(node, dict):
        return
    if isinstance(node.get("items"), dict):
        yield from _policy_properties(node["items"], (*path, "*"), definitions, depth + 1)
    for combined in ("oneOf", "anyOf", "allOf"):
        for sub in node.get(combined) or []:
            yield from _policy_properties(sub, path, definitions, depth + 1)
    for name, sub in (node.get("properties") or {}).items():
        if "Polic" in name:
            yield ".".join((*path, name)), _shape(_resolve(sub, definitions))
        yield from _policy_properties(sub, (*path, name), definitions, depth + 1)


def _schema_properties() -> dict[tuple[str, str], str]:
    types = json.loads((SCHEMAS / "providers" / "us-east-1.json").read_text())
    found: dict[tuple[str, str], str] = {}
    for resource_type, digest in types.items():
        schema_file = SCHEMAS / "resources" / f"{digest}.json"
        if schema_file.is_file():
            schema = json.loads(schema_file.read_text())
            for path, shape in _policy_properties(schema, (), schema.get("definitions", {})):
                found[(resource_type, path)] = shape
    return found


def test_every_policy_property_of_every_resource_type_is_classified() -> None:
    found = _schema_properties()
    assert len(found) > 400  # the schemas were read
    unknown = sorted(f"{t} {p}" for (t, p), shape in found.items() if classify(t, p, shape)[0] == "unknown")
    assert unknown == [], "classify these in checker/facts/policy_carriers.py:\n" + "\n".join(unknown)


def test_every_carrier_exists_in_the_schemas_and_is_read() -> None:
    found = _schema_properties()
    assert sorted(f"{t} {p}" for t, p in CARRIERS if (t, p) not in found) == []
    read = {(t, ".".join(path)) for t, entries in SOURCES.items() for path, _ in entries}
    assert sorted(f"{t} {p}" for t, p in CARRIERS if (t, p) not in read) == []
