"""Output formats. Each renderer is a pure ``render(statement, ...) -> str``."""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping
from typing import Any, assert_never

from checker.render import text
from checker.ruleapi import RuleMeta


class OutputFormat(enum.Enum):
    TEXT = "text"
    JSON = "json"

    def render(self, statement: Mapping[str, Any], rules: Mapping[str, RuleMeta], *, color: bool) -> str:
        match self:
            case OutputFormat.TEXT:
                return text.render(statement, rules, color=color)
            case OutputFormat.JSON:
                return json.dumps(statement, indent=2, sort_keys=False, ensure_ascii=False) + "\n"
            case _:
                assert_never(self)
