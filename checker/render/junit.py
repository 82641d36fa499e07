"""JUnit XML, as Jenkins, CodeBuild report groups and GitLab read it.

One test suite per rule: a test case for the rule itself, then one per
finding, so a CI's test view lists each problem by file and line. Failures
of warn-level rules are reported as skipped with their message, so they
show without failing a build that only reads JUnit.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping
from typing import Any

from checker.render.common import resource_label, results, where
from checker.ruleapi import RuleMeta


class _Suite:
    def __init__(self, element: ET.Element) -> None:
        self.element = element
        self.counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}

    def case(self, name: str, classname: str, outcome: str | None, message: str = "", text: str = "") -> None:
        testcase = ET.SubElement(self.element, "testcase", name=name, classname=classname)
        self.counts["tests"] += 1
        if outcome is not None:
            child = ET.SubElement(testcase, outcome, message=message)
            child.text = text or None
            self.counts[{"failure": "failures", "error": "errors", "skipped": "skipped"}[outcome]] += 1


def render(statement: Mapping[str, Any], rules: Mapping[str, RuleMeta]) -> str:
    predicate = statement["predicate"]
    suites = ET.Element("testsuites", name="checker", tests="0", failures="0", errors="0", skipped="0")
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for result in results(statement):
        suite = _Suite(ET.SubElement(suites, "testsuite", name=f"{result['rule']} {result['title']}"))
        case = suite.case

        status, blocking = result["status"], result["enforce"] == "error"
        summary = "\n".join(
            f"{where(f)} {resource_label(f['location'])}: {f['message']}"
            for f in result["findings"]
            if "waived_by" not in f
        )
        if status == "error":
            case(
                result["rule"],
                "checker.rules",
                "error",
                "the rule could not be evaluated",
                "\n".join(result.get("errors", [])),
            )
        elif status == "fail":
            case(
                result["rule"],
                "checker.rules",
                "failure" if blocking else "skipped",
                f"{result['reason']} ({result['severity']}, {result['enforce']})",
                summary,
            )
        elif status == "skipped":
            case(result["rule"], "checker.rules", "skipped", result["reason"])
        else:
            case(result["rule"], "checker.rules", None)
        meta = rules.get(result["rule"])
        for finding in result["findings"]:
            name = f"{where(finding)} {resource_label(finding['location'])}".strip()
            if "waived_by" in finding:
                case(name, result["rule"], "skipped", f"waived by {finding['waived_by']}")
                continue
            detail = finding["message"] + (f"\n\nHow to fix: {meta.remediation}" if meta else "")
            case(name, result["rule"], "failure" if blocking else "skipped", finding["message"], detail)
        for key, value in suite.counts.items():
            suite.element.set(key, str(value))
            totals[key] += value
    for key, value in totals.items():
        suites.set(key, str(value))
    suites.set("verdict", predicate["verdict"])
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"
