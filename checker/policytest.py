"""``checker policy test DIR``: unit tests for a policy.

Each folder under DIR holding a ``case.yaml`` is a case: the templates in
the folder are checked with the policy under test, and the verdict (and,
when listed, the exact set of open findings by rule and resource) must be
what ``case.yaml`` expects::

    description: an admin role is blocked in prod
    env: prod
    repository: false    # default: templates only; true also runs the
                         # coverage, scan and repository rules on the
                         # evidence in the folder (coverage.xml, bandit.json ...)
    expect:
      verdict: fail
      findings:
        - {rule: IAM001, resource: AdminRole}
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from checker.errors import PolicyError, UsageError
from checker.gate import CheckRequest, run_check
from checker.loaders import LineDict, load_document
from checker.policy import Exclude
from checker.ruleapi import Rule

CASE_FILE = "case.yaml"


@dataclass(frozen=True, slots=True)
class CaseResult:
    name: str
    passed: bool
    problems: tuple[str, ...]


def _expected(case: Path) -> tuple[str | None, bool, str, set[tuple[str, str | None]] | None]:
    display = str(case / CASE_FILE)
    data = load_document(case / CASE_FILE, display)
    expect = data.get("expect") if isinstance(data, LineDict) else None
    if not isinstance(expect, LineDict) or expect.get("verdict") not in ("pass", "fail"):
        raise PolicyError("needs expect.verdict: pass or fail", path=display, line=1, field="expect.verdict")
    findings = expect.get("findings")
    wanted = None
    if findings is not None:
        if not isinstance(findings, list) or not all(isinstance(f, dict) and "rule" in f for f in findings):
            raise PolicyError(
                "expect.findings is a list of {rule, resource}",
                path=display,
                line=expect.key_lines.get("findings"),
                field="expect.findings",
            )
        wanted = {(str(f["rule"]), f.get("resource")) for f in findings}
    env = data.get("env")
    repository = data.get("repository", False)
    if not isinstance(repository, bool):
        raise PolicyError(
            "must be true or false", path=display, line=data.key_lines.get("repository"), field="repository"
        )
    return (str(env) if env else None), repository, str(expect["verdict"]), wanted


def run_cases(folder: Path, policies: Sequence[Path], registry: Mapping[str, Rule]) -> list[CaseResult]:
    cases = sorted(p.parent for p in folder.rglob(CASE_FILE))
    if not cases:
        raise UsageError(f"no {CASE_FILE} found under {folder}")
    results = []
    for case in cases:
        env, repository, verdict, wanted = _expected(case)
        request = CheckRequest(
            paths=[case],
            root=case,
            policies=policies,
            env=env,
            fixed_excludes=[Exclude(CASE_FILE, "policy test")],
            templates_only=not repository,
        )
        run = run_check(request, registry)
        problems = []
        if run.evaluation.verdict != verdict:
            blocking = ", ".join(run.evaluation.blocking) or "nothing"
            problems.append(f"verdict {run.evaluation.verdict}, expected {verdict} (blocking: {blocking})")
        if wanted is not None:
            got = {(r.meta.id, f.location.resource) for r in run.evaluation.results for f in r.findings}
            for rule, resource in sorted(wanted - got, key=str):
                problems.append(f"missing finding {rule} on {resource}")
            for rule, resource in sorted(got - wanted, key=str):
                problems.append(f"unexpected finding {rule} on {resource}")
        results.append(CaseResult(case.relative_to(folder).as_posix(), not problems, tuple(problems)))
    return results
