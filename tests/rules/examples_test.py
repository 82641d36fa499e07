"""Every rule's examples, as shown in `checker rules show` and docs/rules.md,
run against the rule: the failing one fails it, the passing one passes.

A template rule's example is a YAML snippet: a template, its resources, a
role's `Policies`, or a policy's `Statement` (put in a resource policy when
it names a principal). A repository rule's example is the repository: a
mapping of paths to contents (with `.checker.yml`, the team overlay, when
the example needs a parameter or scan setting), and `base:` for the files
as they were on the base branch (coverage of new code).
"""

from __future__ import annotations

import subprocess
import textwrap
from pathlib import Path

import pytest
import yaml

from checker.engine import RuleResult
from checker.facts import scope_of
from checker.gate import CheckRequest, run_check
from checker.registry import load_registry

REGISTRY = load_registry()

IDENTITY = """\
Resources:
  Policy:
    Type: AWS::IAM::ManagedPolicy
    Properties:
      PolicyDocument:
        Version: "2012-10-17"
{body}"""
RESOURCE_POLICY = """\
Resources:
  Queue:
    Type: AWS::SQS::Queue
  QueuePolicy:
    Type: AWS::SQS::QueuePolicy
    Properties:
      Queues: [!Ref Queue]
      PolicyDocument:
        Version: "2012-10-17"
{body}"""
ROLE = """\
Resources:
  Role:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Statement:
          - {{Effect: Allow, Principal: {{Service: lambda.amazonaws.com}}, Action: sts:AssumeRole}}
{body}"""


def template_text(snippet: str) -> str:
    """The snippet as a whole template, kept as text (tags, duplicate keys)."""
    first = snippet.lstrip().split(":", 1)[0]
    header = "Transform: AWS::Serverless-2016-10-31\n" if "AWS::Serverless::" in snippet else ""
    if first == "Resources":
        return header + snippet
    if first == "Statement":
        shape = RESOURCE_POLICY if "Principal:" in snippet else IDENTITY
        return shape.format(body=textwrap.indent(snippet, " " * 8))
    if first == "Policies":
        return ROLE.format(body=textwrap.indent(snippet, " " * 6))
    return header + "Resources:\n" + textwrap.indent(snippet, "  ")


def _git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-C", str(root), "-c", "user.email=t@example.com", "-c", "user.name=t", *args],
        check=True,
        capture_output=True,
    )


def _write(root: Path, files: dict[str, str]) -> None:
    for relpath, content in files.items():
        path = root / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)


def _run(rule_id: str, example: str, root: Path) -> RuleResult:
    meta = REGISTRY[rule_id].meta
    root.mkdir()
    base_ref = None
    if scope_of(meta.views) == "template":
        (root / "template.yaml").write_text(template_text(example))
    else:
        files = yaml.safe_load(example)
        assert isinstance(files, dict), f"{rule_id}: a repository example is a mapping of paths to contents"
        base = files.pop("base", None)
        if base is not None:
            _git(root, "init", "-q", "-b", "main")
            _write(root, base)
            _git(root, "add", "-A")
            _git(root, "commit", "-q", "-m", "base")
            _git(root, "checkout", "-q", "-b", "change")
            base_ref = "main"
        _write(root, files)
        if base is not None:
            _git(root, "add", "-A")
            _git(root, "commit", "-q", "-m", "change")
    request = CheckRequest(paths=[root], root=root, environ={}, base_ref=base_ref)
    run = run_check(request, REGISTRY)
    (result,) = [r for r in run.evaluation.results if r.meta.id == rule_id]
    return result


def test_every_rule_has_both_examples() -> None:
    missing = [r for r, rule in REGISTRY.items() if not (rule.meta.example_fail and rule.meta.example_pass)]
    assert missing == []


@pytest.mark.parametrize("rule_id", sorted(REGISTRY))
def test_the_failing_example_fails_its_rule(rule_id: str, tmp_path: Path) -> None:
    example = REGISTRY[rule_id].meta.example_fail
    assert example is not None
    result = _run(rule_id, example, tmp_path / "repo")
    assert result.status == "fail", (result.status, result.reason, result.errors)
    assert result.findings


@pytest.mark.parametrize("rule_id", sorted(REGISTRY))
def test_the_passing_example_passes_its_rule(rule_id: str, tmp_path: Path) -> None:
    example = REGISTRY[rule_id].meta.example_pass
    assert example is not None
    result = _run(rule_id, example, tmp_path / "repo")
    assert result.status == "pass", (result.status, result.reason, [f.message for f in result.findings], result.errors)
