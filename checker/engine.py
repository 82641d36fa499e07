"""Evaluation: every selected rule over every template, each outcome explicit.

Templates are loaded and judged one at a time, so memory holds one parsed
template at once. A rule that raises is recorded as an error for that
template (the verdict then fails); the other rules and templates still run.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from checker.errors import CheckerError
from checker.facts import TemplateFacts
from checker.policy import Policy, RuleSetting
from checker.ruleapi import Finding, Rule, RuleMeta
from checker.templates import Template

Status = Literal["pass", "fail", "waived", "error", "skipped"]


@dataclass(frozen=True, slots=True)
class RuleResult:
    meta: RuleMeta
    setting: RuleSetting
    status: Status
    reason: str
    findings: tuple[Finding, ...]
    errors: tuple[str, ...] = ()

    @property
    def blocking(self) -> bool:
        """Whether this result fails the verdict."""
        if self.status == "error":
            return True
        return self.status == "fail" and self.setting.enforce == "error"


@dataclass(frozen=True, slots=True)
class TemplateSummary:
    path: str
    sha256: str
    kind: str
    stack: str | None
    status: Literal["ok", "error"]
    resources: int


@dataclass(frozen=True, slots=True)
class Evaluation:
    results: tuple[RuleResult, ...]
    templates: tuple[TemplateSummary, ...]

    @property
    def verdict(self) -> Literal["pass", "fail"]:
        return "fail" if any(r.blocking for r in self.results) else "pass"


@dataclass
class _Collector:
    findings: list[Finding] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _run(rule: Rule, setting: RuleSetting, facts: TemplateFacts, into: _Collector) -> None:
    try:
        source = facts.expanded() if rule.meta.sam_expanded else facts
        into.findings.extend(rule.evaluate(source, setting.params))
    except CheckerError as exc:
        into.errors.append(str(exc))
    except Exception as exc:  # a crashing rule is reported, never passed
        into.errors.append(f"{facts.template.relpath}: rule crashed: {type(exc).__name__}: {exc}")


def evaluate(templates: Iterable[Template], registry: Mapping[str, Rule], policy: Policy) -> Evaluation:
    active: list[tuple[Rule, RuleSetting]] = [
        (registry[rule_id], setting) for rule_id, setting in policy.rules.items() if setting.enforce != "off"
    ]
    collected = {rule.meta.id: _Collector() for rule, _ in active}
    summaries: list[TemplateSummary] = []
    for template in templates:
        facts = TemplateFacts(template)
        summaries.append(
            TemplateSummary(
                template.relpath,
                template.sha256,
                template.kind,
                template.stack,
                "error" if template.error else "ok",
                len(template.resources),
            )
        )
        for rule, setting in active:
            _run(rule, setting, facts, collected[rule.meta.id])
    results = [
        _result(registry[rule_id], setting, collected.get(rule_id), bool(summaries))
        for rule_id, setting in policy.rules.items()
    ]
    return Evaluation(tuple(results), tuple(sorted(summaries, key=lambda s: s.path)))


def _result(rule: Rule, setting: RuleSetting, collected: _Collector | None, any_input: bool) -> RuleResult:
    meta = rule.meta
    if collected is None:
        return RuleResult(meta, setting, "skipped", "turned off by the policy", ())
    findings = tuple(sorted(set(collected.findings), key=_finding_key))
    if collected.errors:
        return RuleResult(
            meta,
            setting,
            "error",
            "the rule could not be evaluated",
            findings,
            tuple(sorted(set(collected.errors))),
        )
    if findings:
        return RuleResult(meta, setting, "fail", f"{len(findings)} finding(s)", findings)
    if not any_input:
        return RuleResult(meta, setting, "skipped", "no templates found", ())
    return RuleResult(meta, setting, "pass", "no findings", ())


def _finding_key(finding: Finding) -> tuple[str, int, str, str, str]:
    loc = finding.location
    return (loc.path, loc.line or 0, loc.resource or "", finding.message, finding.element or "")


def blocking_rules(results: Sequence[RuleResult]) -> list[str]:
    return [r.meta.id for r in results if r.blocking]
