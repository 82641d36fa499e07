"""The check pipeline, from paths to a judged evaluation and its report.

discover -> load -> evaluate -> waive (policy waivers, inline suppressions,
baseline file) -> break-glass -> report. ``checker check``, ``checker
baseline`` and ``checker policy test`` all run it; the CLI only parses
arguments and writes outputs.
"""

from __future__ import annotations

import glob
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from checker.discovery import discover
from checker.engine import BreakGlass, Evaluation, InlineSuppression, judge, merge_repository
from checker.errors import InputError, PolicyError
from checker.iam import catalogue_source
from checker.loaders import LineDict, load_document
from checker.policy import Policy, default_policy_path, explain_setting, load_policy, parse_waiver
from checker.provenance import SourceFacts, ci_facts, git_facts
from checker.report import Subject, build_statement
from checker.ruleapi import Rule
from checker.runner import evaluate_candidates
from checker.waivers import Waiver, parse_expiry, with_id

OVERLAY_FILE = ".checker.yml"
BASELINE_FILE = ".checker-baseline.yml"
BASELINE_KIND = "checker-baseline"


@dataclass(frozen=True)
class CheckRequest:
    paths: Sequence[Path]
    root: Path
    policies: Sequence[Path] = ()
    excludes: Sequence[str] = ()
    env: str | None = None
    baseline: Path | None = None
    break_glass: Path | None = None
    subjects: Sequence[Subject] = ()
    environ: Mapping[str, str] = field(default_factory=dict)
    now: datetime | None = None
    use_baseline: bool = True  # off when refreshing the baseline itself
    templates_only: bool = False  # named files that are not templates are skipped, not errors
    progress: Callable[[int], None] | None = None
    jobs: int | None = None  # worker processes; default: one per core
    cache_dir: Path | None = None
    rule_folders: Sequence[Path] = ()  # organization rule folders, part of the cache key
    evidence: Sequence[Path] = ()  # --evidence files, besides those discovered
    run_scans: bool = False
    base_ref: str | None = None  # for coverage of new code; from CI when not given
    scan_progress: Callable[[str], None] | None = None
    # Read the git checkout for the report (a few git processes); the CLI
    # skips it when the report is only printed as text, as a hook does.
    record_source: bool = True


@dataclass(frozen=True)
class CheckRun:
    evaluation: Evaluation
    policy: Policy
    statement: dict[str, Any]


