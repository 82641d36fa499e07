"""The whole check pipeline with real policy files: overlays found on their
own, scopes and environments, waivers in each state, inline suppressions,
the adoption baseline, and break-glass."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from checker.cli import main
from checker.errors import PolicyError
from checker.gate import CheckRequest, run_check
from checker.registry import load_registry

REGISTRY = load_registry()
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)

APP = """\
AWSTemplateFormatVersion: "2010-09-09"
Resources:
  Worker:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Statement:
          - {Effect: Allow, Principal: {Service: lambda.amazonaws.com}, Action: sts:AssumeRole}
      Policies:
        - PolicyName: worker
          PolicyDocument:
            Statement:
              - Effect: Allow
                Action: [logs:PutLogEvents, s3:PutObject]
                Resource: "*"
  Logs:
    Type: AWS::Logs::LogGroup
    Properties:
      LogGroupName: fixed-name
"""

BASE = """\
schema_version: 1
name: org
version: "1"
settings: {max_waiver_days: 30, inline_suppressions: %s, break_glass_max_hours: 24}
rules:
  IAM006: {enforce: error}
  NAME001:
    enforce: warn
    environments:
      prod: {enforce: error}
waivers: %s
"""


def _setup(tmp_path: Path, *, waivers: str = "[]", inline: bool = False, app: str = APP) -> Path:
    (tmp_path / "infra").mkdir(parents=True, exist_ok=True)
    (tmp_path / "infra" / "app.yaml").write_text(app)
    (tmp_path / "base.yaml").write_text(BASE % (str(inline).lower(), waivers))
    return tmp_path


def _run(root: Path, **kwargs: Any) -> Any:
    kwargs.setdefault("now", NOW)
    request = CheckRequest(paths=[root / "infra"], root=root, policies=[root / "base.yaml"], **kwargs)
    return run_check(request, REGISTRY)


def _open(run: Any, rule: str) -> set[str | None]:
    (result,) = [r for r in run.evaluation.results if r.meta.id == rule]
    return {f.element for f in result.findings}


def test_environment_overrides_make_prod_stricter(tmp_path: Path) -> None:
    root = _setup(tmp_path)
    assert {r.meta.id: r.setting.enforce for r in _run(root).evaluation.results}["NAME001"] == "warn"
    prod = _run(root, env="prod")
    assert {r.meta.id: r.setting.enforce for r in prod.evaluation.results}["NAME001"] == "error"
    assert set(prod.evaluation.blocking) == {"IAM006", "NAME001"} and prod.statement["predicate"]["env"] == "prod"


WAIVER = """
  - rule: IAM006
    scope: {template: "infra/*.yaml", resource: Worker, element: "logs:PutLogEvents on *"}
    reason: log groups are created at run time
    ticket: SEC-1
    approved_by: security@example.com
    expires: %s
