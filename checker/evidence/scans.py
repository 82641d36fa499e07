"""Scanner result readers: bandit JSON, checkov JSON, cfn-lint JSON and any
SARIF 2.1.0 log, each into tool, version, findings with normalized severity,
and the set of files the output shows were scanned.

Severities map onto checker's scale (info < low < medium < high < critical):
bandit LOW/MEDIUM/HIGH as they are; cfn-lint Error/Warning/Informational as
high/medium/low; SARIF ``security-severity`` by the CVSS bands, else the
result level (error high, warning medium, note low). A finding the tool
gives no severity (checkov without a platform key) is *unrated* and takes
the severity the policy's scan requirement sets for unrated findings.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from checker.errors import InputError
from checker.evidence import Content, EvidenceFile, ScanFinding, ScanReport, Severity
from checker.evidence.paths import Names, PathResolver, folder_of
from checker.times import parse_time

UNRATED: Severity = "high"

_TOOL_NAMES = {
    "bandit": "bandit",
    "checkov": "checkov",
    "cfn-lint": "cfn-lint",
    "cfn_lint": "cfn-lint",
    "cfnlint": "cfn-lint",
}


_SEVERITY_WORDS: dict[str, Severity] = {
    "info": "info",
    "informational": "info",
    "low": "low",
    "medium": "medium",
    "moderate": "medium",
    "high": "high",
    "critical": "critical",
}


def _severity(value: Any) -> Severity | None:
    """A tool's own severity word on checker's scale, or None when it gives
    none we know (then the finding is unrated)."""
    return _SEVERITY_WORDS.get(str(value or "").strip().lower())


def tool_name(name: str) -> str:
    return _TOOL_NAMES.get(name.strip().lower(), name.strip().lower())


def _time(text: Any) -> float | None:
    """A scanner's timestamp (no offset means UTC), or None when it is not one
    (or one no clock can hold, such as year 1)."""
    moment = parse_time(text) if isinstance(text, str) else None
    if moment is None:
        return None
    try:
        return moment.timestamp()
    except (OverflowError, ValueError, OSError):
        return None


class _Paths:
    """One file's names resolved to repository files; an unresolved name is
    kept as written (a finding still needs a place) and reported."""

    def __init__(self, resolver: PathResolver, source: EvidenceFile) -> None:
        self.names = Names(resolver, [folder_of(source.relpath)])
        self.unresolved = self.names.unresolved

    def __call__(self, name: str) -> str:
        resolved = self.names(name)
        if resolved is not None:
            return resolved
        # Kept as written, but an absolute path inside the checkout is named
        # from the root: the report names no path of the build machine, and a
        # waiver's template glob can match it.
        root = self.names.resolver.root
        if os.path.isabs(name):
            try:
                return Path(os.path.normpath(name)).relative_to(root).as_posix()
            except ValueError:
                return name
        return name


def _bad(source: EvidenceFile, message: str, field: str | None = None) -> InputError:
    return InputError(message, path=source.relpath, field=field)


def read_bandit(content: Content, source: EvidenceFile, resolver: PathResolver) -> list[ScanReport]:
    data = content.json
    if not isinstance(data.get("results"), list) or not isinstance(data.get("metrics"), dict):
        raise _bad(source, "not a bandit JSON report (needs results and metrics)")
    paths = _Paths(resolver, source)
    findings = []
    for index, result in enumerate(data["results"]):
        try:
            severity = _severity(result["issue_severity"])
            findings.append(
                ScanFinding(
                    "bandit",
                    str(result["test_id"]),
                    severity or UNRATED,
                    str(result["issue_text"]),
                    paths(str(result["filename"])),
                    int(result["line_number"]),
                    rated=severity is not None,
                )
            )
        except (KeyError, TypeError, ValueError):
            raise _bad(
                source, "a result lacks filename, line_number, test_id or issue_severity", f"results[{index}]"
            ) from None
    # Results the team's own run hid: `# nosec` comments (bandit counts them),
    # and issues it found but left out of the results (-l/-i level filters:
    # its totals count every issue found).
    totals = data["metrics"].get("_totals")
    suppressed = 0
    if isinstance(totals, dict):
        counted = {k: v for k, v in totals.items() if isinstance(v, int) and not isinstance(v, bool)}
        suppressed = max(0, counted.get("nosec", 0)) + max(0, counted.get("skipped_tests", 0))
        found = sum(max(0, v) for k, v in counted.items() if str(k).startswith("SEVERITY."))
        suppressed += max(0, found - len(data["results"]))
    failed = {str(e.get("filename")) for e in data.get("errors", []) if isinstance(e, dict)}
    scanned = frozenset(paths(name) for name in data["metrics"] if name != "_totals" and name not in failed)
    return [
        ScanReport(
            "bandit",
            None,
            "ingested",
            source,
            tuple(findings),
            scanned,
            tuple(sorted(paths.unresolved)),
            generated=_time(data.get("generated_at")),
            suppressed=suppressed,
        )
    ]


def read_checkov(content: Content, source: EvidenceFile, resolver: PathResolver) -> list[ScanReport]:
    data = content.json
    runs = data if isinstance(data, list) else [data]
    paths = _Paths(resolver, source)
    findings: list[ScanFinding] = []
    scanned: set[str] = set()
    version = None
    suppressed = 0
    for index, run in enumerate(runs):
        if not isinstance(run, dict):
            raise _bad(source, "not a checkov JSON report", f"[{index}]")
        summary = run.get("summary") if "summary" in run else run
        if isinstance(summary, dict) and summary.get("checkov_version"):
            version = str(summary["checkov_version"])
        results = run.get("results")
        if results is None:
            if "check_type" in run:
                raise _bad(source, "a checkov run has no results", f"[{index}].results")
            continue  # summary-only output: checkov found nothing to scan
        if not isinstance(results, dict):
            raise _bad(source, "results must be a mapping", f"[{index}].results")
        for key in ("passed_checks", "failed_checks", "skipped_checks"):
            for check in results.get(key, []):
                scanned.add(paths(str(check.get("repo_file_path") or check.get("file_path"))))
        # Checks the team's own run skipped (a skip comment, --skip-check): what they hid is not counted.
        skipped = results.get("skipped_checks")
        suppressed += len(skipped) if isinstance(skipped, list) else 0
        for position, check in enumerate(results.get("failed_checks", [])):
            try:
                raw = check.get("severity")
                lines = check.get("file_line_range") or [None]
                findings.append(
                    ScanFinding(
                        "checkov",
                        str(check["check_id"]),
                        _severity(raw) or UNRATED,
                        f"{check.get('resource', '')}: {check.get('check_name', '')}".strip(": "),
                        paths(str(check.get("repo_file_path") or check["file_path"])),
                        int(lines[0]) if lines[0] is not None else None,
                        rated=_severity(raw) is not None,
                    )
                )
            except (KeyError, TypeError, ValueError):
                raise _bad(
                    source, "a failed check lacks check_id or file_path", f"results.failed_checks[{position}]"
                ) from None
        for broken in results.get("parsing_errors", []) if isinstance(results.get("parsing_errors"), list) else []:
            scanned.discard(paths(str(broken)))
    return [
        ScanReport(
            "checkov",
            version,
            "ingested",
            source,
            tuple(findings),
            frozenset(scanned),
            tuple(sorted(paths.unresolved)),
            suppressed=suppressed,
        )
    ]


_CFN_LEVELS: dict[str, Severity] = {"error": "high", "warning": "medium", "informational": "low"}


def read_cfn_lint(content: Content, source: EvidenceFile, resolver: PathResolver) -> list[ScanReport]:
    data = content.json
    paths = _Paths(resolver, source)
    findings = []
    for index, match in enumerate(data):
        try:
            findings.append(
                ScanFinding(
                    "cfn-lint",
                    str(match["Rule"]["Id"]),
                    _CFN_LEVELS.get(str(match["Level"]).lower(), "medium"),
                    str(match["Message"]),
                    paths(str(match["Filename"])),
                    int(match["Location"]["Start"]["LineNumber"]),
                )
            )
        except (KeyError, TypeError, ValueError):
            raise _bad(source, "a match lacks Rule.Id, Level, Message, Filename or Location", f"[{index}]") from None
    # cfn-lint lists matches only: which clean templates it read is unknown.
    return [ScanReport("cfn-lint", None, "ingested", source, tuple(findings), None, tuple(sorted(paths.unresolved)))]


_SARIF_LEVELS: dict[str, Severity] = {"error": "high", "warning": "medium", "note": "low"}


def _sarif_severity(result: Mapping[str, Any], rule: Mapping[str, Any]) -> Severity:
    for props in (result.get("properties"), rule.get("properties")):
        score = props.get("security-severity") if isinstance(props, dict) else None
        try:
            value = float(score) if score is not None else None
        except (TypeError, ValueError):
            value = None
        if value is not None:
            if value >= 9.0:
                return "critical"
            if value >= 7.0:
                return "high"
            if value >= 4.0:
                return "medium"
            return "low" if value > 0 else "info"
    level = result.get("level") or (rule.get("defaultConfiguration") or {}).get("level") or "warning"
    return _SARIF_LEVELS.get(str(level), "info")


def _sarif_uri(location: Mapping[str, Any], bases: Mapping[str, str]) -> str | None:
    artifact = location.get("artifactLocation") or {}
    uri = artifact.get("uri")
    if not isinstance(uri, str):
        return None
    base = bases.get(str(artifact.get("uriBaseId")), "")
    from urllib.parse import unquote, urlparse

    parsed = urlparse(uri)
    path = unquote(parsed.path) if parsed.scheme in ("file", "") else uri
    return f"{base.rstrip('/')}/{path}" if base and not path.startswith("/") else path


def read_sarif(content: Content, source: EvidenceFile, resolver: PathResolver) -> list[ScanReport]:
    data = content.json
    if data.get("version") != "2.1.0" or not isinstance(data.get("runs"), list):
        raise _bad(source, "only SARIF 2.1.0 logs with runs are read", "version")
    reports = []
    for index, run in enumerate(data["runs"]):
        driver = ((run.get("tool") or {}).get("driver")) if isinstance(run, dict) else None
        if not isinstance(driver, dict) or not isinstance(driver.get("name"), str):
            raise _bad(source, "a run has no tool.driver.name", f"runs[{index}].tool.driver.name")
        tool = tool_name(driver["name"])
        uri_bases = {str(k): str((v or {}).get("uri", "")) for k, v in (run.get("originalUriBaseIds") or {}).items()}
        paths = _Paths(resolver, source)
        rules = {str(r.get("id")): r for r in driver.get("rules") or [] if isinstance(r, dict)}
        rule_list = list(driver.get("rules") or [])
        findings = []
        suppressed = 0
        for position, result in enumerate(run.get("results") or []):
            if not isinstance(result, dict):
                raise _bad(source, "a result is not an object", f"runs[{index}].results[{position}]")
            rule_id = str(result.get("ruleId") or (result.get("rule") or {}).get("id") or "")
            rule = rules.get(rule_id)
            if rule is None and isinstance(result.get("ruleIndex"), int) and result["ruleIndex"] < len(rule_list):
                rule = rule_list[result["ruleIndex"]]
            if result.get("kind") not in (None, "fail"):
                continue  # pass/notApplicable results
            if _suppressed(result.get("suppressions")):
                suppressed += 1
                continue
            location = ((result.get("locations") or [{}])[0] or {}).get("physicalLocation") or {}
            uri = _sarif_uri(location, uri_bases)
            line = (location.get("region") or {}).get("startLine")
            findings.append(
                ScanFinding(
                    tool,
                    rule_id or "(no rule id)",
                    _sarif_severity(result, rule or {}),
                    str((result.get("message") or {}).get("text", "")),
                    paths(uri) if uri else source.relpath,
                    int(line) if isinstance(line, int) else None,
                )
            )
        artifacts = run.get("artifacts")
        scanned = None
        if isinstance(artifacts, list) and artifacts:
            scanned = frozenset(
                paths(uri)
                for uri in (_sarif_uri({"artifactLocation": a.get("location") or {}}, uri_bases) for a in artifacts)
                if uri
            )
        invocations = run.get("invocations") or []
        failure = None
        if any(isinstance(i, dict) and i.get("executionSuccessful") is False for i in invocations):
            failure = "the log says the scanner's run did not complete (executionSuccessful: false)"
        ends = [t for t in (_time(i.get("endTimeUtc")) for i in invocations if isinstance(i, dict)) if t]
        version = driver.get("version") or driver.get("semanticVersion")
        reports.append(
            ScanReport(
                tool,
                str(version) if version else None,
                "ingested",
                source,
                tuple(findings),
                scanned,
                tuple(sorted(paths.unresolved)),
                failure,
                max(ends) if ends else None,
                suppressed,
            )
        )
    return reports


def _suppressed(suppressions: Any) -> bool:
    """Whether SARIF 2.1.0 counts a result as suppressed (§3.27.23): some
    suppression in effect (status ``accepted``, or none given), and none
    still ``underReview``. A ``rejected`` one suppresses nothing."""
    if not isinstance(suppressions, list) or not suppressions:
        return False
    statuses = [s.get("status") if isinstance(s, dict) else "rejected" for s in suppressions]
    if "underReview" in statuses:
        return False
    return any(status in (None, "accepted") for status in statuses)


Reader = Callable[[Content, EvidenceFile, PathResolver], list[ScanReport]]

READERS: dict[str, Reader] = {
    "bandit-json": read_bandit,
    "checkov-json": read_checkov,
    "cfn-lint-json": read_cfn_lint,
    "sarif": read_sarif,
}
