"""Our loader yields the same data as cfn-lint's decoder, the reference.

The one deliberate difference: unquoted YAML dates stay strings here (as
CloudFormation reads them) where cfn-lint builds ``datetime.date`` objects;
the comparison normalizes those. Unknown ``!`` tags are refused here, which
cfn-lint accepts as ``Fn::<tag>``; such files are left out.
"""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import pytest

from checker.errors import InputError
from checker.loaders import load_document

decode = pytest.importorskip("cfnlint.decode").decode

FIXTURES = Path(__file__).resolve().parent.parent / "rules" / "fixtures"
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "app"


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    if isinstance(value, str):
        return str(value)
    return value


def _compare(path: Path) -> str:
    """'same', 'both-fail', or a description of the difference."""
    theirs, matches = decode(str(path))
    try:
        ours = load_document(path, str(path))
    except InputError as exc:
        if matches:
            return "both-fail"
        if "unknown tag" in exc.message:
            return "same"  # deliberate: see module docstring
        return f"only ours failed: {exc}"
    if matches:
        return f"only cfn-lint failed: {matches[0].message}"
    return "same" if _plain(ours) == _plain(theirs) else "data differs"


def test_same_data_on_our_fixtures_and_example() -> None:
    files = sorted(FIXTURES.rglob("*.yaml")) + sorted(FIXTURES.rglob("*.json"))
    files += [*sorted(EXAMPLE.rglob("*.template.json")), EXAMPLE / "template.yaml"]
    results = {str(f): _compare(f) for f in files}
    assert {k: v for k, v in results.items() if v not in ("same", "both-fail")} == {}


def test_same_data_on_the_public_corpus(corpus: Path) -> None:
    # Every 4th file keeps the suite quick; the benchmark reads them all.
    files = [p for p in sorted(corpus.rglob("*")) if p.suffix in (".yaml", ".yml", ".json", ".template")]
    sample = files[::4]
    results = {str(f): _compare(f) for f in sample}
    assert {k: v for k, v in results.items() if v not in ("same", "both-fail")} == {}
    assert sum(v == "same" for v in results.values()) > 0.95 * len(sample)
