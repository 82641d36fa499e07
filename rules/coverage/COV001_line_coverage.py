"""COV001: total line coverage below the organization's floor."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from checker.ruleapi import Facts, Finding, Param, RuleMeta, finding_for

_NAMED = 10  # unmeasured sources named in the message


class LineCoverage:
    meta = RuleMeta(
        id="COV001",
        title="Line coverage is below the floor",
        severity="high",
        tags=("coverage",),
        views=("coverage",),
        rationale=(
            "The release side promotes code it did not write and cannot test itself; the coverage "
            "floor is its evidence that the team's tests exercise most of what ships. Coverage is "
            "merged over every current report by lines (a line counts once, covered if any test "
            "ran it), so a monorepo's services add up to the real figure, not an average of "
            "percentages. A build with no current coverage report cannot show the floor is met."
        ),
        remediation=(
            "Add tests for the uncovered code (`coverage report -m`, or your tool's HTML report, "
            "lists the lines), and make sure the build writes its coverage report where checker "
            "finds it (`coverage.xml`, `lcov.info`, `.coverage`, `jacoco.xml`, `coverage.out`) or "
            "pass it with `--evidence FILE`."
        ),
        params=(Param("min_line", "number", 80, "minimum percentage of executable lines covered", tighter="higher"),),
        example_fail=(
            "# lcov.info from the build: one of src/app.py's three lines ran (33%)\n"
            "lcov.info: |\n"
            "  SF:src/app.py\n"
            "  DA:1,1\n"
            "  DA:2,0\n"
            "  DA:3,0\n"
            "  end_of_record\n"
            "src/app.py: |\n"
            "  def handler(event, context):\n"
            '      if event.get("refund"):\n'
            "          return refund(event)\n"
        ),
        example_pass=(
            "# every line ran (100%)\n"
            "lcov.info: |\n"
            "  SF:src/app.py\n"
            "  DA:1,1\n"
            "  DA:2,1\n"
            "  DA:3,1\n"
            "  end_of_record\n"
            "src/app.py: |\n"
            "  def handler(event, context):\n"
            '      if event.get("refund"):\n'
            "          return refund(event)\n"
        ),
        references=("https://coverage.readthedocs.io/en/latest/cmd.html#coverage-summary-coverage-report",),
    )

    def evaluate(self, facts: Facts, params: Mapping[str, Any]) -> Iterator[Finding]:
        floor = params["min_line"]
        for record in facts.view("coverage"):
            if not record["current_reports"]:
                stale = ", ".join(record["stale_reports"])
                yield finding_for(
                    record,
                    "no current coverage evidence"
                    + (f" (stale: {stale}; see COV005)" if stale else ": no coverage report was found or given"),
                )
            elif record["line_percent"] is None:
                yield finding_for(record, "the coverage reports cover no executable line of the repository")
            elif record["line_percent"] < floor:
                unmeasured = record["unmeasured"]
                named = ", ".join(unmeasured[:_NAMED]) + (" ..." if len(unmeasured) > _NAMED else "")
                yield finding_for(
                    record,
                    f"line coverage {record['line_percent']}% is below the {floor}% floor "
                    f"({record['lines_covered']} of {record['lines_total']} lines)"
                    + (f"; {len(unmeasured)} source file(s) in no report count as uncovered: {named}" if named else ""),
                )


RULE = LineCoverage()
