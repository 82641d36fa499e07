"""Resolving intrinsic functions to the literal strings they can produce.

A value resolves to every string it may take: ``Fn::If`` gives both
branches, ``Ref`` to a parameter gives its default, each of its
``AllowedValues`` and each value the team's deployment parameter files give
it, ``Fn::FindInMap`` every map entry its keys can select, ``Fn::Select``,
``Fn::Split``, ``Fn::Sub`` and ``Fn::Join`` their text with whatever they
reference resolved. A string reached through such a choice is a
:class:`Value` whose ``via`` says which branch, parameter value or map
entry leads to it, so a finding can say so.

What the template alone cannot tell (a parameter with no value anywhere,
``Fn::GetAtt``, ``Fn::ImportValue``, an SSM parameter) is kept as an
:class:`Unknown` naming the expression, never as a wildcard and never
dropped; so is a value with more alternatives than :data:`MAX_ALTERNATIVES`,
and its text says that the cap was reached.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

_SUB_VAR = re.compile(r"\$\{([^}!][^}]*)\}")
# Joins, Subs and parameter values can multiply out; beyond this many
# alternatives the value is reported as unknown (and says so) rather than
# enumerated.
MAX_ALTERNATIVES = 64
_MAX_DEPTH = 20

# What an unknown value stands for: something specific AWS names (a resource of
# this template through ``Ref`` or ``Fn::GetAtt``, the account, the region:
# never a wildcard), something the deployment decides (a parameter, an
# import, an SSM value, anything else), or too many values to enumerate.
UnknownKind = Literal["specific", "deployment", "capped"]


@dataclass(frozen=True, slots=True)
class Unknown:
    """A value the template alone cannot resolve; ``expression`` says which."""

    expression: str
    kind: UnknownKind = "deployment"

    def __str__(self) -> str:
        if self.kind == "capped":
            return f"<unresolved {self.expression} (more than {MAX_ALTERNATIVES} values: not enumerated)>"
        return f"<unresolved {self.expression}>"


class Value(str):
    """A string a template can produce through a choice; ``via`` names the
    choices (a condition's branch, a parameter value, a map entry)."""

    via: tuple[str, ...]

    def __new__(cls, text: str, via: tuple[str, ...]) -> Value:
        value = super().__new__(cls, text)
        value.via = via
        return value


Resolved = str | Unknown
# A list-valued expression: its alternatives, each a list of positions, each
# position the values it can take.
Positions = list[list[Resolved]]

_PSEUDO = {
    "AWS::Partition": "aws",
    "AWS::URLSuffix": "amazonaws.com",
}
_LIST_TYPES = ("CommaDelimitedList", "List<")
# Pseudo parameters AWS sets. AWS::StackName is not among them: whoever
# deploys names the stack ("${AWS::StackName}:*" deployed as stack "iam").
_SPECIFIC_PSEUDO = ("AWS::AccountId", "AWS::Region", "AWS::StackId", "AWS::NotificationARNs")
# Attributes that name or identify the resource (an ARN, an id, a name, an
# endpoint): specific. Any other attribute (an SSM parameter's Value, a nested
# stack's Outputs) is data, which may be anything.
_NAMING_ATTRIBUTE = re.compile(r"(Arn|Id|Name|Url|Endpoint|Address|Port)$|Arn\b|\.Arn$")
_DYNAMIC_REFERENCE = "{{resolve:"


def is_intrinsic(value: Any) -> bool:
    """A mapping that is one intrinsic function call (``{"Ref": ...}``,
    ``{"Fn::If": ...}``), not data such as a policy document or a SAM policy
    template entry."""
    if not isinstance(value, dict) or len(value) != 1:
        return False
    (key,) = value
    return key == "Ref" or (isinstance(key, str) and key.startswith("Fn::"))


def via_of(value: object) -> tuple[str, ...]:
    return value.via if isinstance(value, Value) else ()


def condition_name(condition: Any) -> str:
    """An ``Fn::If``'s condition as ``via`` and ``assumed`` name it."""
    return condition if isinstance(condition, str) else _describe(condition)


def branch(condition: Any, taken: bool) -> str:
    """How a choice of an ``Fn::If`` branch is written in ``via``."""
    return f"condition {condition_name(condition)} {'true' if taken else 'false'}"


def assumed(via: tuple[str, ...]) -> dict[str, bool]:
    """The conditions' values a list of choices fixes (see :func:`branch`)."""
    fixed: dict[str, bool] = {}
    for choice in via:
        if choice.startswith("condition "):
            name, _, truth = choice[len("condition ") :].rpartition(" ")
            fixed[name] = truth == "true"
    return fixed


def _consistent(via: tuple[str, ...]) -> bool:
    """False when the choices take both branches of one condition: a value no
    deployment can produce."""
    seen: dict[str, str] = {}
    for choice in via:
        if choice.startswith("condition "):
            name, _, truth = choice[len("condition ") :].rpartition(" ")
            if seen.setdefault(name, truth) != truth:
                return False
    return True


def _with(value: Resolved, via: tuple[str, ...]) -> Resolved:
    if not via or isinstance(value, Unknown):
        return value
    combined = tuple(dict.fromkeys(via_of(value) + via))
    return Value(str(value), combined)


def _describe(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str, separators=(",", ":"))


def _scalar(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return None


class Resolver:
    """Resolves values against one template's parameters, mappings and the
    values its deployment parameter files give (``deployed``: parameter name
    to (value, where it comes from) pairs)."""

    def __init__(
        self,
        template_data: Mapping[str, Any] | None,
        deployed: Mapping[str, Sequence[tuple[str, str]]] | None = None,
        assume: Mapping[str, bool] | None = None,
    ) -> None:
        data = template_data or {}
        params = data.get("Parameters")
        mappings = data.get("Mappings")
        resources = data.get("Resources")
        self.parameters: Mapping[str, Any] = params if isinstance(params, dict) else {}
        self.mappings: Mapping[str, Any] = mappings if isinstance(mappings, dict) else {}
        self.resources: Mapping[str, Any] = resources if isinstance(resources, dict) else {}
        self.deployed = deployed or {}
        # Conditions whose value is fixed where the value is read (a statement
        # under one branch of an Fn::If): only the matching branch is taken.
        self.assume = assume or {}

    def assuming(self, via: tuple[str, ...]) -> Resolver:
        """This resolver with the conditions ``via`` takes fixed."""
        fixed = assumed(via)
        if not fixed:
            return self
        other = Resolver.__new__(Resolver)
        other.parameters, other.mappings, other.resources = self.parameters, self.mappings, self.resources
        other.deployed, other.assume = self.deployed, {**self.assume, **fixed}
        return other

    def _branches(self, arg: list[Any]) -> list[tuple[Any, tuple[str, ...]]]:
        """The branches of an ``Fn::If`` that can be taken, each with its choice."""
        name = condition_name(arg[0])
        taken = [(arg[1], True), (arg[2], False)]
        if name in self.assume:
            taken = [(value, truth) for value, truth in taken if truth == self.assume[name]]
        return [(value, (branch(arg[0], truth),)) for value, truth in taken]

    # -- parameters --------------------------------------------------------

    def parameter_values(self, name: str) -> list[tuple[str, str]]:
        """(value, origin) for every value a parameter can be deployed with:
        its default, each allowed value, each parameter file's value."""
        param = self.parameters.get(name)
        if not isinstance(param, dict):
            return []
        values: dict[str, str] = {}
        default = _scalar(param.get("Default"))
        if default is not None:
            values[default] = "default"
        allowed = param.get("AllowedValues")
        for item in allowed if isinstance(allowed, list) else []:
            text = _scalar(item)
            if text is not None:
                values.setdefault(text, "AllowedValues")
        for text, origin in self.deployed.get(name, ()):
            values.setdefault(text, origin)
        return list(values.items())

    def _is_list_parameter(self, name: str) -> bool:
        param = self.parameters.get(name)
        kind = param.get("Type") if isinstance(param, dict) else None
        return isinstance(kind, str) and kind.startswith(_LIST_TYPES)

    def _from_ssm(self, name: str) -> bool:
        param = self.parameters.get(name)
        kind = param.get("Type") if isinstance(param, dict) else None
        # The default of an SSM parameter type is the parameter's name in SSM,
        # not the value CloudFormation deploys.
        return isinstance(kind, str) and kind.startswith("AWS::SSM::Parameter::Value")

    def ref(self, name: Any) -> list[Resolved]:
        if isinstance(name, str):
            if name == "AWS::NoValue":
                return []  # the property or list item is left out
            if name in _PSEUDO:
                return [_PSEUDO[name]]
            if name in _SPECIFIC_PSEUDO:  # this stack's own account, region, id
                return [Unknown(_describe({"Ref": name}), "specific")]
            if name in self.parameters and not self._from_ssm(name):
                values = self.parameter_values(name)
                if self._is_list_parameter(name):
                    return [
                        item for alternative in self._list_ref(name) for position in alternative for item in position
                    ]
                if values:
                    return [Value(text, (f"parameter {name}={text!r} ({origin})",)) for text, origin in values]
            elif self._specific(name):
                return [Unknown(_describe({"Ref": name}), "specific")]
        return [Unknown(_describe({"Ref": name}))]

    def _list_ref(self, name: str) -> list[Positions]:
        alternatives: list[Positions] = []
        for text, origin in self.parameter_values(name):
            via = (f"parameter {name}={text!r} ({origin})",)
            alternatives.append([[Value(item.strip(), via)] for item in text.split(",")])
        return alternatives or [[[Unknown(_describe({"Ref": name}))]]]

    def _specific(self, name: Any) -> bool:
        """A resource of this template whose name and attributes AWS sets: not
        a custom resource, whose code returns whatever it likes."""
        if isinstance(name, str) and name not in self.resources:
            name = name.split(".", 1)[0]  # SAM's generated ones: Function.Alias, Api.Stage
        body = self.resources.get(name) if isinstance(name, str) else None
        kind = body.get("Type") if isinstance(body, dict) else None
        return (
            isinstance(kind, str) and not kind.startswith("Custom::") and kind != "AWS::CloudFormation::CustomResource"
        )

    # -- scalars -----------------------------------------------------------

    def resolve(self, value: Any, depth: int = 0) -> list[Resolved]:
        """Every string ``value`` can be (a list-valued expression: each of its items)."""
        text = _scalar(value)
        if text is not None:
            if _DYNAMIC_REFERENCE in text:
                # {{resolve:ssm:...}}: CloudFormation puts in what SSM or Secrets Manager holds.
                return [Unknown(text)]
            return [text]
        if isinstance(value, Unknown):  # placed by a view that knows it cannot tell
            return [value]
        if depth > _MAX_DEPTH or not isinstance(value, dict) or len(value) != 1:
            return [Unknown(_describe(value))]
        ((fn, arg),) = value.items()
        if fn == "Ref":
            return self.ref(arg)
        if fn == "Fn::If" and isinstance(arg, list) and len(arg) == 3:
            return [_with(r, via) for value, via in self._branches(arg) for r in self.resolve(value, depth + 1)]
        if fn == "Fn::Sub":
            return self.sub(arg, depth)
        if fn == "Fn::Join" and isinstance(arg, list) and len(arg) == 2:
            return self.join(arg[0], arg[1], depth)
        if fn == "Fn::FindInMap":
            return [item for alternative in self.find_in_map(arg, depth) for item in _flatten(alternative)]
        if fn == "Fn::Select":
            return self.select(arg, depth)
        if fn in ("Fn::Split", "Fn::GetAZs", "Fn::Cidr"):
            return self.resolve_list(value, depth)
        if fn == "Fn::GetAtt":
            return self.get_att(arg, value, depth)
        return [Unknown(_describe(value))]

    def get_att(self, arg: Any, value: Any, depth: int) -> list[Resolved]:
        if isinstance(arg, list) and len(arg) == 2:
            target, attribute = arg
        elif isinstance(arg, str) and "." in arg:
            target, attribute = arg.split(".", 1)
        else:
            return [Unknown(_describe(value))]
        body = self.resources.get(target) if isinstance(target, str) else None
        if isinstance(body, dict) and body.get("Type") == "AWS::SSM::Parameter" and attribute == "Value":
            properties = body.get("Properties")
            if isinstance(properties, dict) and "Value" in properties:
                return self.resolve(properties["Value"], depth + 1)  # the value the template writes
        specific = self._specific(target) and isinstance(attribute, str) and bool(_NAMING_ATTRIBUTE.search(attribute))
        return [Unknown(_describe(value), "specific" if specific else "deployment")]

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
                pieces.append(self.resolve({"Fn::GetAtt": name}, depth + 1))
            else:
                pieces.append(self.ref(name))
            pos = match.end()
        pieces.append([text[pos:].replace("${!", "${")])
        return _concat(pieces, {"Fn::Sub": arg})

    def join(self, delimiter: Any, items: Any, depth: int) -> list[Resolved]:
        if not isinstance(delimiter, str):
            return [Unknown(_describe({"Fn::Join": [delimiter, items]}))]
        results: list[Resolved] = []
        for alternative in self.positions(items, depth + 1):
            pieces: list[list[Resolved]] = []
            for index, position in enumerate(alternative):
                if index:
                    pieces.append([delimiter])
                pieces.append(position)
            results += _concat(pieces, {"Fn::Join": [delimiter, items]})
        return _capped(results, {"Fn::Join": [delimiter, items]})

    def select(self, arg: Any, depth: int) -> list[Resolved]:
        if not isinstance(arg, list) or len(arg) != 2:
            return [Unknown(_describe({"Fn::Select": arg}))]
        indexes = self.resolve(arg[0], depth + 1)
        results: list[Resolved] = []
        for alternative in self.positions(arg[1], depth + 1):
            for index in indexes:
                if isinstance(index, Unknown) or not index.isdigit():
                    results += _flatten(alternative)  # any item it may pick
                elif int(index) < len(alternative):
                    results += [_with(r, via_of(index)) for r in alternative[int(index)]]
        return _capped(results or [Unknown(_describe({"Fn::Select": arg}))], {"Fn::Select": arg})

    def find_in_map(self, arg: Any, depth: int) -> list[Positions]:
        """Every entry ``Fn::FindInMap`` can return, as list alternatives (an
        entry may be a list); a key that cannot be resolved selects every key."""
        if not isinstance(arg, list) or len(arg) not in (3, 4):
            return [[[Unknown(_describe({"Fn::FindInMap": arg}))]]]
        found: list[Positions] = []
        for map_name in self.resolve(arg[0], depth + 1):
            table = self.mappings.get(str(map_name)) if isinstance(map_name, str) else None
            if isinstance(map_name, Unknown):
                tables = list(self.mappings.items())
            else:
                tables = [(str(map_name), table)] if isinstance(table, dict) else []
            for name, entries in tables:
                for top, level in self._keys(entries, arg[1], depth):
                    for second, entry in self._keys(level, arg[2], depth):
                        via = (f"Mappings {name}.{top}.{second}",)
                        found += [
                            [[_with(r, via) for r in position] for position in alt] for alt in self._entry(entry, depth)
                        ]
        if len(arg) == 4 and isinstance(arg[3], dict) and "DefaultValue" in arg[3]:
            found += self.positions(arg[3]["DefaultValue"], depth + 1)
        return found or [[[Unknown(_describe({"Fn::FindInMap": arg}))]]]

    def _keys(self, table: Any, key: Any, depth: int) -> list[tuple[str, Any]]:
        if not isinstance(table, dict):
            return []
        chosen: list[tuple[str, Any]] = []
        for name in self.resolve(key, depth + 1):
            if isinstance(name, Unknown):
                return [(str(k), v) for k, v in table.items()]
            if name in table:
                chosen.append((str(name), table[name]))
        return chosen

    def _entry(self, entry: Any, depth: int) -> list[Positions]:
        if isinstance(entry, list):
            return [[self.resolve(item, depth + 1) for item in entry]]
        return [[self.resolve(entry, depth + 1)]]

    # -- lists -------------------------------------------------------------

    def positions(self, value: Any, depth: int = 0) -> list[Positions]:
        """A list-valued expression's alternatives, each a list of positions."""
        if depth > _MAX_DEPTH:
            return [[[Unknown(_describe(value))]]]
        if isinstance(value, list):
            return [[self.resolve(item, depth + 1) for item in value]]
        if isinstance(value, dict) and len(value) == 1:
            ((fn, arg),) = value.items()
            if fn == "Ref" and isinstance(arg, str) and self._is_list_parameter(arg) and not self._from_ssm(arg):
                return self._list_ref(arg)
            if fn == "Fn::If" and isinstance(arg, list) and len(arg) == 3:
                chosen = []
                for taken, via in self._branches(arg):
                    chosen += [[[_with(r, via) for r in p] for p in alt] for alt in self.positions(taken, depth + 1)]
                return chosen
            if fn == "Fn::Split" and isinstance(arg, list) and len(arg) == 2 and isinstance(arg[0], str) and arg[0]:
                split: list[Positions] = []
                for text in self.resolve(arg[1], depth + 1):
                    if isinstance(text, Unknown):
                        split.append([[Unknown(_describe(value))]])
                    else:
                        split.append([[_with(part, via_of(text))] for part in text.split(arg[0])])
                return split
            if fn == "Fn::FindInMap":
                return self.find_in_map(arg, depth)
        return [[self.resolve(value, depth + 1)]]

    def resolve_list(self, value: Any, depth: int = 0) -> list[Resolved]:
        """A field that may be one value or a list of them (``Action``,
        ``Resource``): every item it can hold, in any of its alternatives."""
        items = [item for alternative in self.positions(value, depth) for item in _flatten(alternative)]
        return _capped(items, value)


def _flatten(alternative: Positions) -> list[Resolved]:
    return [item for position in alternative for item in position]


def _capped(results: list[Resolved], original: Any) -> list[Resolved]:
    if len(results) > MAX_ALTERNATIVES:
        return [Unknown(_describe(original), "capped")]
    return results


def _concat(pieces: list[list[Resolved]], original: Any) -> list[Resolved]:
    count = 1
    for options in pieces:
        count *= len(options)
    if count > MAX_ALTERNATIVES:
        return [Unknown(_describe(original), "capped")]
    results: list[Resolved] = []
    for combo in itertools.product(*pieces):
        unknowns = [p for p in combo if isinstance(p, Unknown)]
        if unknowns:
            # Keep the literal text around the unknown part: "arn:...:${Bucket}/*"
            # is still known to end in "/*", which matters to rules.
            kind: UnknownKind = "specific" if all(u.kind == "specific" for u in unknowns) else "deployment"
            if any(u.kind == "capped" for u in unknowns):
                kind = "capped"
            text = "".join(p if isinstance(p, str) else _placeholder(p) for p in combo)
            results.append(Unknown(text, kind))
        else:
            via = tuple(dict.fromkeys(v for p in combo for v in via_of(p)))
            if not _consistent(via):
                continue
            joined = "".join(p for p in combo if isinstance(p, str))
            if _DYNAMIC_REFERENCE in joined:
                results.append(Unknown(joined))
                continue
            results.append(Value(joined, via) if via else joined)
    return results


def _placeholder(unknown: Unknown) -> str:
    """How an unknown part shows inside a text: a pseudo parameter by its name
    (``arn:aws:iam::${AWS::AccountId}:root`` is the stack's own account),
    anything else as ``${?}``."""
    pseudo = re.fullmatch(r'\{"Ref":"(AWS::\w+)"\}', unknown.expression)
    return f"${{{pseudo.group(1)}}}" if pseudo else "${?}"
