"""SARIF 2.1.0, for GitHub code scanning and other SARIF consumers.

Locations are relative to the scanned root (``%SRCROOT%``), so when checker
runs at the repository root GitHub annotates the right lines. Waived
findings are kept, with an accepted external suppression carrying the
waiver's id; rule errors and unparseable templates become tool execution
notifications as well as results.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from checker.render.common import first_paragraph, results
from checker.ruleapi import RuleMeta

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
# GitHub maps this property to its severity scale.
_SECURITY_SEVERITY = {"info": "1.0", "low": "3.0", "medium": "5.0", "high": "7.5", "critical": "9.5"}


def _rule(meta: RuleMeta | None, result: Mapping[str, Any]) -> dict[str, Any]:
    level = "error" if result["enforce"] == "error" else "warning"
    rule: dict[str, Any] = {
        "id": result["rule"],
        "name": result["rule"],
        "shortDescription": {"text": result["title"]},
        "defaultConfiguration": {"level": level},
        "properties": {
            "tags": list(result["tags"]),
            "security-severity": _SECURITY_SEVERITY[result["severity"]],
        },
    }
    if meta is not None:
        rule["fullDescription"] = {"text": first_paragraph(meta.rationale)}
        rule["help"] = {
            "text": f"{meta.rationale}\n\nHow to fix: {meta.remediation}",
            "markdown": f"**Why is this bad?** {meta.rationale}\n\n**How to fix:** {meta.remediation}",
        }
        if meta.references:
            rule["helpUri"] = meta.references[0]
    return rule


def _location(finding: Mapping[str, Any]) -> dict[str, Any]:
    loc = finding["location"]
    physical: dict[str, Any] = {"artifactLocation": {"uri": loc["path"], "uriBaseId": "%SRCROOT%"}}
    if loc.get("line"):
        physical["region"] = {"startLine": loc["line"]}
    location: dict[str, Any] = {"physicalLocation": physical}
    if loc.get("resource"):
        logical = {"name": loc["resource"], "kind": "resource"}
        if loc.get("construct"):
            logical["fullyQualifiedName"] = loc["construct"]  # the CDK construct path
        location["logicalLocations"] = [logical]
    return location


def fingerprint(rule: str, finding: Mapping[str, Any]) -> str:
    """What makes a finding the same alert from one run to the next: the rule,
    the file, the resource and the offending element, not the line (code
    moves) and not the message. Two different findings never share one, so
    code scanning does not merge their alerts."""
    loc = finding["location"]
    identity = [rule, loc.get("path"), loc.get("resource"), finding.get("element")]
    if finding.get("element") is None:
        identity.append(finding["message"])  # nothing narrower names it
    return hashlib.sha256(json.dumps(identity).encode()).hexdigest()


def render(statement: Mapping[str, Any], rules: Mapping[str, RuleMeta]) -> dict[str, Any]:
    predicate = statement["predicate"]
    waivers = {w["id"]: w for w in predicate["waivers"]["applied"]}
    driver_rules = []
    sarif_results = []
    notifications = []
    for index, result in enumerate(results(statement)):
        driver_rules.append(_rule(rules.get(result["rule"]), result))
        level = "error" if result["enforce"] == "error" else "warning"
        for finding in result["findings"]:
            entry: dict[str, Any] = {
                "ruleId": result["rule"],
                "ruleIndex": index,
                "level": level,
                "message": {"text": finding["message"]},
                "locations": [_location(finding)],
            }
            entry["partialFingerprints"] = {"checkerFinding/v1": fingerprint(result["rule"], finding)}
            if "element" in finding:
                entry["properties"] = {"element": finding["element"]}  # what a waiver's scope names
            waiver = waivers.get(finding.get("waived_by", ""))
            if "waived_by" in finding:
                entry["suppressions"] = [
                    {
                        "kind": "external",
                        "status": "accepted",
                        "justification": (waiver or {}).get("reason", "waived"),
                        "properties": {
                            "waiver": finding["waived_by"],
                            "approvedBy": (waiver or {}).get("approved_by"),
                        },
                    }
                ]
            sarif_results.append(entry)
        for error in result.get("errors", []):
            notifications.append(
                {
                    "level": "error",
                    "message": {"text": f"{result['rule']}: {error}"},
                    "associatedRule": {"id": result["rule"], "index": index},
                }
            )
    invocation: dict[str, Any] = {
        "executionSuccessful": not notifications,
        "toolExecutionNotifications": notifications,
        "properties": {"verdict": predicate["verdict"], "policyDigest": predicate["policy"]["digest"]},
    }
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "checker",
                "version": predicate["tool"]["version"],
                "rules": driver_rules,
            }
        },
        "invocations": [invocation],
        "results": sarif_results,
        "columnKind": "unicodeCodePoints",
    }
    source = predicate.get("source")
    if source and source.get("repository"):
        run["versionControlProvenance"] = [
            {
                "repositoryUri": source["repository"],
                "revisionId": source["commit"],
                **({"branch": source["branch"]} if source.get("branch") else {}),
            }
        ]
    return {"$schema": SCHEMA, "version": "2.1.0", "runs": [run]}
