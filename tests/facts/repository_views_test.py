"""The repository views: each record carries exactly its view's fields, and
building them reads nothing (git and the file system were read before)."""

from __future__ import annotations

import builtins
import os
import subprocess
from pathlib import Path

import pytest

from checker.evidence import CoverageReport, EvidenceFile, FileCoverage, ScanFinding, ScanReport
from checker.facts import VIEWS as ALL_VIEWS
from checker.facts.repository import VIEWS, Codeowners, EvidenceAge, RepoInputs, RepositoryFacts
from checker.policy_scans import ScanRequirement
from checker.provenance import SourceFacts
from checker.repository import Repository

SHA = "0" * 64


def _inputs() -> RepoInputs:
    repository = Repository(
        Path("/nonexistent/checkout"),
        "",
        ("src/app.py", "src/util.py", "deploy/id_rsa", "template.yaml"),
        True,
        frozenset({"src/util.py"}),
    )
    coverage = CoverageReport(
        EvidenceFile("coverage.xml", SHA, "coverage", "cobertura", 1_700_000_000.0),
        {"src/app.py": FileCoverage({1: True, 2: False}, {1: (1, 2)}), "src/util.py": FileCoverage({1: True})},
        ("gone.py",),
        True,
    )
    fresh = CoverageReport(
        EvidenceFile("lcov.info", SHA, "coverage", "lcov"), {"src/app.py": FileCoverage({1: True, 2: True})}, (), False
    )
    bandit = ScanReport(
        "bandit",
        "1.8.0",
        "ingested",
        EvidenceFile("bandit.json", SHA, "scan", "bandit-json"),
        (ScanFinding("bandit", "B105", "low", "hardcoded password", "src/app.py", 3),),
        frozenset({"src/app.py"}),
    )
    return RepoInputs(
        repository,
        (coverage, fresh),
        (bandit,),
        {"bandit": ScanRequirement("bandit", ("*.py",), threshold="medium", min_version="1.7")},
        ("template.yaml",),
        "origin/main",
        {"deploy/id_rsa": (("private-key", 1),)},
        ("abc123", {"src/app.py": frozenset({1, 2}), "src/new.py": frozenset({4})}),
        SourceFacts("github.com/acme/orders", "f" * 40, "main", False),
        {"bandit": ("src/app.py: line 3 has a skip comment",)},
        {
            ("coverage", "coverage.xml"): EvidenceAge(1_700_000_000.0, ("src/app.py", 1_700_000_100.0)),
            ("bandit", "bandit.json"): EvidenceAge(1_700_000_000.0),
        },
        Codeowners(".github/CODEOWNERS", 2),
    )


@pytest.mark.parametrize("name", sorted(VIEWS))
def test_records_carry_exactly_the_fields_listed(name: str) -> None:
    records = RepositoryFacts(_inputs()).view(name)
    assert records, f"{name} built no record from the sample inputs"
    for record in records:
        assert tuple(record) == VIEWS[name].fields
    assert ALL_VIEWS[name].fields == VIEWS[name].fields  # what declarative rules are checked against


def test_views_read_no_file_and_run_no_git(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"I/O while building a view: {args!r}")

    facts = RepositoryFacts(_inputs())
    for target, name in ((builtins, "open"), (os, "stat"), (subprocess, "run"), (subprocess, "Popen")):
        monkeypatch.setattr(target, name, refuse)
    built = {name: facts.view(name) for name in VIEWS}
    monkeypatch.undo()
    stale, fresh = built["coverage_reports"]
    assert stale["stale"] and len(stale["stale_reasons"]) == 1  # src/app.py changed since
    assert stale["unresolved"] == ["gone.py"]  # listed, not a reason to drop the files it does name
    assert not fresh["stale"]
    assert built["coverage"][0]["current_reports"] == ["lcov.info"]
    assert built["repo"][0]["codeowners"] == ".github/CODEOWNERS"
    assert [r["path"] for r in built["repo_files"] if r["markers"]] == ["deploy/id_rsa"]
    assert built["new_code_coverage"][0]["unmeasured_files"] == ["src/new.py"]
