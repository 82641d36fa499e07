"""Running the engine over many files: both cores when there is enough work,
and the result cache when one is given.

Workers are forked with the registry and policy already in memory (rules
from an organization's folder included) and each loads, judges and drops
its templates one at a time; only the small per-template outcomes travel
back. Below ``PARALLEL_THRESHOLD`` files the pool costs more than it saves.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING

from checker.discovery import Candidate
from checker.engine import Active, Evaluation, TemplateOutcome, active_rules, aggregate, judge_template
from checker.errors import InputError
from checker.facts.deployment_parameters import DeploymentParameters
from checker.loaders.limits import MAX_FILE_BYTES
from checker.policy import Policy
from checker.ruleapi import Rule
from checker.templates import load_template

if TYPE_CHECKING:
    from checker.cache import OutcomeCache

PARALLEL_THRESHOLD = 64

# Set once in each worker process by _init_worker; never in the parent.
_worker_state: tuple[Active, str | None, OutcomeCache | None, DeploymentParameters] | None = None
_NO_PARAMETERS = DeploymentParameters()


def _read(candidate: Candidate) -> bytes | None:
    try:
        if candidate.path.stat().st_size > MAX_FILE_BYTES:
            return None  # load_template reports the size
        return candidate.path.read_bytes()
    except OSError:
        return None


def judge_candidate(
    candidate: Candidate,
    active: Active,
    env: str | None,
    cache: OutcomeCache | None,
    parameters: DeploymentParameters = _NO_PARAMETERS,
) -> TemplateOutcome | None:
    raw = _read(candidate)
    key = None
    if cache is not None and raw is not None:
        # The parameter files change what a template can deploy as: part of the key.
        key = cache.key(candidate, raw, parameters.digest())
        hit, outcome = cache.get(key)
        if hit:
            return outcome
    template = load_template(candidate, raw, parameters)
    outcome = None if template is None else judge_template(template, active, env)
    if cache is not None and key is not None:
        cache.put(key, outcome)
    return outcome


def _init_worker(active: Active, env: str | None, cache: OutcomeCache | None, parameters: DeploymentParameters) -> None:
    global _worker_state
    _worker_state = (active, env, cache, parameters)


def _work(candidate: Candidate) -> TemplateOutcome | None:
    assert _worker_state is not None
    return judge_candidate(candidate, *_worker_state)


def evaluate_candidates(
    candidates: Sequence[Candidate],
    registry: Mapping[str, Rule],
    policy: Policy,
    *,
    jobs: int | None = None,
    cache: OutcomeCache | None = None,
    progress: Callable[[int], None] | None = None,
    committed: frozenset[str] | None = None,
    parameters: DeploymentParameters = _NO_PARAMETERS,
) -> Evaluation:
    active = active_rules(registry, policy)
    if jobs is not None and jobs < 1:
        raise InputError("--jobs must be at least 1", field="--jobs")
    jobs = jobs or os.cpu_count() or 1
    if jobs == 1 or len(candidates) < PARALLEL_THRESHOLD or not hasattr(os, "fork"):
        outcomes: Iterator[TemplateOutcome | None] = (
            judge_candidate(c, active, policy.env, cache, parameters) for c in candidates
        )
        return aggregate(outcomes, registry, policy, progress, committed)
    # Loaded only for large runs: the pool's imports cost more than a small run.
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    context = multiprocessing.get_context("fork")
    chunk = max(1, min(32, len(candidates) // (jobs * 8)))
    with ProcessPoolExecutor(
        jobs, mp_context=context, initializer=_init_worker, initargs=(active, policy.env, cache, parameters)
    ) as pool:
        return aggregate(pool.map(_work, candidates, chunksize=chunk), registry, policy, progress, committed)
