"""Output formats. Each renderer is a pure ``render(statement, ...) -> str``."""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, assert_never

if TYPE_CHECKING:
    from checker.ruleapi import RuleMeta


class OutputFormat(enum.Enum):
    TEXT = "text"
    JSON = "json"
    SARIF = "sarif"
    JUNIT = "junit"
    MARKDOWN = "markdown"
    HTML = "html"

    def render(self, statement: Mapping[str, Any], rules: Mapping[str, RuleMeta], *, color: bool) -> str:
        # Each renderer is imported when used: the pre-commit path needs only text.
        match self:
            case OutputFormat.TEXT:
                from checker.render import text

                return text.render(statement, rules, color=color)
            case OutputFormat.JSON:
                return json.dumps(statement, indent=2, sort_keys=False, ensure_ascii=False) + "\n"
            case OutputFormat.SARIF:
                from checker.render import sarif

                return json.dumps(sarif.render(statement, rules), indent=2, ensure_ascii=False) + "\n"
            case OutputFormat.JUNIT:
                from checker.render import junit

                return junit.render(statement, rules)
            case OutputFormat.MARKDOWN:
                from checker.render import markdown

                return markdown.render(statement, rules)
            case OutputFormat.HTML:
                from checker.render import html

                return html.render(statement, rules)
            case _:
                assert_never(self)
