"""The rule API: everything a rule file may import from checker.

A rule is metadata plus a pure ``evaluate(facts, params)`` that yields
findings. Rules never do I/O, never read the environment and keep no state;
the engine runs them, catches what they raise and reports it as an error.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from checker.iam import (
    EVERYONE,
    IamAction,
    covers_every,
    denies_unless,
    has_wildcard,
    is_all_actions,
    is_service_wildcard,
    listed,
    restricts,
)
from checker.iam import catalogue as iam_catalogue
from checker.loaders.nodes import line_of

__all__ = [
    "EVERYONE",
    "SEVERITIES",
    "SEVERITY_RANK",
    "TAGS",
    "Facts",
    "Finding",
    "IamAction",
    "Location",
    "NotApplicable",
    "Param",
    "Rule",
    "RuleMeta",
    "covers_every",
    "denies_unless",
    "finding_for",
    "has_wildcard",
    "iam_catalogue",
    "is_all_actions",
    "is_service_wildcard",
    "line_of",
    "listed",
    "restricts",
]

Severity = Literal["info", "low", "medium", "high", "critical"]
SEVERITIES: tuple[Severity, ...] = ("info", "low", "medium", "high", "critical")
SEVERITY_RANK: dict[str, int] = {severity: rank for rank, severity in enumerate(SEVERITIES)}
TAGS = frozenset({"iam", "coverage", "scan", "repo", "naming", "template"})

ParamType = Literal["integer", "number", "string", "boolean", "string_list"]
# Which way a parameter value makes the rule stricter; a team overlay may only
# move it that way. ``more``/``fewer`` compare lists by inclusion.
Tighter = Literal["higher", "lower", "more", "fewer", "true", "false"]


@dataclass(frozen=True, slots=True)
class Param:
    name: str
    type: ParamType
    default: Any
    description: str
    tighter: Tighter | None = None


@dataclass(frozen=True, slots=True)
class RuleMeta:
    """What a rule is, for the engine, the policy and the people it blocks.

    ``views`` names the fact views the rule reads; ``sam_expanded`` asks for
    them over the SAM-translated template; a ``mandatory`` rule cannot be
    turned off or down to a warning by any policy (parse errors, for one).
    """

    id: str
    title: str
    severity: Severity
    tags: tuple[str, ...]
    rationale: str
    remediation: str
    views: tuple[str, ...]
    params: tuple[Param, ...] = ()
    references: tuple[str, ...] = ()
    example_fail: str | None = None
    example_pass: str | None = None
    sam_expanded: bool = False
    mandatory: bool = False
    # Which policies (or other inputs) the rule reads, said exactly: shown by
    # `checker rules show` and in docs/rules.md.
    judges: str = ""
    source: str = ""
    source_sha256: str = ""  # of the rule's file, stamped by the registry; the report carries it

    def param(self, name: str) -> Param | None:
        return next((p for p in self.params if p.name == name), None)

    def defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.params}


@dataclass(frozen=True, slots=True, order=True)
class Location:
    path: str
    line: int | None = None
    resource: str | None = None
    # The CDK construct that made the resource (its aws:cdk:path), for
    # synthesized templates: set by the engine, never by a rule.
    construct: str | None = None
    # Untracked copies of the template judged as this one (build folders'):
    # set by the engine; a waiver scoped by path must cover them too.
    copies: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem: what is wrong, where, and the offending element itself.

    ``element`` is the offending content (an action, a property value) as
    text; waivers and baselines match on it, so it must not include line
    numbers.
    """

    message: str
    location: Location
    element: str | None = None


class NotApplicable(Exception):
    """Raised by a fact view (or a rule) when there is nothing to judge: no
    base ref to diff against, a report without branch data. The rule is then
    skipped, with this message as the reason."""


class Facts(Protocol):
    """Read-only access to fact views (lists of JSON-like records)."""

    def view(self, name: str) -> Sequence[Mapping[str, Any]]: ...


class Rule(Protocol):
    meta: RuleMeta

    def evaluate(self, facts: Facts, params: Mapping[str, Any]) -> Iterable[Finding]: ...


def finding_for(
    record: Mapping[str, Any], message: str, *, line: int | None = None, element: str | None = None
) -> Finding:
    """A finding located at a view record (its template or file, line and
    resource). When the record, or a value the finding names, comes through a
    choice the template makes (a condition's branch, a parameter value, a map
    entry), the message ends by saying which."""
    choices = _choices(record, message, element)
    if choices:
        message = f"{message} [when {'; '.join(choices)}]"
    return Finding(
        message,
        Location(record.get("template") or record["path"], line or record.get("line"), record.get("resource")),
        element,
    )


def _choices(record: Mapping[str, Any], message: str, element: str | None) -> list[str]:
    chosen = list(record.get("when") or ())
    via = record.get("via")
    named = set(re.split(r"[\s,]+", element)) if element else set()
    for value, how in (via.items() if isinstance(via, Mapping) else ()):
        if repr(value) in message or value in named:
            chosen += [choice for choice in how if choice not in chosen]
    return chosen
