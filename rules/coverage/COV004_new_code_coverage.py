"""COV004: coverage of the lines changed since the base ref."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from checker.ruleapi import Facts, Finding, NotApplicable, Param, RuleMeta, finding_for


class NewCodeCoverage:
    meta = RuleMeta(
        id="COV004",
        title="Changed lines are not covered enough",
        severity="high",
        tags=("coverage",),
        views=("new_code_coverage",),
        rationale=(
            "A legacy codebase can sit below any total floor for years; what a team controls is "
            "the code it writes now. Holding new and changed lines to a high bar (the quality gate "
            "SonarQube users know as 'coverage on new code') raises the total steadily without "
            "blocking every build on old debt. Changed lines come from `git diff` against the "
            "merge base with the base ref; only lines the coverage reports call executable count."
        ),
        remediation=(
            "Add tests that run the changed lines listed in the finding. In CI the base ref is "
            "taken from the pull or merge request; elsewhere pass `--base-ref origin/main`."
        ),
        params=(
            Param(
                "min_new_code", "number", 80, "minimum percentage of changed executable lines covered", tighter="higher"
            ),
        ),
        example_fail=(
            "# lines 3-4 are new since the base branch; the tests ran line 3 only (50%)\n"
            "base:  # the files on the base branch (--base-ref)\n"
            "  src/app.py: |\n"
            "    import json\n"
            "    VERSION = 1\n"
            "src/app.py: |\n"
            "  import json\n"
            "  VERSION = 1\n"
            "  def refund(order):\n"
            '      return order["total"]\n'
            "lcov.info: |\n"
            "  SF:src/app.py\n"
            "  DA:1,1\n"
            "  DA:2,1\n"
            "  DA:3,1\n"
            "  DA:4,0\n"
            "  end_of_record\n"
        ),
        example_pass=(
            "# a test calls refund(): both new lines ran\n"
            "base:  # the files on the base branch (--base-ref)\n"
            "  src/app.py: |\n"
            "    import json\n"
            "    VERSION = 1\n"
            "src/app.py: |\n"
            "  import json\n"
            "  VERSION = 1\n"
            "  def refund(order):\n"
            '      return order["total"]\n'
            "lcov.info: |\n"
            "  SF:src/app.py\n"
            "  DA:1,1\n"
            "  DA:2,1\n"
            "  DA:3,1\n"
            "  DA:4,1\n"
            "  end_of_record\n"
        ),
        references=("https://docs.sonarsource.com/sonarqube-server/latest/user-guide/about-new-code/",),
    )

    def evaluate(self, facts: Facts, params: Mapping[str, Any]) -> Iterator[Finding]:
        floor = params["min_new_code"]
        for record in facts.view("new_code_coverage"):
            if record["lines_total"] == 0:
                raise NotApplicable(f"no executable line changed since {record['base_ref']}")
            if record["line_percent"] < floor:
                uncovered = "; ".join(f"{path}:{lines}" for path, lines in sorted(record["uncovered"].items()))
                yield finding_for(
                    record,
                    f"{record['line_percent']}% of the {record['lines_total']} executable lines changed since "
                    f"{record['base_ref']} are covered, below the {floor}% floor; not covered: {uncovered}",
                )


RULE = NewCodeCoverage()
