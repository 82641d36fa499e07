"""``Fn::ForEach`` (the ``AWS::LanguageExtensions`` transform): the resources
a loop generates, so that every view reads them as the deployed template has
them.

``Fn::ForEach::Name: [Identifier, Collection, {KeyTemplate: Body}]`` under
``Resources`` makes one resource per value of the collection: ``${Identifier}``
and ``&{Identifier}`` (alphanumerics only) in keys and strings, and
``{"Ref": Identifier}`` in the body, become the value. The collection is
every value it can take (a literal list, a list parameter's default, allowed
and deployed values, a map entry); a collection checker cannot resolve still
generates its resources once, with the identifier left unresolved, so they
are judged rather than lost. Loops nest. Expansion copies the source nodes, so
generated resources keep their lines.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from checker.errors import InputError
from checker.loaders.nodes import LineDict, LineList

if TYPE_CHECKING:
    from checker.facts.intrinsics import Resolver, Unknown

PREFIX = "Fn::ForEach::"
# CloudFormation allows 5 nested loops; a template generating more resources
# than this is judged as an input error rather than enumerated.
MAX_GENERATED = 2000
_MAX_NESTING = 5


def uses_foreach(resources: Mapping[str, Any]) -> bool:
    return any(isinstance(key, str) and key.startswith(PREFIX) for key in resources)


def _substitute(node: Any, identifier: str, text: str) -> Any:
    """A copy of ``node`` with the loop variable replaced (lines kept)."""
    if isinstance(node, str):
        return node.replace("${" + identifier + "}", text).replace("&{" + identifier + "}", _alnum(text))
    if isinstance(node, dict):
        if set(node) == {"Ref"} and node["Ref"] == identifier:
            return text
        copy = LineDict(getattr(node, "line", 0))
        for key, item in node.items():
            new_key = _substitute(key, identifier, text) if isinstance(key, str) else key
            copy[new_key] = _substitute(item, identifier, text)
            if isinstance(node, LineDict) and key in node.key_lines:
                copy.key_lines[new_key] = node.key_lines[key]
        return copy
    if isinstance(node, list):
        items = LineList(getattr(node, "line", 0))
        items.extend(_substitute(item, identifier, text) for item in node)
        if isinstance(node, LineList):
            items.item_lines = list(node.item_lines)
        return items
    return node


def _renamed(output: Mapping[str, Any], suffix: str) -> LineDict:
    renamed = LineDict(getattr(output, "line", 0))
    for key, body in output.items():
        renamed[f"{key}{suffix}"] = body
        if isinstance(output, LineDict) and key in output.key_lines:
            renamed.key_lines[f"{key}{suffix}"] = output.key_lines[key]
    return renamed


def _alnum(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]", "", text)


def _values(resolver: Resolver, collection: Any) -> list[str | Unknown]:
    from checker.facts.intrinsics import Unknown

    values: list[str | Unknown] = []
    for alternative in resolver.positions(collection):
        for position in alternative:
            for item in position:
                if item not in values:
                    values.append(item if isinstance(item, Unknown) else str(item))
    return values


def expand(
    resources: LineDict,
    data: Mapping[str, Any],
    relpath: str,
    parameter_values: Mapping[str, tuple[tuple[str, str], ...]] | None = None,
) -> LineDict:
    """``resources`` with every ``Fn::ForEach`` loop replaced by what it
    generates; a collection from a parameter takes the values the deployment
    parameter files give it too."""
    from checker.facts.intrinsics import Resolver  # the facts package imports templates

    resolver = Resolver(data, parameter_values)
    out = LineDict(resources.line)
    _expand_into(out, resources, resolver, relpath, 0)
    return out


def _expand_into(out: LineDict, resources: Mapping[str, Any], resolver: Resolver, relpath: str, depth: int) -> None:
    for key, body in resources.items():
        line = resources.key_lines.get(key, 0) if isinstance(resources, LineDict) else 0
        if not (isinstance(key, str) and key.startswith(PREFIX)):
            if key in out:
                # CloudFormation refuses the template; a second resource must
                # not silently stand in for the first one checker would judge.
                raise InputError(f"resource {key} is defined twice (by Fn::ForEach)", path=relpath, line=line or None)
            out[key] = body
            out.key_lines[key] = line
            continue
        if depth >= _MAX_NESTING or not isinstance(body, list) or len(body) != 3:
            raise InputError(
                f"{key} must be [Identifier, Collection, {{OutputKey: Resource}}] (at most 5 nested)",
                path=relpath,
                line=line or None,
                field=key,
            )
        identifier, collection, output = body
        if not isinstance(identifier, str) or not isinstance(output, dict):
            raise InputError(
                f"{key}: the identifier must be a string and the output a mapping", path=relpath, line=line
            )
        for value in _values(resolver, collection):
            if not isinstance(value, str):
                # One copy for values nobody can list: the identifier stays a
                # reference to nothing (unresolved wherever it is used), and
                # the name says which loop made it.
                generated = _renamed(output, f"[{key} value unresolved]")
            else:
                generated = _substitute(output, identifier, value)
            _expand_into(out, generated, resolver, relpath, depth + 1)
            if len(out) > MAX_GENERATED:
                raise InputError(
                    f"{key} generates more than {MAX_GENERATED} resources: not enumerated", path=relpath, line=line
                )
