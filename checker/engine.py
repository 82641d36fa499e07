"""Evaluation and judgement: every selected rule over every template in its
scope, then waivers, then the verdict; each outcome explicit.

Templates are loaded and judged one at a time, so memory holds one parsed
template at once. A rule that raises is recorded as an error for that
template (the verdict then fails); the other rules and templates still run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal

from checker.errors import CheckerError
from checker.facts import TemplateFacts, scope_of
from checker.facts.deployed_code import deployed_code
from checker.loaders.nodes import LineDict
from checker.policy import Policy, RuleSetting
from checker.relax.model import BreakGlass, Decision, Vouched
from checker.relax.waivers import WaiverOutcome, apply_waivers
from checker.ruleapi import Facts, Finding, NotApplicable, Rule, RuleMeta
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
    waived: tuple[tuple[Finding, str], ...] = ()  # (finding, waiver id)

    @property
    def blocking(self) -> bool:
        """Whether this result fails the verdict (before any break-glass)."""
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
    copies: tuple[str, ...] = ()  # files not in the commit, same content and stack, judged as this one


@dataclass(frozen=True, slots=True)
class InlineSuppression:
    """A waiver written in a template's resource ``Metadata.checker.waivers``."""

    template: str
    resource: str
    entry: LineDict
    body: Any = None  # the resource it sits on, as parsed: an approval covers it as it is


@dataclass(frozen=True, slots=True)
class Evaluation:
    results: tuple[RuleResult, ...]
    templates: tuple[TemplateSummary, ...]
    inline: tuple[InlineSuppression, ...] = ()
    waivers: tuple[WaiverOutcome, ...] = ()
    # Every relaxation from the team's side, approved or refused, and why.
    decisions: tuple[Decision, ...] = ()
    break_glass: BreakGlass | None = None
    break_glass_active: bool = False
    cache_hits: int = 0  # templates whose outcome came from the result cache
    code: tuple[str, ...] = ()  # the source files the templates' functions deploy, as folder/*.py

    @property
    def blocking(self) -> list[str]:
        return [r.meta.id for r in self.results if r.blocking]

    @property
    def verdict(self) -> Literal["pass", "fail"]:
        if not self.blocking:
            return "pass"
        return "pass" if self.break_glass_active else "fail"


@dataclass
class _Collector:
    findings: list[Finding] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    in_scope: int = 0


@dataclass(frozen=True, slots=True)
class TemplateOutcome:
    """What every active rule found in one template: the unit of parallel
    work and of the result cache."""

    summary: TemplateSummary
    findings: Mapping[str, tuple[Finding, ...]]
    errors: Mapping[str, tuple[str, ...]]
    in_scope: tuple[str, ...]
    inline: tuple[InlineSuppression, ...] = ()
    cached: bool = False
    code: tuple[str, ...] = ()  # the source files its functions deploy, as folder/*.py (deployed_code)


Active = Sequence[tuple[Rule, RuleSetting]]

def _run(rule: Rule, setting: RuleSetting, facts: Facts, where: str) -> tuple[list[Finding], list[str]]:
    """(findings, errors) of one rule; ``NotApplicable`` passes through."""
    try:
        source = facts.expanded() if rule.meta.sam_expanded and isinstance(facts, TemplateFacts) else facts
        return list(rule.evaluate(source, setting.params)), []
    except NotApplicable:
        raise
    except CheckerError as exc:
        return [], [str(exc)]
    except Exception as exc:  # a crashing rule is reported, never passed
        return [], [f"{where}: rule crashed: {type(exc).__name__}: {exc}"]


def inline_suppressions(template: Template) -> list[InlineSuppression]:
    found = []
    for logical_id, body in template.resources.items():
        metadata = body.get("Metadata") if isinstance(body, dict) else None
        checker = metadata.get("checker") if isinstance(metadata, dict) else None
        entries = checker.get("waivers") if isinstance(checker, dict) else None
        for entry in entries if isinstance(entries, list) else []:
            if isinstance(entry, LineDict):
                found.append(InlineSuppression(template.relpath, str(logical_id), entry, body))
    return found


def construct_paths(template: Template) -> dict[str, str]:
    """Logical id -> the CDK construct path that made it (``aws:cdk:path``
    metadata, which ``cdk synth`` writes unless told not to)."""
    paths = {}
    for logical_id, body in template.resources.items():
        metadata = body.get("Metadata") if isinstance(body, dict) else None
        path = metadata.get("aws:cdk:path") if isinstance(metadata, dict) else None
        if isinstance(path, str) and path:
            paths[str(logical_id)] = path
    return paths


def _at_constructs(found: Sequence[Finding], template: Template) -> list[Finding]:
    """Findings on a synthesized template, with the construct a developer edits."""
    paths = construct_paths(template)
    if not paths:
        return list(found)
    return [
        replace(f, location=replace(f.location, construct=paths.get(f.location.resource or "")))
        if f.location.resource in paths
        else f
        for f in found
    ]


