"""Safe YAML loading with CloudFormation's short-form intrinsic tags.

libyaml (through PyYAML's C loader) parses the text into a node graph; this
module builds the data from that graph itself, so that every mapping and list
knows its source lines, only CloudFormation's own tags are accepted, and alias
expansion, nesting depth and duplicate keys are bounded or refused. The
result is the same data that cfn-lint's decoder yields (a test compares the
two on real templates), except that unquoted dates stay strings, which is
what CloudFormation itself does with ``Version: 2012-10-17``.
"""

from __future__ import annotations

from typing import Any

import yaml

from checker.errors import InputError
from checker.loaders.limits import MAX_DEPTH, MAX_NODES
from checker.loaders.nodes import LineDict, LineList

_Loader: type[yaml.SafeLoader]
try:
    _Loader = yaml.CSafeLoader  # type: ignore[assignment]
except AttributeError:  # pragma: no cover - PyYAML built without libyaml
    _Loader = yaml.SafeLoader

_YAML = "tag:yaml.org,2002:"
_STR, _MAP, _SEQ = _YAML + "str", _YAML + "map", _YAML + "seq"
_MERGE = _YAML + "merge"

# Short-form tags CloudFormation accepts; each becomes the long form
# ``{"Fn::X": value}`` (``Ref`` and ``Condition`` keep their bare names).
INTRINSIC_TAGS: dict[str, str] = {
    "!Ref": "Ref",
    "!Condition": "Condition",
    **{
        f"!{name}": f"Fn::{name}"
        for name in (
            "And",
            "Base64",
            "Cidr",
            "Equals",
            "FindInMap",
            "GetAtt",
            "GetAZs",
            "If",
            "ImportValue",
            "Join",
            "Length",
            "Not",
            "Or",
            "Select",
            "Split",
            "Sub",
            "ToJsonString",
            "Transform",
            # Functions of a template's Rules section.
            "Contains",
            "EachMemberEquals",
            "EachMemberIn",
            "RefAll",
            "ValueOf",
            "ValueOfAll",
        )
    },
}


class _Builder:
    """Turns a composed node graph into LineDict/LineList data."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.nodes = 0
        self.scalars = yaml.constructor.SafeConstructor()

    def fail(self, node: yaml.Node, message: str) -> InputError:
        return InputError(message, path=self.path, line=node.start_mark.line + 1)

    def build(self, node: yaml.Node, depth: int = 0) -> Any:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise self.fail(node, f"document expands to more than {MAX_NODES} nodes (alias bomb?)")
        if depth > MAX_DEPTH:
            raise self.fail(node, f"nesting deeper than {MAX_DEPTH} levels")
        tag = node.tag
        if tag.startswith("!"):
            return self.intrinsic(node, depth)
        if isinstance(node, yaml.MappingNode):
            return self.mapping(node, depth)
        if isinstance(node, yaml.SequenceNode):
            return self.sequence(node, depth)
        return self.scalar(node)

    def scalar(self, node: yaml.Node) -> Any:
        tag = node.tag
        if tag == _STR:
            return node.value
        if tag == _YAML + "timestamp":
            # CloudFormation reads dates as strings; so do we.
            return node.value
        if tag in (_YAML + "int", _YAML + "float", _YAML + "bool", _YAML + "null"):
            return self.scalars.construct_object(node)
        if tag == _YAML + "binary":
            return node.value
        raise self.fail(node, f"unsupported YAML tag {tag!r}")

    def mapping(self, node: yaml.Node, depth: int, *, tagged: bool = False) -> LineDict:
        result = LineDict(node.start_mark.line + 1)
        if node.tag != _MAP and not tagged:
            raise self.fail(node, f"unsupported YAML tag {node.tag!r}")
        merged: list[tuple[Any, int, Any]] = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                merged.extend(self.merge_source(value_node, depth))
                continue
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag.startswith("!"):
                raise self.fail(key_node, "a mapping key must be a plain scalar")
            key = self.scalar(key_node)
            if key is None:
                raise self.fail(key_node, f"null key {key_node.value!r} is not supported")
            line = key_node.start_mark.line + 1
            if key in result.key_lines:
                raise self.fail(
                    key_node,
                    f"duplicate key {key!r} (first at line {result.key_lines[key]})",
                )
            result.key_lines[key] = line
            result[key] = self.build(value_node, depth + 1)
        for key, line, value in merged:
            if key not in result:
                result.key_lines[key] = line
                result[key] = value
        return result

    def merge_source(self, node: yaml.Node, depth: int) -> list[tuple[Any, int, Any]]:
        """Entries of a ``<<`` merge: a mapping or a list of mappings."""
        sources = node.value if isinstance(node, yaml.SequenceNode) else [node]
        entries: list[tuple[Any, int, Any]] = []
        for source in sources:
            if not isinstance(source, yaml.MappingNode):
                raise self.fail(source, "a merge key (<<) takes a mapping or a list of mappings")
            built = self.mapping(source, depth + 1)
            entries.extend((k, built.key_lines[k], v) for k, v in built.items())
        return entries

    def sequence(self, node: yaml.Node, depth: int, *, tagged: bool = False) -> LineList:
        if node.tag != _SEQ and not tagged:
            raise self.fail(node, f"unsupported YAML tag {node.tag!r}")
        result = LineList(node.start_mark.line + 1)
        for item in node.value:
            result.item_lines.append(item.start_mark.line + 1)
            result.append(self.build(item, depth + 1))
        return result

    def intrinsic(self, node: yaml.Node, depth: int) -> LineDict:
        name = INTRINSIC_TAGS.get(node.tag)
        if name is None:
            raise self.fail(
                node,
                f"unknown tag {node.tag!r}: only CloudFormation's intrinsic "
                "function tags (!Ref, !Sub, !GetAtt, ...) are allowed",
            )
        line = node.start_mark.line + 1
        value: Any
        if isinstance(node, yaml.ScalarNode):
            value = node.value
            if name == "Fn::GetAtt":
                parts = value.split(".", 1)
                value = LineList(line)
                value.extend(parts)
                value.item_lines.extend([line] * len(parts))
        elif isinstance(node, yaml.SequenceNode):
            value = self.sequence(node, depth, tagged=True)
        else:
            value = self.mapping(node, depth, tagged=True)
        result = LineDict(line)
        result[name] = value
        result.key_lines[name] = line
        return result


def load_yaml(text: str, path: str) -> Any:
    """Parse one YAML document into line-aware data; raise InputError on any problem."""
    try:
        loader = _Loader(text)
        try:
            node = loader.get_single_node()
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = " ".join(filter(None, [exc.context, exc.problem]))
        raise InputError(f"invalid YAML: {problem}", path=path, line=line) from None
    except yaml.YAMLError as exc:
        raise InputError(f"invalid YAML: {exc}", path=path) from None
    if node is None:
        return LineDict(1)
    return _Builder(path).build(node)
