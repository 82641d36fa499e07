"""Declarative rules: a JMESPath condition over a fact view, and a message.

A rule file is YAML::

    id: IAM001
    title: IAM statement allows every action
    severity: critical
    tags: [iam]
    view: iam_statements
    condition: "effect == 'Allow' && contains(actions, '*')"
    message: "{resource} allows every action ('*')"
    rationale: ...
    remediation: ...

The condition is evaluated once per record of the view, against the record's
fields plus ``params`` (the rule's parameters as the policy resolved them);
a truthy result is a finding. ``message`` names record fields or
``params.NAME`` in braces; nothing else is interpolated.
"""

from __future__ import annotations

import json
import string
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import jmespath
import jmespath.exceptions

from checker.errors import RuleDefinitionError
from checker.facts import VIEWS
from checker.loaders import LineDict, decode_text, load_document, load_text
from checker.ruleapi import Facts, Finding, Param, RuleMeta, finding_for
from checker.rulecheck import meta_problems

_KEYS = {
    "id",
    "title",
    "severity",
    "tags",
    "view",
    "condition",
    "message",
    "element",
    "rationale",
    "judges",
    "remediation",
    "references",
    "params",
    "example",
    "sam_expanded",
    "mandatory",
}


def _text(value: Any) -> str:
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True, separators=(",", ":"))
    return str(value)


def _lookup(context: Mapping[str, Any], dotted: str) -> Any:
    value: Any = context
    for part in dotted.split("."):
        if not isinstance(value, Mapping) or part not in value:
            raise KeyError(dotted)
        value = value[part]
    return value


class DeclarativeRule:
    """A rule read from YAML; implements the same interface as Python rules."""

    def __init__(
        self,
        meta: RuleMeta,
        view: str,
        condition: jmespath.parser.ParsedResult,
        message: str,
        element: jmespath.parser.ParsedResult | None,
    ) -> None:
        self.meta = meta
        self.view = view
        self.condition = condition
        self.message = message
        self.element = element

    def evaluate(self, facts: Facts, params: Mapping[str, Any]) -> Iterator[Finding]:
        for record in facts.view(self.view):
            context = {**record, "params": params}
            if not _truthy(self.condition.search(context)):
                continue
            message = "".join(
                literal + ("" if field is None else _text(_lookup(context, field)))
                for literal, field, _, _ in string.Formatter().parse(self.message)
            )
            element = None
            if self.element is not None:
                found = self.element.search(context)
                element = None if found is None else _text(found)
            yield finding_for(record, message, element=element)


def _truthy(value: Any) -> bool:
    # JMESPath truthiness: false, null and empty values are false; 0 is true.
    return not (value is None or value is False or value in ("", [], {}))


def _fail(path: str, data: LineDict, key: str, message: str) -> RuleDefinitionError:
    return RuleDefinitionError(message, path=path, line=data.key_lines.get(key, data.line), field=key)


def _string(path: str, data: LineDict, key: str, *, required: bool = True) -> str | None:
    value = data.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise _fail(path, data, key, "must be a non-empty string")
    return value


def _compile(path: str, data: LineDict, key: str) -> jmespath.parser.ParsedResult:
    expression = _string(path, data, key) or ""
    try:
        return jmespath.compile(expression)
    except jmespath.exceptions.JMESPathError as exc:
        raise _fail(path, data, key, f"invalid JMESPath expression: {exc}") from None


def parse_params(path: str, data: LineDict) -> tuple[Param, ...]:
    raw = data.get("params") or LineDict()
    if not isinstance(raw, LineDict):
        raise _fail(path, data, "params", "must be a mapping of parameter names")
    params = []
    for name, spec in raw.items():
        if not isinstance(spec, LineDict):
            raise _fail(path, raw, name, "a parameter needs type, default and description")
        unknown = set(spec) - {"type", "default", "description", "tighter"}
        if unknown:
            raise _fail(path, spec, sorted(unknown)[0], "unknown parameter key")
        if "default" not in spec:
            raise _fail(path, spec, "type", "a parameter needs a default")
        kind: Any = spec.get("type")  # judged by the validator, with the rest
        tighter: Any = spec.get("tighter")
        params.append(Param(str(name), kind, spec["default"], str(spec.get("description", "")), tighter))
    return tuple(params)


