"""The check pipeline, from paths to a judged evaluation and its report.

discover -> load -> evaluate -> relaxations (the baseline's waivers; the
team's waiver sets, inline waivers, adoption baseline and break-glass, each
applied only when approved) -> waive -> report. ``checker check``,
``checker baseline`` and ``checker policy test`` all run it; the CLI only
parses arguments and writes outputs.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from checker.canonical import folder_digest
from checker.discovery import discover
from checker.engine import Evaluation, judge, merge_repository
from checker.errors import PolicyError, UsageError
from checker.facts.deployment_parameters import collect as collect_parameters
from checker.iam import catalogue_source
from checker.loaders import LineDict
from checker.policy import Exclude, Policy, default_policy_path, delegated_exclude, explain_setting, load_policy
from checker.provenance import SourceFacts, ci_facts, git_facts
from checker.relax.approval import approval_path
from checker.relax.decide import Context, decide, vouched
from checker.relax.model import Relaxation
from checker.relax.sources import (
    ADOPTION_FILE,
    ADOPTION_KIND,
    WAIVER_SET_FILE,
    inline_relaxation,
    read_adoption_baseline,
    read_break_glass,
    read_waiver_set,
)
from checker.report import Subject, build_statement
from checker.ruleapi import Rule
from checker.runner import evaluate_candidates
from checker.times import utc_text

if TYPE_CHECKING:
    from checker.bundle import Bundle
    from checker.cache import JsonStore, OutcomeCache

OVERLAY_FILE = ".checker.yml"


@dataclass(frozen=True)
class CheckRequest:
    """One check, as asked for. Every field but ``fixed_excludes`` comes from
    the team's side (its command line, its files) and is judged as such."""

    paths: Sequence[Path]
    root: Path
    policies: Sequence[Path] = ()
    excludes: Sequence[str] = ()  # --exclude: only within what the baseline delegates
    env: str | None = None
    baseline: Path | None = None  # adoption baseline; default .checker-baseline.yml at the root
    break_glass: Path | None = None
    waiver_sets: Sequence[Path] = ()  # default .checker-waivers.yml at the root
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
    # Set by checker itself (policy test cases keep case.yaml out), never from input.
    fixed_excludes: Sequence[Exclude] = ()
    # A verified policy bundle: its baseline is the baseline, `policies` are overlays on it.
    bundle: Bundle | None = None


@dataclass(frozen=True)
class CheckRun:
    evaluation: Evaluation
    policy: Policy
    statement: dict[str, Any]


def policy_layers(policies: Sequence[Path], root: Path, bundle: Bundle | None = None) -> tuple[list[Path], list[str]]:
    """The baseline (a bundle's, given, or the built-in one), overlays given,
    and the team overlay (``.checker.yml`` at the root, found automatically)."""
    if bundle is not None:
        paths = [bundle.baseline, *policies]
        displays = [f"{bundle.label}/{bundle.baseline.name}", *(_shown(p, root) for p in policies)]
    else:
        paths = list(policies) or [default_policy_path()]
        displays = [_shown(p, root) for p in policies] or ["(built-in) policies/baseline.yaml"]
    overlay = root / OVERLAY_FILE
    if overlay.is_file() and all(p.resolve() != overlay.resolve() for p in paths):
        paths.append(overlay)
        displays.append(OVERLAY_FILE)
    return paths, displays


def _shown(path: Path, root: Path) -> str:
    """A policy file as the user typed it, unless typed absolute (then :func:`display_path`)."""
    return display_path(path, root) if path.is_absolute() else str(path)


def display_path(path: Path, root: Path) -> str:
    """How a file is named in findings, reports and approvals: relative to the
    root (so an approval made at the root matches), ``../artifacts/lcov.info``
    outside it. A signed report names no absolute path of the machine, and
    the name always leads from the root to the file that was read."""
    real, top = Path(os.path.realpath(path)), Path(os.path.realpath(root))
    try:
        return real.relative_to(top).as_posix()
    except ValueError:
        return Path(os.path.relpath(real, top)).as_posix()


def _cli_excludes(request: CheckRequest, policy: Policy) -> list[Exclude]:
    excludes = []
    for glob in request.excludes:
        bounded = delegated_exclude(glob, "--exclude", policy.delegated_excludes)
        if bounded is None:
            allowed = ", ".join(policy.delegated_excludes) or "none"
            raise UsageError(
                f"--exclude {glob!r} is not within what the baseline delegates (delegate.exclude: {allowed})",
                hint="excluding paths relaxes the gate: only the organization's baseline can allow it",
            )
        excludes.append(bounded)
    return excludes


