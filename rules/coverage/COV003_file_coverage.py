"""COV003: a source file covered below the per-file floor."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator, Mapping
from typing import Any

from checker.ruleapi import Facts, Finding, NotApplicable, Param, RuleMeta, finding_for


class FileCoverageFloor:
    meta = RuleMeta(
        id="COV003",
        title="A source file is covered below the per-file floor",
        severity="medium",
        tags=("coverage",),
        views=("coverage_files",),
        rationale=(
            "A high total can hide a module no test touches: well-tested helpers make up for an "
            "untested payment handler. A per-file floor finds the holes the total averages away. "
            "Generated code, migrations and entry points are usually excluded by path."
        ),
        remediation=(
            "Test the file, or, when it is generated or glue that is tested elsewhere, add its path "
            "glob to the rule's `exclude` parameter in the policy."
        ),
        params=(
            Param("min_file", "number", 50, "minimum percentage of lines covered in each file", tighter="higher"),
            Param("exclude", "string_list", [], "path globs of files the floor does not apply to", tighter="fewer"),
        ),
        example_fail=(
            "# one of src/payments.py's four lines ran (25%)\n"
            "lcov.info: |\n"
            "  SF:src/payments.py\n"
            "  DA:1,1\n"
            "  DA:2,0\n"
            "  DA:3,0\n"
            "  DA:4,0\n"
            "  end_of_record\n"
            "src/payments.py: |\n"
            "  def charge(order):\n"
            "      total = order.total()\n"
            "      fee = total * 0.03\n"
            "      return total + fee\n"
        ),
        example_pass=(
            "# a test charges an order: every line ran\n"
            "lcov.info: |\n"
            "  SF:src/payments.py\n"
            "  DA:1,1\n"
            "  DA:2,1\n"
            "  DA:3,1\n"
            "  DA:4,1\n"
            "  end_of_record\n"
            "src/payments.py: |\n"
            "  def charge(order):\n"
            "      total = order.total()\n"
            "      fee = total * 0.03\n"
            "      return total + fee\n"
        ),
    )

    def evaluate(self, facts: Facts, params: Mapping[str, Any]) -> Iterator[Finding]:
        records = facts.view("coverage_files")
        if not records:
            raise NotApplicable("no current coverage evidence (see COV001 and COV005)")
        floor = params["min_file"]
        for record in records:
            if any(fnmatch.fnmatchcase(record["path"], glob) for glob in params["exclude"]):
                continue
            if record["line_percent"] is not None and record["line_percent"] < floor:
                yield finding_for(
                    record,
                    f"{record['line_percent']}% of lines covered, below the per-file floor of {floor}% "
                    f"(missing lines {record['missing_lines']})",
                    element=record["path"],
                )


RULE = FileCoverageFloor()