"""


def test_a_waiver_for_one_element_does_not_waive_another(tmp_path: Path) -> None:
    run = _run(_setup(tmp_path, waivers=WAIVER % "2026-12-15"))
    assert _open(run, "IAM006") == {"s3:PutObject on *"}
    applied = run.statement["predicate"]["waivers"]["applied"]
    assert [(w["rule"], w["ticket"], w["matched"]) for w in applied] == [("IAM006", "SEC-1", 1)]
    (result,) = [r for r in run.statement["predicate"]["results"] if r["rule"] == "IAM006"]
    assert [f.get("waived_by") for f in result["findings"]] == [None, applied[0]["id"]]


def test_a_waiver_covering_every_finding_makes_the_rule_waived(tmp_path: Path) -> None:
    both = WAIVER % "2026-12-15" + (WAIVER % "2026-12-15").replace("logs:PutLogEvents", "s3:PutObject")
    run = _run(_setup(tmp_path, waivers=both))
    statuses = {r.meta.id: r.status for r in run.evaluation.results}
    assert statuses["IAM006"] == "waived" and run.evaluation.verdict == "pass"


def test_expired_waivers_no_longer_waive_and_are_reported(tmp_path: Path) -> None:
    run = _run(_setup(tmp_path, waivers=WAIVER % "2026-11-01"))
    assert _open(run, "IAM006") == {"logs:PutLogEvents on *", "s3:PutObject on *"}
    assert [w["rule"] for w in run.statement["predicate"]["waivers"]["expired"]] == ["IAM006"]


def test_waivers_that_match_nothing_are_reported_unused(tmp_path: Path) -> None:
    run = _run(_setup(tmp_path, waivers=(WAIVER % "2026-12-15").replace("Worker", "Gone")))
    assert [w["scope"]["resource"] for w in run.statement["predicate"]["waivers"]["unused"]] == ["Gone"]


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        (("2026-12-15", "2027-06-01"), "waivers[0].expires", "beyond the 30-day horizon"),
        (("approved_by: security@example.com", "approved_by: ''"), "waivers[0].approved_by", "is required"),
        (("rule: IAM006", "rule: IAM0006"), "waivers[0].rule", "did you mean 'IAM006'?"),
        (("rule: IAM006", "rule: TPL001"), "waivers[0].rule", "mandatory"),
        (("ticket: SEC-1", "tiket: SEC-1"), "waivers[0].tiket", "did you mean 'ticket'?"),
    ],
)
def test_malformed_waivers_name_file_line_and_field(
    tmp_path: Path, change: tuple[str, str], field: str, words: str
) -> None:
    root = _setup(tmp_path, waivers=(WAIVER % "2026-12-15").replace(*change))
    with pytest.raises(PolicyError) as caught:
        _run(root)
    assert caught.value.path is not None and caught.value.path.endswith("base.yaml")
    assert caught.value.field == field and caught.value.line is not None
    assert words in str(caught.value)


INLINE_APP = APP.replace(
    "  Logs:\n",
    "    Metadata:\n      checker:\n        waivers:\n"
    "          - {rule: IAM006, element: 's3:PutObject on *', reason: uploads to per-tenant buckets,"
    " expires: 2026-12-01}\n  Logs:\n",
)


@pytest.mark.parametrize(
    ("inline", "why"),
    [
        (False, "the baseline does not allow inline suppressions (settings.inline_suppressions)"),
        (True, "the baseline names no approvers: relaxations from the repository are listed, never applied"),
    ],
)
def test_inline_suppressions_are_listed_but_applied_only_when_allowed_and_approved(
    tmp_path: Path, inline: bool, why: str
) -> None:
    run = _run(_setup(tmp_path, app=INLINE_APP, inline=inline))
    assert _open(run, "IAM006") == {"logs:PutLogEvents on *", "s3:PutObject on *"}
    (ignored,) = run.statement["predicate"]["waivers"]["ignored"]
    assert (ignored["kind"], ignored["source"], ignored["why"]) == ("inline", "infra/app.yaml:19", why)
    assert ignored["scope"]["resource"] == "Worker"


def test_overlay_is_found_at_the_root_and_may_only_tighten(tmp_path: Path) -> None:
    root = _setup(tmp_path)
    (root / ".checker.yml").write_text(
        "schema_version: 1\nname: team\nversion: '1'\nrules:\n  NAME001: {enforce: error}\n"
    )
    run = _run(root)
    assert [layer["role"] for layer in run.statement["predicate"]["policy"]["layers"]] == [
        "baseline",
        "overlay",
    ]
    assert "NAME001" in run.evaluation.blocking
    (root / ".checker.yml").write_text(
        "schema_version: 1\nname: team\nversion: '1'\nrules:\n  IAM006: {enforce: warn}\n"
    )
    with pytest.raises(PolicyError) as caught:
        _run(root)
    assert (caught.value.path, caught.value.line) == (".checker.yml", 5)
    assert "may not lower enforcement of IAM006 from error" in str(caught.value)


@pytest.mark.parametrize(
    ("overlay", "words"),
    [
        ("rules:\n  IAM006: {scope: {paths: ['other/*']}}\n", "may not narrow where IAM006 applies"),
        ("settings: {max_waiver_days: 365}\nrules: {}\n", "only the baseline sets organization settings"),
        ("rules:\n  IAM006: {overridable: true}\n", "only the baseline can mark rules overridable"),
        (
            "rules:\n  NAME001: {environments: {prod: {enforce: warn}}}\n",
            "may not lower enforcement of NAME001",
        ),
    ],
)
def test_overlays_cannot_loosen_by_other_means(tmp_path: Path, overlay: str, words: str) -> None:
    root = _setup(tmp_path)
    (root / ".checker.yml").write_text("schema_version: 1\nname: team\nversion: '1'\n" + overlay)
    with pytest.raises(PolicyError, match=words):
        _run(root, env="prod")


def test_scopes_limit_rules_to_paths_and_stacks(tmp_path: Path) -> None:
    root = _setup(tmp_path)
    (root / "base.yaml").write_text(
        BASE.replace("IAM006: {enforce: error}", "IAM006: {scope: {paths: ['services/*']}}") % ("false", "[]")
    )
    statuses = {r.meta.id: (r.status, r.reason) for r in _run(root).evaluation.results}
    assert statuses["IAM006"] == ("skipped", "no template in the rule's scope")


def _approved(root: Path) -> Path:
    """The setup as a git checkout with an origin, and a baseline naming an
    approver; returns the approver's private key."""
    from checker.signing import generate_key

    generate_key(root.parent / "approver", "ed25519", None)
    pem = (root.parent / "approver.pub").read_text().replace("\n", "\n        ")
    base = (root / "base.yaml").read_text()
    (root / "base.yaml").write_text(
        base + f"approvers:\n  keys:\n    - owner: security@example.com\n      public_key: |\n        {pem}\n"
    )
    git = ["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "remote", "add", "origin", "https://github.com/acme/app.git"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "app"], check=True)
    return root.parent / "approver.key"


def test_adoption_baseline_ratchet(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _setup(tmp_path / "repo")
    key = str(_approved(root))
    monkeypatch.chdir(root)
    assert main(["check", "infra", "--policy", "base.yaml"]) == 1
    assert main(["baseline", "infra", "--policy", "base.yaml"]) == 0
    text = (root / ".checker-baseline.yml").read_text()
    assert text.count("fingerprint:") == 3 and "  line:" not in text
    assert main(["check", "infra", "--policy", "base.yaml"]) == 1  # not approved yet
    assert main(["approve", ".checker-baseline.yml", "--key", key, "--policy", "base.yaml"]) == 0
    assert main(["check", "infra", "--policy", "base.yaml"]) == 0
    # The same finding moved down the file keeps its fingerprint.
    (root / "infra" / "app.yaml").write_text(
        APP.replace("Resources:\n", "Resources:\n  Topic:\n    Type: AWS::SNS::Topic\n")
    )
    assert main(["check", "infra", "--policy", "base.yaml"]) == 0
    # The same problem in another file is new.
    (root / "infra" / "copy.yaml").write_text(APP)
    capsys.readouterr()
    assert main(["check", "infra", "--policy", "base.yaml", "--format", "json"]) == 1
    report = json.loads(capsys.readouterr().out)
    (iam006,) = [r for r in report["predicate"]["results"] if r["rule"] == "IAM006"]
    assert {f["location"]["path"] for f in iam006["findings"] if "waived_by" not in f} == {"infra/copy.yaml"}
    # Fixing a finding and refreshing drops it from the file; the refreshed
    # file is a new relaxation, approved again.
    (root / "infra" / "copy.yaml").unlink()
    (root / "infra" / "app.yaml").write_text(APP.replace("s3:PutObject", "s3:GetObject"))
    assert main(["baseline", "infra", "--policy", "base.yaml"]) == 0
    assert (root / ".checker-baseline.yml").read_text().count("fingerprint:") == 2
    assert main(["check", "infra", "--policy", "base.yaml"]) == 1
    assert main(["approve", ".checker-baseline.yml", "--key", key, "--policy", "base.yaml"]) == 0
    assert main(["check", "infra", "--policy", "base.yaml"]) == 0


BREAK_GLASS = "kind: checker-break-glass\nincident: INC-1\nreason: hot fix\nexpires: %s\n"


def test_break_glass_lets_a_hot_fix_through_visibly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _setup(tmp_path / "repo")
    key = str(_approved(root))
    later = (datetime.now(UTC) + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    (root / "glass.yaml").write_text(BREAK_GLASS % later)
    monkeypatch.chdir(root)
    assert main(["approve", "glass.yaml", "--key", key, "--policy", "base.yaml"]) == 0
    run = _run(root, break_glass=root / "glass.yaml", now=datetime.now(UTC))
    glass = run.statement["predicate"]["break_glass"]
    assert run.evaluation.verdict == "pass" and glass["active"] and glass["overridden"] == ["IAM006"]
    assert run.statement["predicate"]["summary"]["blocking"] == ["IAM006"]
    from checker.render.text import render

    assert render(run.statement, {}, color=False).startswith("BREAK GLASS ACTIVE: incident INC-1")


def test_break_glass_beyond_the_horizon_is_refused(tmp_path: Path) -> None:
    root = _setup(tmp_path)
    (root / "glass.yaml").write_text(BREAK_GLASS % (NOW + timedelta(hours=25)).strftime("%Y-%m-%dT%H:%M:%SZ"))
    with pytest.raises(PolicyError, match="24-hour horizon"):
        _run(root, break_glass=root / "glass.yaml")


def test_policy_explain_and_policy_test(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _setup(tmp_path)
    monkeypatch.chdir(root)
    assert main(["policy", "explain", "--policy", "base.yaml", "--env", "prod", "--format", "json"]) == 0
    explained = json.loads(capsys.readouterr().out)
    assert explained["rules"]["NAME001"]["enforce"] == "error"
    assert explained["rules"]["NAME001"]["origin"]["enforce"] == "base.yaml"
    cases = root / "cases"
    (cases / "blocked").mkdir(parents=True)
    (cases / "blocked" / "app.yaml").write_text(APP)
    (cases / "blocked" / "case.yaml").write_text(
        "expect:\n  verdict: fail\n  findings:\n    - {rule: IAM006, resource: Worker}\n"
        "    - {rule: IAM006, resource: Worker}\n"
        "    - {rule: NAME001, resource: Logs}\n"
    )
    (cases / "wrong").mkdir()
    (cases / "wrong" / "app.yaml").write_text(APP)
    (cases / "wrong" / "case.yaml").write_text("env: prod\nexpect: {verdict: pass}\n")
    assert main(["policy", "test", "cases", "--policy", "base.yaml"]) == 1
    out = capsys.readouterr().out
    assert "ok   blocked" in out and "FAIL wrong" in out
    assert "verdict fail, expected pass (blocking: IAM006, NAME001)" in out
    assert out.splitlines()[-1] == "1 passed, 1 failed"


def test_policy_test_cases_may_run_the_repository_rules_on_their_evidence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "floor.yaml").write_text(
        "schema_version: 1\nname: floor\nversion: '1'\nrules:\n  TPL001: {}\n  COV001: {params: {min_line: 75}}\n"
    )
    for name, hits in (("covered", "1"), ("uncovered", "0")):
        case = tmp_path / "cases" / name
        case.mkdir(parents=True)
        (case / "app.py").write_text("x = 1\ny = 2\n")
        (case / "lcov.info").write_text(f"SF:app.py\nDA:1,1\nDA:2,{hits}\nend_of_record\n")
        verdict = "pass" if name == "covered" else "fail"
        (case / "case.yaml").write_text(f"repository: true\nexpect: {{verdict: {verdict}}}\n")
    templates = tmp_path / "cases" / "templates-only"
    templates.mkdir()
    (templates / "t.yaml").write_text("AWSTemplateFormatVersion: '2010-09-09'\nResources: {}\n")
    (templates / "case.yaml").write_text("expect: {verdict: pass}\n")  # COV001 does not run: no evidence needed
    assert main(["policy", "test", "cases", "--policy", "floor.yaml"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "3 passed, 0 failed"


CDK_TEMPLATE = {
    "Resources": {
        "WorkerRoleDefaultPolicy3A8D4E2B": {
            "Type": "AWS::IAM::Policy",
            "Properties": {
                "PolicyName": "p",
                "Roles": [{"Ref": "WorkerRole"}],
                "PolicyDocument": {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]},
            },
            "Metadata": {"aws:cdk:path": "Orders/Worker/Role/DefaultPolicy/Resource"},
        }
    }
}


def test_findings_on_a_synthesized_template_name_the_cdk_construct(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = {
        "artifacts": {
            "Orders": {"type": "aws:cloudformation:stack", "properties": {"templateFile": "Orders.template.json"}}
        }
    }
    (tmp_path / "cdk.json").write_text('{"app": "python3 app.py"}')
    (tmp_path / "cdk.out").mkdir()
    (tmp_path / "cdk.out" / "manifest.json").write_text(json.dumps(manifest))
    (tmp_path / "cdk.out" / "Orders.template.json").write_text(json.dumps(CDK_TEMPLATE, indent=1))
    run = run_check(CheckRequest(paths=[tmp_path], root=tmp_path, environ={}, templates_only=True), load_registry())
    (result,) = [r for r in run.evaluation.results if r.meta.id == "IAM001"]
    (finding,) = result.findings
    assert finding.location.construct == "Orders/Worker/Role/DefaultPolicy/Resource"
    (reported,) = [r for r in run.statement["predicate"]["results"] if r["rule"] == "IAM001"]
    assert reported["findings"][0]["location"]["construct"] == "Orders/Worker/Role/DefaultPolicy/Resource"
    assert main(["check", str(tmp_path), "--templates-only", "--root", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "WorkerRoleDefaultPolicy3A8D4E2B (construct Orders/Worker/Role/DefaultPolicy/Resource)" in out


WILDCARD = (
    "Resources:\n  Worker:\n    Type: AWS::IAM::ManagedPolicy\n    Properties:\n      PolicyDocument:\n"
    "        Statement:\n          - {Effect: Allow, Action: '*', Resource: '*'}\n"
)


def _git_repo(root: Path, files: dict[str, str], committed: list[str]) -> None:
    for relpath, text in files.items():
        (root / relpath).parent.mkdir(parents=True, exist_ok=True)
        (root / relpath).write_text(text)
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    subprocess.run(["git", "-C", str(root), "add", *committed], check=True)
    subprocess.run(
        ["git", "-C", str(root), "-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-qm", "init"],
        check=True,
    )


def _iam001(root: Path, policies: list[Path] | None = None) -> tuple[list[str], list[dict[str, Any]]]:
    request = CheckRequest(paths=[root], root=root, environ={}, templates_only=True, policies=policies or [])
    run = run_check(request, load_registry())
    (result,) = [r for r in run.evaluation.results if r.meta.id == "IAM001"]
    return sorted(f.location.path for f in result.findings), run.statement["predicate"]["templates"]


def test_an_untracked_build_copy_is_judged_once_as_its_tracked_original(tmp_path: Path) -> None:
    _git_repo(tmp_path, {"infra/app.yaml": WILDCARD, "build/infra/app.yaml": WILDCARD}, ["infra/app.yaml"])
    paths, templates = _iam001(tmp_path)
    assert paths == ["infra/app.yaml"]
    assert [(t["path"], t.get("copies")) for t in templates] == [("infra/app.yaml", ["build/infra/app.yaml"])]


def test_a_waiver_on_a_copys_path_cannot_capture_the_originals_findings(tmp_path: Path) -> None:
    _git_repo(tmp_path, {"infra/app.yaml": WILDCARD, "scratch/app.yaml": WILDCARD}, ["infra/app.yaml"])
    baseline = tmp_path.parent / "baseline.yaml"
    baseline.write_text(
        "schema_version: 1\nname: b\nversion: '1'\nrules: {IAM001: {enforce: error}}\nwaivers:\n"
        "  - {rule: IAM001, scope: {template: 'scratch/*'}, reason: r, approved_by: x, expires: 2099-01-01}\n"
    )
    request = CheckRequest(
        paths=[tmp_path],
        root=tmp_path,
        environ={},
        templates_only=True,
        policies=[baseline],
        now=datetime(2098, 12, 1, tzinfo=UTC),
    )
    run = run_check(request, load_registry())
    (result,) = [r for r in run.evaluation.results if r.meta.id == "IAM001"]
    assert result.status == "fail" and [f.location.path for f in result.findings] == ["infra/app.yaml"]
    assert result.waived == ()  # the copy's findings are the original's: nothing of the copy's to waive


@pytest.mark.parametrize("committed", [["infra/app.yaml", "other/app.yaml"], []])
def test_identical_templates_are_not_folded_without_one_tracked_original(tmp_path: Path, committed: list[str]) -> None:
    files = {"infra/app.yaml": WILDCARD, "other/app.yaml": WILDCARD, "README.md": "x\n"}
    _git_repo(tmp_path, files, committed or ["README.md"])
    paths, templates = _iam001(tmp_path)
    assert paths == ["infra/app.yaml", "other/app.yaml"]
    assert all("copies" not in t for t in templates)


def _waived_run(root: Path, glob: str) -> Any:
    baseline = root.parent / "baseline.yaml"
    baseline.write_text(
        "schema_version: 1\nname: b\nversion: '1'\nrules: {IAM001: {enforce: error}}\nwaivers:\n"
        f"  - {{rule: IAM001, scope: {{template: '{glob}'}}, reason: r, approved_by: x, expires: 2099-01-01}}\n"
    )
    request = CheckRequest(
        paths=[root],
        root=root,
        environ={},
        templates_only=True,
        policies=[baseline],
        now=datetime(2098, 12, 1, tzinfo=UTC),
    )
    (result,) = [r for r in run_check(request, load_registry()).evaluation.results if r.meta.id == "IAM001"]
    return result


def test_a_waiver_on_the_originals_path_does_not_follow_its_content_to_a_deployed_copy(tmp_path: Path) -> None:
    # The deployed template is untracked build output; the team commits the same bytes under a waived path.
    files = {"services/legacy/app.yaml": WILDCARD, "deploy/app.yaml": WILDCARD}
    _git_repo(tmp_path, files, ["services/legacy/app.yaml"])
    result = _waived_run(tmp_path, "services/legacy/*")
    assert result.status == "fail"
    (finding,) = result.findings
    assert (finding.location.path, finding.location.copies) == ("services/legacy/app.yaml", ("deploy/app.yaml",))
    assert _waived_run(tmp_path, "*").status == "waived"  # a waiver that covers every copy still does


def test_only_a_committed_template_owns_copies_not_one_merely_staged(tmp_path: Path) -> None:
    _git_repo(
        tmp_path, {"README.md": "x\n", "services/legacy/app.yaml": WILDCARD, "deploy/app.yaml": WILDCARD}, ["README.md"]
    )
    subprocess.run(["git", "-C", str(tmp_path), "add", "services/legacy/app.yaml"], check=True)
    paths, templates = _iam001(tmp_path)
    assert paths == ["deploy/app.yaml", "services/legacy/app.yaml"]
    assert all("copies" not in t for t in templates)