def judge_template(template: Template, active: Active, env: str | None) -> TemplateOutcome:
    """Run each active rule on one template, within the rule's scope."""
    facts = TemplateFacts(template)
    findings: dict[str, tuple[Finding, ...]] = {}
    errors: dict[str, tuple[str, ...]] = {}
    in_scope = []
    for rule, setting in active:
        # Parse errors are judged everywhere: a scope cannot hide a broken file.
        if rule.meta.mandatory or setting.scope.applies(template.relpath, template.stack, env):
            try:
                found, failed = _run(rule, setting, facts, template.relpath)
            except NotApplicable:
                continue
            in_scope.append(rule.meta.id)
            if found:
                findings[rule.meta.id] = tuple(_at_constructs(found, template))
            if failed:
                errors[rule.meta.id] = tuple(failed)
    summary = TemplateSummary(
        template.relpath,
        template.sha256,
        template.kind,
        template.stack,
        "error" if template.error else "ok",
        len(template.resources),
    )
    return TemplateOutcome(
        summary, findings, errors, tuple(in_scope), tuple(inline_suppressions(template)), code=deployed_code(template)
    )


def active_rules(
    registry: Mapping[str, Rule], policy: Policy, scope: str = "template"
) -> list[tuple[Rule, RuleSetting]]:
    """The rules the policy turns on that read views of ``scope``."""
    return [
        (registry[rule_id], s)
        for rule_id, s in policy.rules.items()
        if s.enforce != "off" and scope_of(registry[rule_id].meta.views) == scope
    ]


def evaluate(
    templates: Iterable[Template],
    registry: Mapping[str, Rule],
    policy: Policy,
    progress: Callable[[int], None] | None = None,
) -> Evaluation:
    """Run each enabled rule on each template in the rule's scope."""
    active = active_rules(registry, policy)
    return aggregate((judge_template(t, active, policy.env) for t in templates), registry, policy, progress)


def fold_copies(outcomes: Sequence[TemplateOutcome], committed: frozenset[str] | None) -> list[TemplateOutcome]:
    """Judge a copy of a committed template (a build folder's) as the
    committed one: same content, same stack, same kind. The committed path
    owns its findings, each of which names the copies; a waiver scoped by
    path covers such a finding only if it covers every copy's path too
    (Waiver.matches), so no path can lend a waiver to another. A template
    with no committed original keeps its own path and findings."""
    if not committed:
        return list(outcomes)
    groups: dict[tuple[str, str | None, str], list[TemplateOutcome]] = {}
    for outcome in outcomes:
        s = outcome.summary
        if s.sha256:
            groups.setdefault((s.sha256, s.stack, s.kind), []).append(outcome)
    folded: dict[str, TemplateOutcome] = {}  # copy path -> the outcome it folds into
    for members in groups.values():
        owners = sorted((o for o in members if o.summary.path in committed), key=lambda o: o.summary.path)
        copies = [o for o in members if o.summary.path not in committed]
        if owners and copies:
            for copy in copies:
                folded[copy.summary.path] = owners[0]
    if not folded:
        return list(outcomes)
    merged: dict[str, TemplateOutcome] = {}
    for outcome in outcomes:
        owner = folded.get(outcome.summary.path)
        if owner is None:
            merged.setdefault(outcome.summary.path, outcome)
            continue
        base = merged.get(owner.summary.path, owner)
        copy_paths = tuple(sorted({*base.summary.copies, outcome.summary.path}))

        def at_owner(f: Finding, path: str = owner.summary.path, also: tuple[str, ...] = copy_paths) -> Finding:
            return replace(f, location=replace(f.location, path=path, copies=also))

        findings = {rule: {at_owner(f) for f in found} for rule, found in base.findings.items()}
        for rule, found in outcome.findings.items():  # a copy in a rule's scope the owner is not in
            findings.setdefault(rule, set()).update(at_owner(f) for f in found)
        merged[owner.summary.path] = replace(
            base,
            summary=replace(base.summary, copies=copy_paths),
            findings={rule: tuple(sorted(found, key=_finding_key)) for rule, found in findings.items()},
            errors={**outcome.errors, **base.errors},
            in_scope=tuple(dict.fromkeys((*base.in_scope, *outcome.in_scope))),
            # The code each copy deploys, from its own folder (a committed
            # decoy elsewhere must not take the deployed copy's code away).
            code=tuple(dict.fromkeys((*base.code, *outcome.code))),
        )
    return [merged[o.summary.path] for o in outcomes if o.summary.path in merged]