def _line(data: LineDict, field: str) -> int | None:
    """The line of a metadata field (``params.x.type``) in the rule file."""
    node: Any = data
    line = data.line
    for part in field.split("."):
        if not isinstance(node, LineDict) or part not in node:
            break
        line = node.key_lines.get(part, line)
        node = node[part]
    return line


def parse_meta(path: str, data: LineDict, views: tuple[str, ...]) -> RuleMeta:
    """A rule file's metadata: shapes checked here, where lines are known;
    everything else by the validator every rule goes through."""
    for key in ("id", "title", "rationale", "remediation"):
        _string(path, data, key)
    tags = data.get("tags") or []
    if not isinstance(tags, list):
        raise _fail(path, data, "tags", "must be a list")
    references = data.get("references") or []
    if not isinstance(references, list) or not all(isinstance(r, str) for r in references):
        raise _fail(path, data, "references", "must be a list of URLs")
    example = data.get("example") or {}
    if not isinstance(example, dict) or set(example) - {"fail", "pass"}:
        raise _fail(path, data, "example", "takes 'fail' and 'pass' snippets")
    if not all(isinstance(v, str) for v in example.values()):
        raise _fail(path, data, "example", "each example is text (a YAML snippet)")
    for flag in ("sam_expanded", "mandatory"):
        if not isinstance(data.get(flag, False), bool):
            raise _fail(path, data, flag, "must be true or false")
    meta = RuleMeta(
        id=str(data["id"]),
        title=str(data["title"]),
        severity=data.get("severity"),  # type: ignore[arg-type]  # judged below
        tags=tuple(tags),
        rationale=str(data["rationale"]).strip(),
        judges=str(data.get("judges") or "").strip(),
        remediation=str(data["remediation"]).strip(),
        views=views,
        params=parse_params(path, data),
        references=tuple(references),
        example_fail=example.get("fail"),
        example_pass=example.get("pass"),
        sam_expanded=bool(data.get("sam_expanded", False)),
        mandatory=bool(data.get("mandatory", False)),
        source=path,
    )
    problems = meta_problems(meta)
    if problems:
        field, problem = problems[0]
        raise RuleDefinitionError(problem, path=path, line=_line(data, field), field=field)
    return meta


def load_declarative_rule(file: Path, display: str, raw: bytes | None = None) -> DeclarativeRule:
    """A rule from its file, or from ``raw``, the file's bytes already read."""
    try:
        data = load_document(file, display) if raw is None else load_text(decode_text(raw, display), display)
    except Exception as exc:  # InputError carries the file and line already
        raise RuleDefinitionError(
            str(getattr(exc, "message", exc)), path=display, line=getattr(exc, "line", None)
        ) from None
    if not isinstance(data, LineDict):
        raise RuleDefinitionError("a rule file must be a mapping", path=display, line=1)
    unknown = sorted(set(map(str, data)) - _KEYS)
    if unknown:
        raise _fail(display, data, unknown[0], f"unknown key (allowed: {', '.join(sorted(_KEYS))})")
    view = _string(display, data, "view")
    assert view is not None
    if view not in VIEWS:
        raise _fail(display, data, "view", f"no fact view {view!r} (views: {', '.join(VIEWS)})")
    meta = parse_meta(display, data, (view,))
    message = _string(display, data, "message")
    assert message is not None
    fields = set(VIEWS[view].fields)
    try:
        placeholders = [f for _, f, _, _ in string.Formatter().parse(message) if f is not None]
    except ValueError as exc:
        raise _fail(display, data, "message", f"bad placeholder: {exc}") from None
    for field in placeholders:
        head, _, rest = field.partition(".")
        if head == "params":
            if meta.param(rest) is None:
                raise _fail(display, data, "message", f"{{{field}}} names no declared parameter")
        elif head not in fields:
            raise _fail(
                display,
                data,
                "message",
                f"{{{field}}} is not a field of view {view} ({', '.join(VIEWS[view].fields)})",
            )
    element = _compile(display, data, "element") if data.get("element") is not None else None
    return DeclarativeRule(meta, view, _compile(display, data, "condition"), message, element)
