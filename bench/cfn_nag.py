"""Measure checker's IAM rules against cfn_nag's own test expectations.

bench/cfn_nag_expected.json says, for each counted cfn_nag rule (wildcard
actions and resources, Allow with NotAction / NotResource / NotPrincipal,
wildcard principals, iam:PassRole on "*"), which logical ids its specs expect
flagged in which of its test templates (the copy in the shared corpus).
checker runs once over those templates and this prints:

- expected: one per (cfn_nag rule, template, logical id) the specs expect
  flagged; it is matched when any IAM* finding of checker names that template
  and that resource (checker's rules do not map one to one onto cfn_nag's).
- false positives: IAM* findings on a clean template. A template is clean
  when no counted cfn_nag rule expects anything in it: a template clean for
  one rule (``flagged: []``) but expected flagged by another counted rule is
  not clean. The ``clean_templates`` of the data are clean for every counted
  rule (their integration spec lists every violation, none of a counted rule).

    python bench/cfn_nag.py                   # ../shared/corpus
    python bench/cfn_nag.py --corpus DIR      # DIR holds cfn_nag/spec/test_templates/...
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = REPO.parent / "shared" / "corpus"
EXPECTED = Path(__file__).resolve().parent / "cfn_nag_expected.json"
FOLDER = "cfn_nag"  # the corpus folder the data's template paths are relative to


@dataclass
class Score:
    expected: int = 0
    matched: int = 0
    clean: list[str] = field(default_factory=list)
    # (cfn_nag rule, template, resource, note)
    misses: list[tuple[str, str, str, str]] = field(default_factory=list)
    # (checker rule, template, resource, message)
    false_positives: list[tuple[str, str, str, str]] = field(default_factory=list)
    # templates checker did not load
    not_checked: list[str] = field(default_factory=list)


def load_expected(path: Path = EXPECTED) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def cases(data: dict[str, Any]) -> Iterable[tuple[str, dict[str, Any]]]:
    """(rule id, case) for every case of every counted rule."""
    for rule_id, rule in data["rules"].items():
        for case in rule["cases"]:
            yield rule_id, case


def clean_templates(data: dict[str, Any]) -> list[str]:
    """Templates no counted rule expects anything in."""
    flagged = {case["template"] for _, case in cases(data) if case["flagged"]}
    named = {case["template"] for _, case in cases(data)} | {case["template"] for case in data["clean_templates"]}
    return sorted(named - flagged)


def run_checker(corpus: Path, templates: list[str]) -> dict[str, Any]:
    """checker's JSON report (the in-toto predicate) for ``templates``, paths relative to ``corpus``."""
    with tempfile.TemporaryDirectory() as tmp:
        output = Path(tmp) / "report.json"
        argv = [sys.executable, "-m", "checker", "check", "--root", str(corpus), "--templates-only"]
        argv += ["--format", "json", "--output", str(output), *(str(corpus / t) for t in templates)]
        done = subprocess.run(argv, cwd=REPO, capture_output=True, text=True)
        # 1 is "findings fail the policy": expected here. 2 and up is bad input.
        if done.returncode not in (0, 1) or not output.is_file():
            raise RuntimeError(f"checker exited {done.returncode}: {done.stderr.strip()}")
        report: dict[str, Any] = json.loads(output.read_text(encoding="utf-8"))["predicate"]
    return report


def iam_findings(report: dict[str, Any]) -> Iterable[tuple[str, str, str, str]]:
    """(rule, template relative to the cfn_nag folder, resource, message) of every IAM* finding."""
    prefix = f"{FOLDER}/"
    for result in report["results"]:
        if not result["rule"].startswith("IAM"):
            continue
        for finding in result["findings"]:
            location = finding.get("location") or {}
            path = str(location.get("path", "")).removeprefix(prefix)
            yield result["rule"], path, str(location.get("resource")), finding["message"]


def measure(corpus: Path = DEFAULT_CORPUS, expected: Path = EXPECTED) -> Score:
    data = load_expected(expected)
    result = Score(clean=clean_templates(data))
    templates = sorted({case["template"] for _, case in cases(data)} | set(result.clean))
    report = run_checker(corpus, [f"{FOLDER}/{t}" for t in templates])
    result.not_checked = [t["path"] for t in report["templates"] if t.get("status") != "ok"]
    findings = list(iam_findings(report))
    flagged = {(template, resource) for _, template, resource, _ in findings}
    for rule_id, case in cases(data):
        for resource in case["flagged"]:
            result.expected += 1
            if (case["template"], resource) in flagged:
                result.matched += 1
            else:
                given = case.get("parameters")
                note = f" (cfn_nag's spec passed parameter values {json.dumps(given)})" if given else ""
                result.misses.append((rule_id, case["template"], resource, note))
    clean = set(result.clean)
    result.false_positives = [f for f in findings if f[1] in clean]
    return result


def score(corpus: Path = DEFAULT_CORPUS) -> tuple[int, int, int, int]:
    """(matched, expected, false positives, clean templates): what the test asserts on."""
    result = measure(corpus)
    return result.matched, result.expected, len(result.false_positives), len(result.clean)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help=f"holds {FOLDER}/ (default: %(default)s)")
    parser.add_argument("--expected", type=Path, default=EXPECTED, help="the expectations (default: %(default)s)")
    args = parser.parse_args()
    corpus = args.corpus.resolve()
    if not (corpus / FOLDER).is_dir():
        print(f"bench: {corpus / FOLDER} not found (the shared corpus sits beside the checkout)", file=sys.stderr)
        return 2
    result = measure(corpus, args.expected)
    source = load_expected(args.expected)["source"]
    print(f"cfn_nag {source['commit'][:12]} expectations, counted rules only")
    print(f"resources expected flagged: {result.expected}, flagged by a checker IAM rule: {result.matched}")
    print(f"false positives on {len(result.clean)} clean templates: {len(result.false_positives)}")
    for path in result.not_checked:
        print(f"  not checked (did not load): {path}")
    for rule_id, template, resource, note in result.misses:
        print(f"  miss  {rule_id:<4} {template} {resource}{note}")
    for rule, template, resource, message in result.false_positives:
        print(f"  false positive  {rule} {template} {resource}: {message}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
