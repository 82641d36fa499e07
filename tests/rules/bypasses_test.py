"""Ways a team tried to deploy what the IAM rules forbid and still pass: each
template under bypasses/ names, in its first line, the rules that must fail
it under the built-in baseline."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from checker.gate import CheckRequest, run_check
from checker.registry import load_registry

CASES = Path(__file__).resolve().parent / "bypasses"
REGISTRY = load_registry()


def _expected(template: Path) -> set[str]:
    first = template.read_text().splitlines()[0]
    return set(re.findall(r"\b(?:IAM|TPL)\d{3}\b", first.split(":", 1)[0]))


@pytest.mark.parametrize("template", sorted(CASES.glob("*.yaml")), ids=lambda p: p.stem)
def test_the_gate_fails_it(template: Path) -> None:
    expected = _expected(template)
    assert expected, f"{template.name} must name its rules in its first line"
    request = CheckRequest(paths=[template], root=CASES, environ={}, templates_only=True)
    run = run_check(request, REGISTRY)
    failed = {r.meta.id for r in run.evaluation.results if r.status in ("fail", "error")}
    assert expected <= failed, f"{template.name}: {sorted(failed)}"
