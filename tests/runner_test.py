"""Parallel evaluation and the result cache give exactly the serial answer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from checker.cache import OutcomeCache, run_salt
from checker.discovery import discover
from checker.policy import default_policy_path, load_policy
from checker.registry import builtin_rules_dir, load_registry
from checker.runner import PARALLEL_THRESHOLD, evaluate_candidates

REGISTRY = load_registry()
BAD = """\
AWSTemplateFormatVersion: "2010-09-09"
Resources:
  Admin{n}:
    Type: AWS::IAM::ManagedPolicy
    Properties:
      PolicyDocument:
        Statement:
          - {{Effect: Allow, Action: "*", Resource: "*"}}
"""


@pytest.fixture
def many(tmp_path: Path) -> Path:
    for n in range(PARALLEL_THRESHOLD + 6):
        (tmp_path / f"t{n:03}.yaml").write_text(
            BAD.format(n=n) if n % 3 == 0 else BAD.format(n=n).replace('Action: "*"', 'Action: "s3:GetObject"', 1)
        )
    (tmp_path / "broken.yaml").write_text("AWSTemplateFormatVersion: '2010-09-09'\nResources: [\n")
    (tmp_path / "notes.yaml").write_text("just: notes\n")
    return tmp_path


def _shape(evaluation) -> tuple:  # type: ignore[no-untyped-def]
    return (
        evaluation.verdict,
        [(r.meta.id, r.status, r.findings, r.errors) for r in evaluation.results],
        evaluation.templates,
    )


def test_parallel_and_serial_runs_agree(many: Path) -> None:
    policy = load_policy([default_policy_path()], REGISTRY)
    candidates = discover([many], many).candidates
    serial = evaluate_candidates(candidates, REGISTRY, policy, jobs=1)
    parallel = evaluate_candidates(candidates, REGISTRY, policy, jobs=2)
    assert _shape(serial) == _shape(parallel)
    iam001 = {r.meta.id: r for r in serial.results}["IAM001"]
    assert len(iam001.findings) == len(range(0, PARALLEL_THRESHOLD + 6, 3))
    assert {r.meta.id: r.status for r in serial.results}["TPL001"] == "fail"


def test_cache_hits_give_the_same_answer_and_changes_miss(many: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    policy = load_policy([default_policy_path()], REGISTRY)
    store = tmp_path_factory.mktemp("cache")
    salt = run_salt([builtin_rules_dir()], {"k": "v"}, None, "catalogue")
    cache = OutcomeCache(store, salt, b"a CI secret of sixteen bytes or more")
    candidates = discover([many], many).candidates
    cold = evaluate_candidates(candidates, REGISTRY, policy, jobs=1, cache=cache)
    entries = sorted(store.rglob("*.json"))
    assert len(entries) == len(candidates)  # "not a template" is cached too
    warm = evaluate_candidates(candidates, REGISTRY, policy, jobs=1, cache=cache)
    assert _shape(cold) == _shape(warm)
    assert warm.cache_hits == sum(1 for s in cold.templates) and cold.cache_hits == 0
    # An entry that has been tampered into nonsense is a miss, not a result.
    entries[0].write_text("{not json")
    assert _shape(evaluate_candidates(candidates, REGISTRY, policy, jobs=1, cache=cache)) == _shape(cold)
    # A changed file gets a new key.
    (many / "t000.yaml").write_text(BAD.format(n=0).replace('Action: "*"', 'Action: "s3:GetObject"', 1))
    changed = evaluate_candidates(discover([many], many).candidates, REGISTRY, policy, jobs=1, cache=cache)
    assert (
        len({r.meta.id: r for r in changed.results}["IAM001"].findings)
        == len({r.meta.id: r for r in cold.results}["IAM001"].findings) - 1
    )


def test_the_key_covers_rules_policy_and_environment(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "r.yaml").write_text("id: X\n")
    base = run_salt([rules], {"IAM001": {"enforce": "error"}}, None, "c")
    assert run_salt([rules], {"IAM001": {"enforce": "warn"}}, None, "c") != base
    assert run_salt([rules], {"IAM001": {"enforce": "error"}}, "prod", "c") != base
    assert run_salt([rules], {"IAM001": {"enforce": "error"}}, None, "c2") != base
    (rules / "r.yaml").write_text("id: Y\n")
    assert run_salt([rules], {"IAM001": {"enforce": "error"}}, None, "c") != base


def test_cli_cache_and_jobs(many: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from checker.cli import main

    monkeypatch.chdir(many)
    monkeypatch.setenv("CHECKER_CACHE_KEY", "a CI secret of sixteen bytes or more")
    reports = []
    for args in (["--jobs", "1"], ["--jobs", "2", "--cache", ".cache"], ["--cache", ".cache"]):
        assert main(["check", "--format", "json", *args]) == 1
        report = json.loads(capsys.readouterr().out)
        report["predicate"].pop("timestamps")
        report["predicate"].pop("inputs")  # says whether, and how much, the cache served
        reports.append(report)
    assert reports[0] == reports[1] == reports[2]
    assert main(["check", "--jobs", "0"]) == 2


def test_the_key_covers_checkers_own_code(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A release that reads more (a new policy carrier) must not be served an older one's outcome.
    import checker
    from checker import cache as cache_module
    from checker.gate import CheckRequest, _caches

    digested: list[Path] = []
    original = cache_module.folder_digest
    monkeypatch.setattr(cache_module, "folder_digest", lambda f: digested.append(Path(f)) or original(f))
    request = CheckRequest(
        paths=[tmp_path], root=tmp_path, cache_dir=tmp_path / "c", environ={"CHECKER_CACHE_KEY": "s" * 20}
    )
    _caches(request, load_policy([default_policy_path()], REGISTRY))
    assert Path(checker.__file__).resolve().parent in digested
