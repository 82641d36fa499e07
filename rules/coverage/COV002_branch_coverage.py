"""COV002: branch coverage below the floor, when the reports measure branches."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from checker.ruleapi import Facts, Finding, NotApplicable, Param, RuleMeta, finding_for


class BranchCoverage:
    meta = RuleMeta(
        id="COV002",
        title="Branch coverage is below the floor",
        severity="medium",
        tags=("coverage",),
        views=("coverage",),
        rationale=(
            "Line coverage counts an `if` as covered when only one side ever ran; the untested "
            "side is where error handling and edge cases live. Branch coverage counts each "
            "way out of a decision. The rule applies when the reports carry branch data "
            "(coverage.py with `--branch`, istanbul, JaCoCo, lcov with BRDA records); otherwise "
            "it is skipped, and says so."
        ),
        remediation=(
            "Write tests for the untaken branches (the error path, the empty input). To measure "
            "branches at all: `coverage run --branch`, or `[run] branch = true` in `.coveragerc`."
        ),
        params=(Param("min_branch", "number", 70, "minimum percentage of branches taken", tighter="higher"),),
        example_fail=(
            "# the `if` on line 2 was only ever true: 1 of its 2 branches taken (50%)\n"
            "lcov.info: |\n"
            "  SF:src/app.py\n"
            "  DA:1,1\n"
            "  DA:2,1\n"
            "  DA:3,1\n"
            "  BRDA:2,0,0,1\n"
            "  BRDA:2,0,1,0\n"
            "  end_of_record\n"
            "src/app.py: |\n"
            "  def handler(event, context):\n"
            '      if event.get("refund"):\n'
            "          return refund(event)\n"
        ),
        example_pass=(
            "# a test where it is false too: both branches taken\n"
            "lcov.info: |\n"
            "  SF:src/app.py\n"
            "  DA:1,1\n"
            "  DA:2,1\n"
            "  DA:3,1\n"
            "  BRDA:2,0,0,1\n"
            "  BRDA:2,0,1,2\n"
            "  end_of_record\n"
            "src/app.py: |\n"
            "  def handler(event, context):\n"
            '      if event.get("refund"):\n'
            "          return refund(event)\n"
        ),
        references=("https://coverage.readthedocs.io/en/latest/branch.html",),
    )

    def evaluate(self, facts: Facts, params: Mapping[str, Any]) -> Iterator[Finding]:
        floor = params["min_branch"]
        for record in facts.view("coverage"):
            if not record["current_reports"]:
                raise NotApplicable("no current coverage evidence (see COV001 and COV005)")
            if not record["has_branches"] or record["branch_percent"] is None:
                raise NotApplicable("the coverage reports carry no branch data")
            if record["branch_percent"] < floor:
                yield finding_for(
                    record,
                    f"branch coverage {record['branch_percent']}% is below the {floor}% floor "
                    f"({record['branches_covered']} of {record['branches_total']} branches)",
                )


RULE = BranchCoverage()