def _now_text(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def policy_layers(policies: Sequence[Path], root: Path) -> tuple[list[Path], list[str]]:
    """The baseline (given, or the built-in one) and the team overlay
    (``.checker.yml`` at the root, found automatically)."""
    paths = list(policies) or [default_policy_path()]
    displays = [str(p) for p in policies] or ["(built-in) policies/baseline.yaml"]
    overlay = root / OVERLAY_FILE
    if overlay.is_file() and all(p.resolve() != overlay.resolve() for p in paths):
        paths.append(overlay)
        displays.append(OVERLAY_FILE)
    return paths, displays


def _inline_waivers(
    inline: Sequence[InlineSuppression], policy: Policy, registry: Mapping[str, Rule], now: datetime
) -> tuple[list[Waiver], list[InlineSuppression]]:
    if not policy.settings.inline_suppressions:
        return [], list(inline)
    horizon = now + timedelta(days=policy.settings.max_waiver_days)
    waivers = [
        parse_waiver(
            item.entry,
            item.template,
            f"Resources.{item.resource}.Metadata.checker.waivers",
            registry,
            horizon,
            policy.settings,
            kind="inline",
            # An inline suppression covers its own resource in its own template.
            defaults={"template": glob.escape(item.template), "resource": glob.escape(item.resource)},
        )
        for item in inline
    ]
    return waivers, []


def load_baseline(path: Path, registry: Mapping[str, Rule], policy: Policy, now: datetime) -> list[Waiver]:
    """A baseline file's entries as expiring, fingerprint-matched waivers."""
    display = str(path)
    try:
        data = load_document(path, display)
    except InputError as exc:
        raise PolicyError(exc.message, path=display, line=exc.line) from None
    if not isinstance(data, LineDict) or data.get("kind") != BASELINE_KIND:
        raise PolicyError(f"not a checker baseline (kind: {BASELINE_KIND})", path=display, line=1, field="kind")
    expires = parse_expiry(data.get("expires"))
    approved = data.get("approved_by")
    if expires is None or not isinstance(approved, str) or not approved.strip():
        raise PolicyError("a baseline needs approved_by and expires", path=display, line=1)
    if expires > now + timedelta(days=policy.settings.max_waiver_days):
        raise PolicyError(
            f"expires beyond the {policy.settings.max_waiver_days}-day horizon the baseline policy allows",
            path=display,
            line=data.key_lines.get("expires"),
            field="expires",
        )
    entries = data.get("entries") or []
    waivers = []
    for index, entry in enumerate(entries):
        line = entries.item_lines[index] if hasattr(entries, "item_lines") else None
        if not isinstance(entry, dict) or not isinstance(entry.get("fingerprint"), str):
            raise PolicyError("each entry needs a fingerprint", path=display, line=line, field=f"entries[{index}]")
        rule = str(entry.get("rule"))
        if rule not in registry:
            raise PolicyError(f"no rule with id {rule!r}", path=display, line=line, field=f"entries[{index}].rule")
        waivers.append(
            with_id(
                Waiver(
                    rule=rule,
                    reason=str(data.get("reason") or "recorded in the adoption baseline"),
                    approved_by=approved,
                    expires=expires,
                    source=f"{display}:{line}" if line else display,
                    template=glob.escape(str(entry.get("path", ""))) or None,
                    resource=glob.escape(str(entry.get("resource"))) if entry.get("resource") else None,
                    element=entry.get("element"),
                    kind="baseline",
                    fingerprint=entry["fingerprint"],
                    id=f"B-{entry['fingerprint'][:12]}",
                )
            )
        )
    return waivers


def load_break_glass(path: Path, policy: Policy, now: datetime) -> BreakGlass:
    display = str(path)
    hours = policy.settings.break_glass_max_hours
    if hours == 0:
        raise PolicyError("the baseline does not allow break-glass (settings.break_glass_max_hours: 0)", path=display)
    try:
        data = load_document(path, display)
    except InputError as exc:
        raise PolicyError(exc.message, path=display, line=exc.line) from None
    if not isinstance(data, LineDict):
        raise PolicyError("a break-glass file is a mapping", path=display, line=1)
    for key in ("incident", "approved_by", "reason"):
        if not isinstance(data.get(key), str) or not data[key].strip():
            raise PolicyError(
                "is required: a non-empty string", path=display, line=data.key_lines.get(key, 1), field=key
            )
    expires = parse_expiry(data.get("expires"))
    if expires is None:
        raise PolicyError(
            "is required: an ISO 8601 time",
            path=display,
            line=data.key_lines.get("expires", 1),
            field="expires",
        )
    if expires > now + timedelta(hours=hours):
        raise PolicyError(
            f"is beyond the {hours}-hour horizon the baseline allows for break-glass",
            path=display,
            line=data.key_lines.get("expires"),
            field="expires",
        )
    return BreakGlass(data["incident"].strip(), data["approved_by"].strip(), data["reason"].strip(), expires, display)


def _subjects(
    given: Sequence[Subject], root: Path, source: SourceFacts | None, evaluation: Evaluation
) -> list[Subject]:
    if given:
        return list(given)
    if source is not None:
        return [Subject(source.repository or root.name, {"gitCommit": source.commit})]
    return [Subject(t.path, {"sha256": t.sha256}) for t in evaluation.templates if t.sha256]


def run_check(request: CheckRequest, registry: Mapping[str, Rule]) -> CheckRun:
    now = request.now or datetime.now(UTC)
    started = _now_text(now)
    paths, displays = policy_layers(request.policies, request.root)
    policy = load_policy(paths, registry, displays, env=request.env, now=now)
    glass = load_break_glass(request.break_glass, policy, now) if request.break_glass else None
    excludes = [*request.excludes, *(g for g, _ in policy.excludes)]
    found = discover(request.paths, request.root, excludes, sniff_named_files=request.templates_only)
    cache = None
    if request.cache_dir is not None:
        from checker.cache import OutcomeCache, run_salt
        from checker.registry import builtin_rules_dir

        settings = {rule_id: explain_setting(s) for rule_id, s in policy.rules.items()}
        salt = run_salt(
            [builtin_rules_dir(), *request.rule_folders], settings, policy.env, catalogue_source()["sha256"]
        )
        cache = OutcomeCache(request.cache_dir, salt)
    evaluation = evaluate_candidates(
        found.candidates, registry, policy, jobs=request.jobs, cache=cache, progress=request.progress
    )
    # The repository rules read git facts too (their `repo` view).
    source = git_facts(found.root) if request.record_source or not request.templates_only else None
    evidence: list[dict[str, Any]] = []
    skipped = list(found.skipped)
    if not request.templates_only:
        from checker.evidence.judge import judge_evidence

        results, evidence, not_evidence = judge_evidence(
            request, found, policy, registry, [t.path for t in evaluation.templates], source
        )
        evaluation = merge_repository(evaluation, results)
        skipped += not_evidence
    inline, ignored = _inline_waivers(evaluation.inline, policy, registry, now)
    baseline_path = request.baseline or (found.root / BASELINE_FILE)
    baseline = (
        load_baseline(baseline_path, registry, policy, now)
        if request.use_baseline and (request.baseline or baseline_path.is_file())
        else []
    )
    evaluation = judge(
        evaluation, [*policy.waivers, *inline, *baseline], now, ignored_inline=ignored, break_glass=glass
    )
    iam_active = any("iam" in registry[r].meta.tags for r, s in policy.rules.items() if s.enforce != "off")
    statement = build_statement(
        evaluation=evaluation,
        policy=policy,
        subjects=_subjects(request.subjects, found.root, source, evaluation),
        source=source,
        ci=ci_facts(request.environ),
        skipped=skipped,
        evidence=evidence,
        templates_only=request.templates_only,
        data_sources=[{"name": "iam-actions", **catalogue_source()}] if iam_active else [],
        started=started,
        finished=_now_text(request.now or datetime.now(UTC)),
    )
    return CheckRun(evaluation, policy, statement)


def baseline_document(run: CheckRun, approved_by: str, reason: str, expires: datetime, now: datetime) -> dict[str, Any]:
    """Today's open findings as a baseline file: each remembered by its
    fingerprint (rule, file, resource, offending element; not the line)."""
    from checker.waivers import fingerprint

    entries = []
    for result in run.evaluation.results:
        if result.meta.mandatory:
            continue  # parse errors are never accepted
        for finding in result.findings:
            loc = finding.location
            entry: dict[str, Any] = {"rule": result.meta.id, "path": loc.path}
            if loc.resource:
                entry["resource"] = loc.resource
            if finding.element is not None:
                entry["element"] = finding.element
            entry["fingerprint"] = fingerprint(result.meta.id, finding)
            entries.append(entry)
    entries.sort(key=lambda e: (e["path"], e["rule"], e.get("resource", ""), e["fingerprint"]))
    unique = [e for i, e in enumerate(entries) if i == 0 or e["fingerprint"] != entries[i - 1]["fingerprint"]]
    return {
        "kind": BASELINE_KIND,
        "created": _now_text(now),
        "approved_by": approved_by,
        "reason": reason,
        "expires": _now_text(expires),
        "entries": unique,
    }