def _team_relaxations(
    request: CheckRequest, root: Path, policy: Policy, registry: Mapping[str, Rule], now: datetime
) -> list[Relaxation]:
    """The relaxation files from the team's side, parsed (not yet judged)."""
    days = policy.settings.max_waiver_days
    found: list[Relaxation] = []
    waiver_sets = list(request.waiver_sets) or ([root / WAIVER_SET_FILE] if (root / WAIVER_SET_FILE).is_file() else [])
    for path in waiver_sets:
        found.append(read_waiver_set(path, _inside(path, root, "--waivers"), registry, days, now))
    adoption = request.baseline or root / ADOPTION_FILE
    if request.use_baseline and (request.baseline or adoption.is_file()):
        found.append(read_adoption_baseline(adoption, _inside(adoption, root, "--baseline"), registry, days, now))
    if request.break_glass:
        glass = request.break_glass
        found.append(read_break_glass(glass, display_path(glass, root), policy.settings.break_glass_max_hours, now))
    return found


def _inside(path: Path, root: Path, option: str) -> str:
    """The root-relative name of a waiver set or adoption baseline, which must
    be in the checkout: only there is it part of the commit a report names."""
    try:
        Path(os.path.realpath(path)).relative_to(Path(os.path.realpath(root)))
    except ValueError:
        raise UsageError(
            f"{option} {path} is outside the checked root (symbolic links followed): a relaxation counts only "
            "from the repository, committed beside its approval"
        ) from None
    return display_path(path, root)


def _unique_waiver_ids(policy: Policy, relaxations: Sequence[Relaxation]) -> None:
    """A team's waiver may not pass for the baseline's, or for another, by its id."""
    seen = {w.id: w.source for w in policy.waivers}
    for relaxation in relaxations:
        for waiver in relaxation.waivers:
            if waiver.id in seen:
                raise PolicyError(
                    f"waiver id {waiver.id} is already used by the waiver at {seen[waiver.id]}",
                    path=waiver.source,
                    field="id",
                    hint="give each waiver its own id (or none: one is derived from its rule and scope)",
                )
            seen[waiver.id] = waiver.source


def _inline_relaxations(
    evaluation: Evaluation, root: Path, policy: Policy, registry: Mapping[str, Rule], now: datetime
) -> list[Relaxation]:
    by_template: dict[str, list[tuple[str, LineDict]]] = defaultdict(list)
    bodies: dict[str, dict[str, Any]] = defaultdict(dict)
    for item in evaluation.inline:
        by_template[item.template].append((item.resource, item.entry))
        bodies[item.template][item.resource] = item.body
    return [
        inline_relaxation(template, entries, root, registry, policy.settings.max_waiver_days, now, bodies[template])
        for template, entries in sorted(by_template.items())
    ]


def _caches(request: CheckRequest, policy: Policy) -> tuple[OutcomeCache | None, JsonStore | None]:
    """The result and scan caches, when asked for and the CI's secret is set."""
    if request.cache_dir is None:
        return None, None
    from checker.cache import JsonStore, OutcomeCache, cache_secret, run_salt
    from checker.registry import builtin_rules_dir

    secret = cache_secret(request.environ)
    if secret is None:
        return None, None  # recorded as requested but not authenticated: nothing is read or written
    settings = {rule_id: explain_setting(s) for rule_id, s in policy.rules.items()}
    # checker's own code is part of every key: a release that reads more (a new
    # policy carrier, a new intrinsic) must not be served what an older one found.
    own_code = Path(__file__).resolve().parent
    folders = [own_code, builtin_rules_dir(), *request.rule_folders]
    salt = run_salt(folders, settings, policy.env, catalogue_source()["sha256"])
    return OutcomeCache(request.cache_dir, salt, secret), JsonStore(request.cache_dir / "scans", secret)


