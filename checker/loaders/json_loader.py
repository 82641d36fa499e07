"""Strict JSON loading that keeps the source line of every key and item.

The standard library's decoder gives no positions, so this is a small
recursive-descent parser that reuses its C string scanner and number regex.
Duplicate keys are refused, as CloudFormation and cfn-lint refuse them.
"""

from __future__ import annotations

import bisect
import json.decoder
import json.scanner
import re
from typing import Any

from checker.errors import InputError
from checker.loaders.limits import MAX_DEPTH
from checker.loaders.nodes import LineDict, LineList

_WHITESPACE = re.compile(r"[ \t\n\r]*")
_NUMBER = json.scanner.NUMBER_RE
_scanstring = json.decoder.scanstring  # type: ignore[attr-defined]


class _Parser:
    def __init__(self, text: str, path: str) -> None:
        self.text = text
        self.path = path
        self.newlines = [m.start() for m in re.finditer("\n", text)]

    def line(self, pos: int) -> int:
        return bisect.bisect_left(self.newlines, pos) + 1

    def fail(self, pos: int, message: str) -> InputError:
        return InputError(f"invalid JSON: {message}", path=self.path, line=self.line(pos))

    def skip(self, pos: int) -> int:
        return _WHITESPACE.match(self.text, pos).end()  # type: ignore[union-attr]

    def value(self, pos: int, depth: int) -> tuple[Any, int]:
        if depth > MAX_DEPTH:
            raise self.fail(pos, f"nesting deeper than {MAX_DEPTH} levels")
        text = self.text
        char = text[pos : pos + 1]
        if char == '"':
            return self.string(pos + 1)
        if char == "{":
            return self.object(pos, depth)
        if char == "[":
            return self.array(pos, depth)
        for literal, result in (("true", True), ("false", False), ("null", None)):
            if text.startswith(literal, pos):
                return result, pos + len(literal)
        match = _NUMBER.match(text, pos)
        if match is None or match.end() == pos:
            found = repr(char) if char else "end of file"
            raise self.fail(pos, f"expected a value, found {found}")
        integer, fraction, exponent = match.groups()
        if fraction or exponent:
            return float(integer + (fraction or "") + (exponent or "")), match.end()
        return int(integer), match.end()

    def string(self, pos: int) -> tuple[str, int]:
        try:
            return _scanstring(self.text, pos, True)  # type: ignore[no-any-return]
        except json.JSONDecodeError as exc:
            raise self.fail(exc.pos, exc.msg) from None

    def object(self, start: int, depth: int) -> tuple[LineDict, int]:
        result = LineDict(self.line(start))
        pos = self.skip(start + 1)
        if self.text[pos : pos + 1] == "}":
            return result, pos + 1
        while True:
            if self.text[pos : pos + 1] != '"':
                raise self.fail(pos, "expected a double-quoted property name")
            key_pos = pos
            key, pos = self.string(pos + 1)
            if key in result.key_lines:
                raise self.fail(key_pos, f"duplicate key {key!r} (first at line {result.key_lines[key]})")
            pos = self.skip(pos)
            if self.text[pos : pos + 1] != ":":
                raise self.fail(pos, "expected ':' after a property name")
            result.key_lines[key] = self.line(key_pos)
            result[key], pos = self.value(self.skip(pos + 1), depth + 1)
            pos = self.skip(pos)
            char = self.text[pos : pos + 1]
            if char == "}":
                return result, pos + 1
            if char != ",":
                raise self.fail(pos, "expected ',' or '}' in an object")
            pos = self.skip(pos + 1)

    def array(self, start: int, depth: int) -> tuple[LineList, int]:
        result = LineList(self.line(start))
        pos = self.skip(start + 1)
        if self.text[pos : pos + 1] == "]":
            return result, pos + 1
        while True:
            result.item_lines.append(self.line(pos))
            item, pos = self.value(pos, depth + 1)
            result.append(item)
            pos = self.skip(pos)
            char = self.text[pos : pos + 1]
            if char == "]":
                return result, pos + 1
            if char != ",":
                raise self.fail(pos, "expected ',' or ']' in an array")
            pos = self.skip(pos + 1)


def load_json(text: str, path: str) -> Any:
    """Parse a JSON document into line-aware data; raise InputError on any problem."""
    parser = _Parser(text, path)
    value, pos = parser.value(parser.skip(0), 0)
    pos = parser.skip(pos)
    if pos != len(text):
        raise parser.fail(pos, "extra data after the document")
    return value