def aggregate(
    outcomes: Iterable[TemplateOutcome | None],
    registry: Mapping[str, Rule],
    policy: Policy,
    progress: Callable[[int], None] | None = None,
    committed: frozenset[str] | None = None,
) -> Evaluation:
    """Fold per-template outcomes into one result per rule, copies of
    committed templates into their original (:func:`fold_copies`);
    ``progress`` hears the count of files done."""
    collected = {rule.meta.id: _Collector() for rule, _ in active_rules(registry, policy)}
    summaries: list[TemplateSummary] = []
    inline: list[InlineSuppression] = []
    hits = 0
    judged: list[TemplateOutcome] = []
    for done, outcome in enumerate(outcomes, 1):
        if outcome is not None:
            hits += outcome.cached
            judged.append(outcome)
        if progress is not None:
            progress(done)
    code: dict[str, None] = {}
    for outcome in fold_copies(judged, committed):
        code.update(dict.fromkeys(outcome.code))
        summaries.append(outcome.summary)
        inline += outcome.inline
        for rule_id in outcome.in_scope:
            collected[rule_id].in_scope += 1
        for rule_id, found in outcome.findings.items():
            collected[rule_id].findings.extend(found)
        for rule_id, failed in outcome.errors.items():
            collected[rule_id].errors.extend(failed)
    repository = {rule.meta.id for rule, _ in active_rules(registry, policy, "repository")}
    results = [
        RuleResult(registry[rule_id].meta, setting, "skipped", TEMPLATES_ONLY, ())
        if rule_id in repository
        else _result(registry[rule_id], setting, collected.get(rule_id), bool(summaries))
        for rule_id, setting in policy.rules.items()
    ]
    return Evaluation(
        tuple(results), tuple(sorted(summaries, key=lambda s: s.path)), tuple(inline), cache_hits=hits, code=tuple(code)
    )


# What a repository rule says until judge_repository has run (and for good
# with --templates-only, which never runs it).
TEMPLATES_ONLY = "repository rules (coverage, scans, repository files) do not run with --templates-only"


def judge_repository(facts: Facts, active: Active, env: str | None) -> dict[str, RuleResult]:
    """Run each active repository-scope rule once, over the run's evidence."""
    results = {}
    for rule, setting in active:
        meta = rule.meta
        if setting.scope.envs and env not in setting.scope.envs:
            results[meta.id] = RuleResult(
                meta, setting, "skipped", f"applies in {', '.join(setting.scope.envs)} only", ()
            )
            continue
        try:
            found, failed = _run(rule, setting, facts, "repository")
        except NotApplicable as exc:
            results[meta.id] = RuleResult(meta, setting, "skipped", str(exc), ())
            continue
        results[meta.id] = _result(rule, setting, _Collector(found, failed, in_scope=1), any_input=True)
    return results


def merge_repository(evaluation: Evaluation, results: Mapping[str, RuleResult]) -> Evaluation:
    """The evaluation with the repository rules' results in place."""
    merged = tuple(results.get(r.meta.id, r) for r in evaluation.results)
    return replace(evaluation, results=merged)


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
    if not collected.in_scope:
        return RuleResult(meta, setting, "skipped", "no template in the rule's scope", ())
    return RuleResult(meta, setting, "pass", "no findings", ())


def judge(
    evaluation: Evaluation,
    vouched: Vouched,
    now: datetime,
    *,
    decisions: Sequence[Decision] = (),
) -> Evaluation:
    """Apply the vouched-for waivers (never to mandatory rules, nor over a rule
    error) and break-glass; ``decisions`` (every relaxation from the team's
    side, approved or not) are kept for the report, a break-glass record
    asked for among them even when it was refused."""
    waivable = {r.meta.id: r.findings for r in evaluation.results if r.status == "fail" and not r.meta.mandatory}
    judged, outcomes = apply_waivers(waivable, vouched.waivers, now)
    results = []
    for result in evaluation.results:
        verdicts = judged.get(result.meta.id)
        if verdicts is None:
            results.append(result)
            continue
        open_findings = tuple(f for f, waiver in verdicts.findings if waiver is None)
        waived = tuple((f, waiver) for f, waiver in verdicts.findings if waiver is not None)
        if open_findings:
            status: Status = "fail"
            reason = f"{len(open_findings)} finding(s)" + (f", {len(waived)} waived" if waived else "")
        else:
            status, reason = "waived", f"all {len(waived)} finding(s) waived"
        results.append(replace(result, status=status, reason=reason, findings=open_findings, waived=waived))
    glass = vouched.break_glass
    asked = next((d.relaxation.break_glass for d in decisions if d.relaxation.break_glass is not None), None)
    return replace(
        evaluation,
        results=tuple(results),
        waivers=tuple(outcomes),
        decisions=tuple(decisions),
        break_glass=glass or asked,
        break_glass_active=glass is not None and glass.expires >= now,
    )


def _finding_key(finding: Finding) -> tuple[str, int, str, str, str]:
    loc = finding.location
    return (loc.path, loc.line or 0, loc.resource or "", finding.message, finding.element or "")


def describe_findings(result: RuleResult) -> list[dict[str, Any]]:
    """Open findings, then waived ones marked with the waiver that waived them."""

    def one(finding: Finding, waiver: str | None) -> dict[str, Any]:
        loc = finding.location
        out: dict[str, Any] = {
            "message": finding.message,
            "location": {"path": loc.path, "line": loc.line, "resource": loc.resource},
        }
        if loc.construct is not None:
            out["location"]["construct"] = loc.construct
        if loc.copies:
            out["location"]["copies"] = list(loc.copies)
        if finding.element is not None:
            out["element"] = finding.element
        if waiver is not None:
            out["waived_by"] = waiver
        return out

    return [one(f, None) for f in result.findings] + [one(f, w) for f, w in result.waived]
