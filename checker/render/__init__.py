"""Output formats. Each renderer is a pure ``render(statement, ...) -> str``."""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping
from typing import Any, assert_never

from checker.render import html, junit, markdown, sarif, text
from checker.ruleapi import RuleMeta


class OutputFormat(enum.Enum):
    TEXT = "text"
    JSON = "json"
    SARIF = "sarif"
    JUNIT = "junit"
    MARKDOWN = "markdown"
    HTML = "html"

    def render(self, statement: Mapping[str, Any], rules: Mapping[str, RuleMeta], *, color: bool) -> str:
        match self:
            case OutputFormat.TEXT:
                return text.render(statement, rules, color=color)
            case OutputFormat.JSON:
                return json.dumps(statement, indent=2, sort_keys=False, ensure_ascii=False) + "\n"
            case OutputFormat.SARIF:
                return json.dumps(sarif.render(statement, rules), indent=2, ensure_ascii=False) + "\n"
            case OutputFormat.JUNIT:
                return junit.render(statement, rules)
            case OutputFormat.MARKDOWN:
                return markdown.render(statement, rules)
            case OutputFormat.HTML:
                return html.render(statement, rules)
            case _:
                assert_never(self)
