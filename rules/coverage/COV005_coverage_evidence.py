"""COV005: coverage evidence missing, stale, or about other files."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator, Mapping
from typing import Any

from checker.ruleapi import Facts, Finding, Param, RuleMeta, finding_for

_USUAL = "coverage.xml, lcov.info, .coverage, coverage.json, jacoco.xml or coverage.out"


_SHOWN = 10  # unresolved names shown in a finding


class CoverageEvidence:
    meta = RuleMeta(
        id="COV005",
        title="Coverage evidence is missing or stale",
        severity="high",
        tags=("coverage",),
        views=("coverage", "coverage_reports"),
        rationale=(
            "A coverage figure means something only if it was measured on this code. A report "
            "left over from an earlier build (older than the sources it covers), or one about "
            "files that are not in the repository (another branch, another service), would let "
            "a build pass on someone else's tests. Stale reports are left out of the coverage "
            "figures and reported here; a missing report is reported with the file expected."
        ),
        remediation=(
            "Run the tests with coverage in the same build, before `checker check`, and keep "
            "the report in the checkout (or pass it with `--evidence FILE`). If a report names "
            "files by another machine's paths that cannot be matched, write it with relative "
            "paths (coverage.py: `[run] relative_files = true`)."
        ),
        params=(
            Param(
                "expected",
                "string_list",
                [],
                "path globs (relative to the root) of coverage reports that must be present; empty: any one report",
                tighter="more",
            ),
        ),
        example_fail=(
            "# coverage.xml says it was produced in November 2023; src/app.py changed after\n"
            "coverage.xml: |\n"
            '  <coverage timestamp="1700000000000" line-rate="1" branch-rate="1" version="7.6">\n'
            '    <packages><package name="src"><classes>\n'
            '      <class name="app.py" filename="src/app.py">\n'
            '        <lines><line number="1" hits="1"/></lines>\n'
            "      </class>\n"
            "    </classes></package></packages>\n"
            "  </coverage>\n"
            "src/app.py: |\n"
            "  VERSION = 2\n"
        ),
        example_pass=(
            "# coverage.xml written by this build's test run\n"
            "coverage.xml: |\n"
            '  <coverage line-rate="1" branch-rate="1" version="7.6">\n'
            '    <packages><package name="src"><classes>\n'
            '      <class name="app.py" filename="src/app.py">\n'
            '        <lines><line number="1" hits="1"/></lines>\n'
            "      </class>\n"
            "    </classes></package></packages>\n"
            "  </coverage>\n"
            "src/app.py: |\n"
            "  VERSION = 2\n"
        ),
    )

    def evaluate(self, facts: Facts, params: Mapping[str, Any]) -> Iterator[Finding]:
        (summary,) = facts.view("coverage")
        reports = facts.view("coverage_reports")
        if not reports and not params["expected"]:
            yield finding_for(
                summary,
                f"no coverage report found under {summary['path']}: expected {_USUAL}, or --evidence FILE",
            )
        for glob in params["expected"]:
            if not any(fnmatch.fnmatchcase(r["path"], glob) for r in reports):
                yield finding_for(
                    summary,
                    f"expected coverage report {glob} was not found (write it in the build, or pass --evidence FILE)",
                    element=glob,
                )
        by_digest: dict[str, list[str]] = {}
        for report in reports:
            by_digest.setdefault(report["sha256"], []).append(report["path"])
        for paths in by_digest.values():
            if len(paths) > 1:
                # Names resolve beside each copy: one run's report copied into
                # another service's folder would speak for files it never ran.
                yield finding_for(
                    summary,
                    f"the same coverage report is at {', '.join(sorted(paths))}: a copy speaks for the files "
                    "beside it, which its run never measured",
                    element=f"duplicate:{sorted(paths)[0]}",
                )
        for report in reports:
            if report["stale"]:
                yield finding_for(
                    report, f"stale coverage report: {'; '.join(report['stale_reasons'])}", element=report["path"]
                )
            unresolved = report["unresolved"]
            if unresolved:
                shown = ", ".join(unresolved[:_SHOWN]) + (" ..." if len(unresolved) > _SHOWN else "")
                yield finding_for(
                    report,
                    f"coverage report names {len(unresolved)} file(s) not in the repository (another branch or "
                    f"service, or paths that cannot be matched): {shown}",
                    element=f"{report['path']}:unresolved",
                )


RULE = CoverageEvidence()