def run_check(request: CheckRequest, registry: Mapping[str, Rule]) -> CheckRun:
    now = request.now or datetime.now(UTC)
    started = utc_text(now)
    paths, displays = policy_layers(request.policies, request.root, request.bundle)
    policy = load_policy(paths, registry, displays, env=request.env, now=now)
    if request.bundle is not None:
        from checker.bundle import check_baseline

        check_baseline(request.bundle, policy.digest)
    excludes = [*policy.excludes, *_cli_excludes(request, policy), *request.fixed_excludes]
    found = discover(
        request.paths,
        request.root,
        excludes,
        sniff_named_files=request.templates_only,
        find_evidence=not request.templates_only,  # evidence is for the repository rules
    )
    root = found.root
    parameters = collect_parameters(
        root,
        [c.relpath for c in found.candidates],
        [(c.path, c.relpath) for c in found.candidates if c.relpath.endswith(".json")],
    )
    relaxations = _team_relaxations(request, root, policy, registry, now)
    cache, scan_cache = _caches(request, policy)
    evaluation = evaluate_candidates(
        found.candidates,
        registry,
        policy,
        jobs=request.jobs,
        cache=cache,
        progress=request.progress,
        committed=found.committed,
        parameters=parameters,
    )
    relaxations += _inline_relaxations(evaluation, root, policy, registry, now)
    _unique_waiver_ids(policy, relaxations)
    source = None
    if request.record_source or not request.templates_only or relaxations:
        # Team-side inputs that must be committed for the report to speak for the commit.
        inputs = [*paths[1:], *request.rule_folders, *(r.path for r in relaxations if r.kind != "inline-waivers")]
        inputs += [root / f.relpath for f in parameters.files]
        inputs += [approval_path(r.path) for r in relaxations if r.kind != "break-glass"]
        templates = [t.path for t in evaluation.templates]
        source = git_facts(
            root,
            [p for p in inputs if p.exists()],
            templates,
            [c.relpath for c in found.evidence],
            # A hook's text-only run needs the repository and commit (for
            # approvals), not a comparison of every file with the commit.
            compare=request.record_source or not request.templates_only,
        )
    evidence: list[dict[str, Any]] = []
    skipped = list(found.skipped)
    if not request.templates_only:
        from checker.evidence.judge import judge_evidence

        results, evidence, not_evidence = judge_evidence(
            request,
            found,
            policy,
            registry,
            [t.path for t in evaluation.templates],
            excludes,
            source,
            scan_cache,
            deployed=evaluation.code,
        )
        evaluation = merge_repository(evaluation, results)
        skipped += not_evidence
    context = Context(
        now,
        source.repository if source else None,
        source.commit if source else None,
        inline_allowed=policy.settings.inline_suppressions,
    )
    decisions = [decide(r, policy.approvers, context) for r in relaxations]
    evaluation = judge(evaluation, vouched(policy.waivers, decisions), now, decisions=decisions)
    iam_active = any("iam" in registry[r].meta.tags for r, s in policy.rules.items() if s.enforce != "off")
    run_inputs = {
        "paths": [display_path(p, root) for p in request.paths],
        "excluded": [e.describe() for e in excludes],
        "base_ref": request.base_ref,
        "run_scans": request.run_scans,
        "rule_folders": [{"path": str(f), "sha256": folder_digest(f)} for f in request.rule_folders],
        "parameter_files": parameters.describe(),
        "cache": {
            "requested": request.cache_dir is not None,
            "authenticated": cache is not None,
            "template_hits": evaluation.cache_hits,
            "scan_hits": scan_cache.hits if scan_cache is not None else 0,
        },
    }
    statement = build_statement(
        evaluation=evaluation,
        policy=policy,
        subjects=_subjects(request.subjects, root, source, evaluation),
        source=source,
        ci=ci_facts(request.environ),
        skipped=skipped,
        evidence=evidence,
        templates_only=request.templates_only,
        data_sources=[{"name": "iam-actions", **catalogue_source()}] if iam_active else [],
        inputs=run_inputs,
        bundle=request.bundle.describe() if request.bundle is not None else None,
        started=started,
        finished=utc_text(request.now or datetime.now(UTC)),
    )
    return CheckRun(evaluation, policy, statement)


def _subjects(
    given: Sequence[Subject], root: Path, source: SourceFacts | None, evaluation: Evaluation
) -> list[Subject]:
    if given:
        return list(given)
    if source is not None:
        return [Subject(source.repository or root.name, {"gitCommit": source.commit})]
    return [Subject(t.path, {"sha256": t.sha256}) for t in evaluation.templates if t.sha256]


def baseline_document(run: CheckRun, reason: str, expires: datetime, now: datetime) -> dict[str, Any]:
    """Today's open findings as an adoption baseline: each remembered by its
    fingerprint (rule, file, resource, offending element; not the line). It
    relaxes the gate, so it counts only once an approver has signed it."""
    from checker.relax.waivers import fingerprint

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
            else:
                entry["message"] = finding.message
            entry["fingerprint"] = fingerprint(result.meta.id, finding)
            entries.append(entry)
    entries.sort(key=lambda e: (e["path"], e["rule"], e.get("resource", ""), e["fingerprint"]))
    unique = [e for i, e in enumerate(entries) if i == 0 or e["fingerprint"] != entries[i - 1]["fingerprint"]]
    return {
        "kind": ADOPTION_KIND,
        "created": utc_text(now),
        "reason": reason,
        "expires": utc_text(expires),
        "entries": unique,
    }
