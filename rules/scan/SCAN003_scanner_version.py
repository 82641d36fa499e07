"""SCAN003: a scanner older than the version the policy requires."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from checker.ruleapi import Facts, Finding, NotApplicable, RuleMeta, finding_for


class ScannerVersion:
    meta = RuleMeta(
        id="SCAN003",
        title="A required scanner is older than the minimum version",
        severity="medium",
        tags=("scan",),
        views=("scans",),
        rationale=(
            "Scanners learn new checks and fix missed ones with each release; an old pinned "
            "version silently checks less. When the policy sets `min_version` for a scan, its "
            "results must say which version produced them and that version must be at least "
            "the minimum. Output that does not record the version (bandit and cfn-lint JSON) "
            "cannot show it."
        ),
        remediation=(
            "Upgrade the scanner in the build image. For output without a version, let checker "
            "run the scan (`--run-scans` records the installed version) or ingest SARIF, which "
            "names the tool's version."
        ),
        example_fail=(
            "# the policy asks for bandit 1.8.0 or later; the build ran 1.7.5\n"
            ".checker.yml: |\n"
            "  schema_version: 1\n"
            "  name: orders\n"
            '  version: "1"\n'
            "  rules: {}\n"
            "  scans:\n"
            '    bandit: {min_version: "1.8.0"}\n'
            "src/app.py: |\n"
            "  import subprocess\n"
            "  def run(args):\n"
            "      return subprocess.run(args, check=True)\n"
            "bandit.sarif: |\n"
            '  {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "Bandit", "version": "1.7.5"}},\n'
            '    "artifacts": [{"location": {"uri": "src/app.py"}}], "results": []}]}\n'
        ),
        example_pass=(
            "# results from bandit 1.8.3\n"
            ".checker.yml: |\n"
            "  schema_version: 1\n"
            "  name: orders\n"
            '  version: "1"\n'
            "  rules: {}\n"
            "  scans:\n"
            '    bandit: {min_version: "1.8.0"}\n'
            "src/app.py: |\n"
            "  import subprocess\n"
            "  def run(args):\n"
            "      return subprocess.run(args, check=True)\n"
            "bandit.sarif: |\n"
            '  {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "Bandit", "version": "1.8.3"}},\n'
            '    "artifacts": [{"location": {"uri": "src/app.py"}}], "results": []}]}\n'
        ),
    )

    def evaluate(self, facts: Facts, params: Mapping[str, Any]) -> Iterator[Finding]:
        records = [r for r in facts.view("scans") if r["min_version"] and r["obtained"]]
        if not records:
            raise NotApplicable("no required scan with results sets min_version")
        for record in records:
            if record["version_ok"]:
                continue
            tool, wanted = record["tool"], record["min_version"]
            if record["version"] is None:
                message = f"{tool} results do not record the tool's version; the policy requires {wanted} or later"
            else:
                message = f"{tool} {record['version']} is older than the minimum {wanted}"
            yield finding_for(record, message, element=tool)


RULE = ScannerVersion()
