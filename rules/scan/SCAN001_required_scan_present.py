"""SCAN001: a scan the policy requires did not run, failed, or missed files."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from checker.ruleapi import Facts, Finding, NotApplicable, RuleMeta, finding_for


class RequiredScanPresent:
    meta = RuleMeta(
        id="SCAN001",
        title="A required scan is missing or does not cover the code",
        severity="high",
        tags=("scan",),
        views=("scans",),
        rationale=(
            "The release side must know the scans it requires ran on what it ships. A scan that "
            "did not run, crashed, or ran on one file of the repository proves nothing about the "
            "rest: each required scan must have results that list every file its requirement "
            "covers. Results that list findings only (cfn-lint's JSON and SARIF) cannot show a "
            "clean file was scanned. A suppression the team wrote itself (in a template's "
            "Metadata, a `checkov:skip` comment, a `# nosec`, a SARIF suppression in effect) hides "
            "a finding from the organization's scan: it is reported here, as the relaxation it is."
        ),
        remediation=(
            "Let checker run the scans (`checker check --run-scans`), or run each over the whole "
            "project in the build and pass its output with `--evidence FILE` (bandit `-r . -f json`, "
            "checkov `-d . -o json`, any scanner's SARIF with its `artifacts` list)."
        ),
        example_fail=(
            "# the baseline requires bandit over *.py; the build kept no results\n"
            "src/app.py: |\n"
            "  import subprocess\n"
            "  def run(args):\n"
            "      return subprocess.run(args, check=True)\n"
        ),
        example_pass=(
            "# each required scan ran: bandit.json lists src/app.py; cfn-lint and checkov had no template\n"
            "src/app.py: |\n"
            "  import subprocess\n"
            "  def run(args):\n"
            "      return subprocess.run(args, check=True)\n"
            "bandit.json: |\n"
            '  {"results": [], "metrics": {"src/app.py": {"loc": 3}, "_totals": {"loc": 3}}}\n'
            "cfn-lint.json: '[]'\n"
            "checkov.json: |\n"
            '  {"passed": 0, "failed": 0, "skipped": 0, "resource_count": 0, "checkov_version": "3.2.300"}\n'
        ),
    )

    def evaluate(self, facts: Facts, params: Mapping[str, Any]) -> Iterator[Finding]:
        records = facts.view("scans")
        if not records:
            raise NotApplicable("the policy requires no scans")
        for record in records:
            tool = record["tool"]
            for failure in record["failures"]:
                yield finding_for(record, f"{tool}: {failure}", element=tool)
            for suppression in record["suppressions"]:
                path, what = suppression.split(": ", 1)
                yield finding_for(
                    {**record, "path": path},
                    f"{tool} is told to look away in the template itself ({what}): the organization's scan "
                    "cannot see what it hides; remove it, and ask for a waiver of the finding if it stands",
                    element=f"{tool}:{what}",
                )
            if record["suppressed"]:
                yield finding_for(
                    record,
                    f"{record['suppressed']} {tool} result(s) were suppressed by the team's own markers "
                    "(# nosec, a SARIF suppression): the organization's scan cannot count what they hide; "
                    "let checker run the scan (--run-scans ignores them), and ask for a waiver where a finding stands",
                    element=f"{tool}:suppressed",
                )
            for config in record["config_files"]:
                yield finding_for(
                    {**record, "path": config},
                    f"the repository configures {tool} ({config}), and results the team's own run produced "
                    "honour it (skipped checks, lowered severities, excluded paths): let checker run the scan "
                    "(--run-scans reads no repository configuration), or remove it",
                    element=f"{tool}:config:{config}",
                )
            if not record["obtained"]:
                yield finding_for(
                    record,
                    f"required scan {tool} has no results: run it with --run-scans, or pass its output with --evidence",
                    element=tool,
                )
            elif record["uncovered_count"] and not record["failures"]:
                shown = ", ".join(record["uncovered"])
                more = record["uncovered_count"] - len(record["uncovered"])
                why = (
                    " (its output lists findings only, so clean files cannot be shown scanned)"
                    if record["findings_only"]
                    else ""
                )
                yield finding_for(
                    record,
                    f"{tool} did not cover {record['uncovered_count']} of the {record['required_files']} files it "
                    f"must{why}: {shown}" + (f" and {more} more" if more > 0 else ""),
                    element=tool,
                )


RULE = RequiredScanPresent()
