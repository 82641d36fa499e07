"""REPO001: release-side end-to-end tests missing from the known location."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator, Mapping
from typing import Any

from checker.ruleapi import Facts, Finding, Param, RuleMeta, finding_for

_TEST_FILES = [
    "test_*.py",
    "*_test.py",
    "*.test.js",
    "*.test.ts",
    "*.spec.js",
    "*.spec.ts",
    "*_test.go",
    "*Test.java",
    "*IT.java",
    "*.feature",
    "*.robot",
]


class EndToEndTests:
    meta = RuleMeta(
        id="REPO001",
        title="End-to-end tests are missing from the release location",
        severity="medium",
        tags=("repo",),
        views=("repo", "repo_files"),
        rationale=(
            "The release pipeline runs, after each deployment, the end-to-end tests the team "
            "wrote, from one location the organization fixes (e.g. `tests/e2e/`, with the spec "
            "that tells the runner how to run them). If they are not there, promotion to the "
            "next stage proceeds untested, or stops late, in the release pipeline rather than "
            "in the team's build."
        ),
        remediation=(
            "Put the end-to-end tests under the location the policy names, with the runner "
            "spec it requires (for example `tests/e2e/buildspec.yml`), relative to the project."
        ),
        params=(
            Param("location", "string", "tests/e2e", "folder of the end-to-end tests, relative to the project"),
            Param(
                "runner_spec",
                "string_list",
                [],
                "files that must exist in the location (globs), e.g. buildspec.yml",
                tighter="more",
            ),
            Param("test_patterns", "string_list", _TEST_FILES, "file name globs that count as tests"),
        ),
        example_fail=(
            "# the release pipeline runs tests/e2e/; there is nothing there\n"
            "src/app.py: |\n"
            "  VERSION = 1\n"
            "tests/unit/test_app.py: |\n"
            "  def test_version():\n"
            "      assert True\n"
        ),
        example_pass=(
            "tests/e2e/test_orders_api.py: |\n"
            "  def test_create_order(api):\n"
            '      assert api.post("/orders").status_code == 201\n'
        ),
    )

    def evaluate(self, facts: Facts, params: Mapping[str, Any]) -> Iterator[Finding]:
        (repo,) = facts.view("repo")
        project = "" if repo["path"] == "." else repo["path"] + "/"
        location = project + params["location"].strip("/") + "/"
        inside = [r for r in facts.view("repo_files") if r["path"].startswith(location)]
        if not any(any(fnmatch.fnmatchcase(r["name"], p) for p in params["test_patterns"]) for r in inside):
            yield finding_for(
                {**repo, "path": location.rstrip("/")},
                f"no end-to-end test in {location} (files named like {', '.join(params['test_patterns'][:4])}, ...)",
            )
        for spec in params["runner_spec"]:
            if not any(fnmatch.fnmatchcase(r["path"][len(location) :], spec) for r in inside):
                yield finding_for(
                    {**repo, "path": location.rstrip("/")},
                    f"the runner spec {spec} is missing from {location}",
                    element=spec,
                )


RULE = EndToEndTests()
