"""Deployment parameter files: which values they give, which templates they
apply to, and how a run uses them (judged, reported, committed, cached)."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from checker.errors import InputError
from checker.facts.deployment_parameters import collect, parse_parameter_json, parse_samconfig
from checker.gate import CheckRequest, run_check
from checker.registry import load_registry

REGISTRY = load_registry()

TEMPLATE = """\
AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  Actions:
    Type: CommaDelimitedList
  TableArn:
    Type: String
Resources:
  Policy:
    Type: AWS::IAM::ManagedPolicy
    Properties:
      PolicyDocument:
        Statement:
          - Effect: Allow
            Action: !Ref Actions
            Resource: !Ref TableArn
"""

SAMCONFIG = """\
version = 0.1
[default.deploy.parameters]
parameter_overrides = "Actions=dynamodb:GetItem TableArn=\\"arn:aws:dynamodb:us-east-1:123456789012:table/orders\\""
[prod.deploy.parameters]
parameter_overrides = ["Actions=dynamodb:GetItem,dynamodb:*", "TableArn=arn:aws:dynamodb:us-east-1:1:table/t"]
"""


def test_samconfig_gives_every_environments_overrides() -> None:
    sets = parse_samconfig(SAMCONFIG.encode(), "app/samconfig.toml")
    assert [(s.origin, dict(s.values)["Actions"]) for s in sets] == [
        ("samconfig.toml [default.deploy]", "dynamodb:GetItem"),
        ("samconfig.toml [prod.deploy]", "dynamodb:GetItem,dynamodb:*"),
    ]
    assert dict(sets[0].values)["TableArn"] == "arn:aws:dynamodb:us-east-1:123456789012:table/orders"


def test_samconfig_in_yaml_is_read_too() -> None:
    text = "version: 0.1\nprod:\n  deploy:\n    parameters:\n      parameter_overrides: ['Actions=s3:*']\n"
    (only,) = parse_samconfig(text.encode(), "samconfig.yaml")
    assert only.values == (("Actions", "s3:*"),)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("[default.deploy.parameters]\nparameter_overrides = 'Actions'\n", "'Actions' is not Key=Value"),
        ("[default.deploy.parameters]\nparameter_overrides = 3\n", "must be a string or a list"),
        ('[default.deploy.parameters]\nparameter_overrides = "Actions=\'s3"\n', "No closing quotation"),
        ("[default.deploy\n", "not valid TOML"),
    ],
)
def test_a_malformed_samconfig_is_an_input_error_naming_the_file(text: str, says: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_samconfig(text.encode(), "app/samconfig.toml")
    assert caught.value.path == "app/samconfig.toml" and says in caught.value.message


def test_cloudformation_parameter_files_in_both_shapes() -> None:
    cli = b'[{"ParameterKey": "Actions", "ParameterValue": "s3:*"}, {"ParameterKey": "Old", "UsePreviousValue": true}]'
    pipeline = b'{"Parameters": {"Actions": "sqs:SendMessage"}, "Tags": {"team": "a"}}'
    assert parse_parameter_json(cli, "params/prod.json").values == (("Actions", "s3:*"),)  # type: ignore[union-attr]
    assert parse_parameter_json(pipeline, "cfg.json").values == (("Actions", "sqs:SendMessage"),)  # type: ignore[union-attr]
    assert parse_parameter_json(b'{"name": "pkg", "version": "1"}', "package.json") is None
    template = b'{"Parameters": {"A": {"Type": "String"}}, "Resources": {}}'
    assert parse_parameter_json(template, "t.json") is None
    with pytest.raises(InputError) as caught:
        parse_parameter_json(b'[{"ParameterKey": "Actions", "ParameterValue": ["s3:*"]}]', "p.json")
    assert caught.value.path == "p.json"


def test_a_samconfig_applies_to_templates_in_its_folder_and_below_only(tmp_path: Path) -> None:
    for folder in ("app", "app/nested", "other"):
        (tmp_path / folder).mkdir(parents=True, exist_ok=True)
    (tmp_path / "app" / "samconfig.toml").write_text(SAMCONFIG)
    found = collect(tmp_path, ["app/nested/template.yaml", "other/template.yaml"], [])
    assert [f.relpath for f in found.files] == ["app/samconfig.toml"]
    assert found.values_for("app/nested/template.yaml", ["Actions"])["Actions"][1][0] == "dynamodb:GetItem,dynamodb:*"
    assert found.values_for("other/template.yaml", ["Actions"]) == {}


def test_a_parameter_json_applies_wherever_a_key_it_sets_is_declared(tmp_path: Path) -> None:
    # The AWS CLI and SAM CLI pass the declared keys and drop the rest: a file
    # with a key the template lacks still deploys its other values.
    (tmp_path / "p.json").write_text('[{"ParameterKey": "Actions", "ParameterValue": "s3:*"}]')
    (tmp_path / "q.json").write_text(
        '[{"ParameterKey": "Actions", "ParameterValue": "x"}, {"ParameterKey": "Team", "ParameterValue": "y"}]'
    )
    (tmp_path / "r.json").write_text('[{"ParameterKey": "Other", "ParameterValue": "z"}]')
    files = [(tmp_path / name, name) for name in ("p.json", "q.json", "r.json")]
    found = collect(tmp_path, [], files)
    assert found.values_for("t.yaml", ["Actions", "TableArn"]) == {"Actions": (("s3:*", "p.json"), ("x", "q.json"))}


def test_keys_written_with_escapes_and_the_long_form_are_read() -> None:
    escaped = b'[{"\\u0050arameterKey": "Actions", "ParameterValue": "*"}]'
    assert parse_parameter_json(escaped, "p.json").values == (("Actions", "*"),)  # type: ignore[union-attr]
    text = '[default.deploy.parameters]\nparameter_overrides = "ParameterKey=Actions,ParameterValue=s3:*"\n'
    (only,) = parse_samconfig(text.encode(), "samconfig.toml")
    assert only.values == (("Actions", "s3:*"),)


def _repo(root: Path, files: dict[str, str], committed: list[str]) -> None:
    for relpath, text in files.items():
        (root / relpath).parent.mkdir(parents=True, exist_ok=True)
        (root / relpath).write_text(text)
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    subprocess.run(["git", "-C", str(root), "add", *committed], check=True)
    subprocess.run(
        ["git", "-C", str(root), "-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-qm", "init"],
        check=True,
    )


def _check(root: Path, **kwargs: Any) -> Any:
    kwargs.setdefault("environ", {})
    request = CheckRequest(paths=[root], root=root, templates_only=True, record_source=True, **kwargs)
    return run_check(request, REGISTRY)


def _findings(run: Any) -> dict[str, list[str]]:
    return {r.meta.id: [f.message for f in r.findings] for r in run.evaluation.results if r.findings}


def test_the_values_a_team_deploys_with_are_judged_and_reported(tmp_path: Path) -> None:
    files = {"app/template.yaml": TEMPLATE, "app/samconfig.toml": SAMCONFIG}
    _repo(tmp_path, files, list(files))
    run = _check(tmp_path)
    found = _findings(run)
    # Without the file, Action and Resource are undetermined (IAM013/IAM014);
    # with it, prod's dynamodb:* is judged, and the finding says where it comes from.
    assert set(found) == {"IAM002"}
    assert "(samconfig.toml [prod.deploy])" in found["IAM002"][0]
    (listed,) = run.statement["predicate"]["inputs"]["parameter_files"]
    assert listed["path"] == "app/samconfig.toml" and listed["kind"] == "samconfig"


def test_without_a_parameter_file_the_action_is_undetermined_and_fails(tmp_path: Path) -> None:
    _repo(tmp_path, {"app/template.yaml": TEMPLATE}, ["app/template.yaml"])
    found = _findings(_check(tmp_path))
    assert set(found) == {"IAM013", "IAM014"}


def test_an_uncommitted_parameter_file_makes_the_report_dirty(tmp_path: Path) -> None:
    # A benign value kept out of the commit must not speak for it.
    benign = SAMCONFIG.split("[prod")[0]
    _repo(tmp_path, {"app/template.yaml": TEMPLATE, "app/samconfig.toml": benign}, ["app/template.yaml"])
    source = _check(tmp_path).statement["predicate"]["source"]
    assert source["dirty"] and any("samconfig.toml" in reason for reason in source["dirty_reasons"])


def test_a_cached_outcome_is_not_reused_when_the_parameter_files_change(tmp_path: Path) -> None:
    secret = {"CHECKER_CACHE_KEY": "k" * 32}
    benign = SAMCONFIG.split("[prod")[0]
    _repo(tmp_path, {"app/template.yaml": TEMPLATE, "app/samconfig.toml": benign}, ["app/template.yaml"])
    cache_dir = tmp_path.parent / "cache"
    assert _findings(_check(tmp_path, cache_dir=cache_dir, environ=secret)) == {}
    assert _check(tmp_path, cache_dir=cache_dir, environ=secret).evaluation.cache_hits == 1
    (tmp_path / "app" / "samconfig.toml").write_text(SAMCONFIG)
    changed = _check(tmp_path, cache_dir=cache_dir, environ=secret)
    assert changed.evaluation.cache_hits == 0 and set(_findings(changed)) == {"IAM002"}
