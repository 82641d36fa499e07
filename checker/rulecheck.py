"""The one validator of rule metadata, for Python and declarative rules alike.

A declarative rule's file is parsed into a :class:`RuleMeta` (with its
shapes checked where they are read, to name the line); every rule's
metadata, however it was written, is then held to the same constraints
here. The registry refuses a rule with any problem, naming its file and the
field.
"""

from __future__ import annotations

import re
from typing import Any, get_args

from checker.ruleapi import SEVERITIES, TAGS, ParamType, RuleMeta, Tighter

RULE_ID = re.compile(r"^[A-Z][A-Z0-9_-]{1,39}$")
PARAM_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
PARAM_TYPES: tuple[str, ...] = get_args(ParamType)
TIGHTER: tuple[str, ...] = get_args(Tighter)


def param_value_problem(kind: str, value: Any) -> str | None:
    """Why ``value`` is not a valid ``kind`` parameter, or None when it is."""
    ok = {
        "integer": isinstance(value, int) and not isinstance(value, bool),
        "number": isinstance(value, (int, float)) and not isinstance(value, bool),
        "string": isinstance(value, str),
        "boolean": isinstance(value, bool),
        "string_list": isinstance(value, list) and all(isinstance(v, str) for v in value),
    }.get(kind)
    if ok is None:
        return f"is of an unknown type {kind!r}"
    import json

    return None if ok else f"must be a {kind.replace('_', ' ')}, got {json.dumps(value, default=str)}"


def meta_problems(meta: RuleMeta) -> list[tuple[str, str]]:
    """Each (field, problem) of a rule's metadata; empty when it is sound."""
    from checker.facts import VIEWS, scope_of  # the views module imports the rule API

    problems: list[tuple[str, str]] = []
    if not RULE_ID.match(meta.id):
        problems.append(("id", f"{meta.id!r} must be upper-case letters, digits, '-' or '_' (e.g. ACME-IAM-001)"))
    if not meta.title.strip():
        problems.append(("title", "must be a non-empty sentence"))
    if meta.severity not in SEVERITIES:
        problems.append(("severity", f"{meta.severity!r} must be one of {', '.join(SEVERITIES)}"))
    if not meta.tags or any(t not in TAGS for t in meta.tags):
        problems.append(("tags", f"must be drawn from {', '.join(sorted(TAGS))}"))
    unknown = [v for v in meta.views if v not in VIEWS]
    if not meta.views or unknown:
        problems.append(("view", f"must name fact views ({', '.join(VIEWS)})"))
    elif scope_of(meta.views) is None:
        problems.append(("view", "must all be template views or all repository views"))
    for name, text in (("rationale", meta.rationale), ("remediation", meta.remediation)):
        if not text.strip():
            problems.append((name, "is required: the people a rule blocks read it"))
    if any(not r.startswith(("https://", "http://")) for r in meta.references):
        problems.append(("references", "must be URLs"))
    if (meta.example_fail is None) != (meta.example_pass is None):
        problems.append(("example", "takes both a failing and a passing example, or neither"))
    elif any(e is not None and not e.strip() for e in (meta.example_fail, meta.example_pass)):
        problems.append(("example", "examples must not be empty"))
    seen: set[str] = set()
    for param in meta.params:
        where = f"params.{param.name}"
        if not PARAM_NAME.match(param.name) or param.name in seen:
            problems.append((where, "a parameter name is lower-case letters, digits and '_', and unique"))
        seen.add(param.name)
        if param.type not in PARAM_TYPES:
            problems.append((f"{where}.type", f"must be one of {', '.join(PARAM_TYPES)}"))
            continue
        if param.tighter is not None and param.tighter not in TIGHTER:
            problems.append((f"{where}.tighter", f"must be one of {', '.join(TIGHTER)}"))
        problem = param_value_problem(param.type, param.default)
        if problem:
            problems.append((f"{where}.default", problem))
    return problems
