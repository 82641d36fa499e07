"""Resolving intrinsic functions to the literal strings they can produce.

A value resolves to the list of strings it may take: ``Fn::If`` gives both
branches, ``Ref`` to a parameter gives its default, ``Fn::Sub`` and
``Fn::Join`` give their text with whatever they reference resolved. What the
template alone cannot tell (a parameter without a default, ``Fn::GetAtt``,
``Fn::ImportValue``) is kept as an :class:`Unknown` naming the expression,
never as a wildcard and never dropped.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

_SUB_VAR = re.compile(r"\$\{([^}!][^}]*)\}")
# Joins and Subs can multiply out; beyond this many alternatives the value is
# reported as unknown rather than enumerated.
MAX_ALTERNATIVES = 64


@dataclass(frozen=True, slots=True)
class Unknown:
    """A value the template alone cannot resolve; ``expression`` says which."""

    expression: str

    def __str__(self) -> str:
        return f"<unresolved {self.expression}>"


Resolved = str | Unknown

_PSEUDO = {
    "AWS::Partition": "aws",
    "AWS::URLSuffix": "amazonaws.com",
}


def _describe(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str, separators=(",", ":"))


class Resolver:
    """Resolves values against one template's parameters."""

    def __init__(self, template_data: Mapping[str, Any] | None) -> None:
        params = (template_data or {}).get("Parameters")
        self.parameters: Mapping[str, Any] = params if isinstance(params, dict) else {}

    def ref(self, name: Any) -> list[Resolved]:
        if isinstance(name, str):
            if name in _PSEUDO:
                return [_PSEUDO[name]]
            param = self.parameters.get(name)
            if isinstance(param, dict) and "Default" in param:
                default = param["Default"]
                if isinstance(default, (str, int, float)) and not isinstance(default, bool):
                    return [str(default)]
        return [Unknown(_describe({"Ref": name}))]

    def resolve(self, value: Any, depth: int = 0) -> list[Resolved]:
        if isinstance(value, str):
            return [value]
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return [str(value)]
        if depth > 20 or not isinstance(value, dict) or len(value) != 1:
            return [Unknown(_describe(value))]
        ((fn, arg),) = value.items()
        if fn == "Ref":
            return self.ref(arg)
        if fn == "Fn::If" and isinstance(arg, list) and len(arg) == 3:
            return self.resolve(arg[1], depth + 1) + self.resolve(arg[2], depth + 1)
        if fn == "Fn::Sub":
            return self.sub(arg, depth)
        if fn == "Fn::Join" and isinstance(arg, list) and len(arg) == 2:
            return self.join(arg[0], arg[1], depth)
        return [Unknown(_describe(value))]

    def sub(self, arg: Any, depth: int) -> list[Resolved]:
        if isinstance(arg, str):
            text, variables = arg, {}
        elif isinstance(arg, list) and len(arg) == 2 and isinstance(arg[0], str) and isinstance(arg[1], dict):
            text, variables = arg[0], arg[1]
        else:
            return [Unknown(_describe({"Fn::Sub": arg}))]
        pieces: list[list[Resolved]] = []
        pos = 0
        for match in _SUB_VAR.finditer(text):
            pieces.append([text[pos : match.start()]])
            name = match.group(1).strip()
            if name in variables:
                pieces.append(self.resolve(variables[name], depth + 1))
            elif "." in name:
                pieces.append([Unknown(_describe({"Fn::GetAtt": name}))])
            else:
                pieces.append(self.ref(name))
            pos = match.end()
        pieces.append([text[pos:].replace("${!", "${")])
        return _concat(pieces, {"Fn::Sub": arg})

    def join(self, delimiter: Any, items: Any, depth: int) -> list[Resolved]:
        if not isinstance(delimiter, str) or not isinstance(items, list):
            return [Unknown(_describe({"Fn::Join": [delimiter, items]}))]
        pieces: list[list[Resolved]] = []
        for index, item in enumerate(items):
            if index:
                pieces.append([delimiter])
            pieces.append(self.resolve(item, depth + 1))
        return _concat(pieces, {"Fn::Join": [delimiter, items]})

    def resolve_list(self, value: Any) -> list[Resolved]:
        """A field that may be one value or a list of them (``Action``, ``Resource``)."""
        if isinstance(value, list):
            return [r for item in value for r in self.resolve(item)]
        if isinstance(value, dict) and set(value) == {"Fn::If"}:
            arg = value["Fn::If"]
            if isinstance(arg, list) and len(arg) == 3:
                return self.resolve_list(arg[1]) + self.resolve_list(arg[2])
        return self.resolve(value)


def _concat(pieces: list[list[Resolved]], original: Any) -> list[Resolved]:
    count = 1
    for options in pieces:
        count *= len(options)
    if count > MAX_ALTERNATIVES:
        return [Unknown(_describe(original))]
    results: list[Resolved] = []
    for combo in itertools.product(*pieces):
        unknown = next((p for p in combo if isinstance(p, Unknown)), None)
        if unknown is not None:
            # Keep the literal text around the unknown part: "arn:...:${Bucket}/*"
            # is still known to end in "/*", which matters to rules.
            results.append(Unknown("".join(p if isinstance(p, str) else "${?}" for p in combo)))
        else:
            results.append("".join(p for p in combo if isinstance(p, str)))
    return results
