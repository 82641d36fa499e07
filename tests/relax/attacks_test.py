"""The team whose build is judged, attacking the gate with files it controls.

Each test is one way a team could try to turn a failing build into a report
that `checker verify` accepts with every pin given (the organization's
keyring, its baseline's digest, the commit, the age), on a repository in git
with an origin remote, as a CI checkout has. Controls show that what the
organization allows (its own waivers, relaxations its approvers signed)
still works.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from checker.cli import main
from checker.policy import Exclude
from checker.signing import generate_key
from checker.verify import Expectations, load_trust, verify

REPOSITORY = "github.com/acme/payments"

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
  Queue:
    Type: AWS::SQS::Queue
"""
FIXED = APP.replace("[logs:PutLogEvents, s3:PutObject]", "s3:PutObject").replace(
    'Resource: "*"', 'Resource: !Sub "arn:${AWS::Partition}:s3:::reports-${AWS::AccountId}/*"'
)
ADMIN = """\
AWSTemplateFormatVersion: "2010-09-09"
Resources:
  Admin:
    Type: AWS::IAM::ManagedPolicy
    Properties:
      PolicyDocument:
        Statement:
          - {Effect: Allow, Action: "*", Resource: "*"}
"""


def _pem(path: Path, indent: int) -> str:
    pad = " " * indent
    return "|\n" + "".join(f"{pad}{line}\n" for line in path.read_text().splitlines())


def _day(days: int) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).strftime("%Y-%m-%d")


class Repo:
    """A team's repository (``repo/``, in git, origin on a forge) beside the
    central team's folder (``org/``: baseline, approver and build keys)."""

    def __init__(self, tmp: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
        self.org = tmp / "org"
        self.dir = tmp / "repo"
        self.capsys = capsys
        self.org.mkdir()
        self.dir.mkdir()
        for name in ("security", "retired", "iam-only", "build", "team"):
            generate_key(self.org / name, "ed25519", None)
        self.write_baseline()
        (self.org / "keyring.yaml").write_text(
            f"keys:\n  - owner: payments-build\n    repositories: [{REPOSITORY}]\n"
            f"    public_key: {_pem(self.org / 'build.pub', 6)}"
        )
        self.write("infra/app.yaml", APP)
        self.git("init", "-q", "-b", "main")
        self.git("remote", "add", "origin", f"git@github.com:{REPOSITORY.split('/', 1)[1]}.git")
        self.commit("the service")
        monkeypatch.chdir(self.dir)
        monkeypatch.delenv("CHECKER_CACHE_KEY", raising=False)

    def write_baseline(self, inline: bool = False, retired_not_after: str | None = None) -> None:
        not_after = f"      not_after: {retired_not_after}\n" if retired_not_after else ""
        (self.org / "baseline.yaml").write_text(
            "schema_version: 1\nname: acme-baseline\nversion: '3.1.0'\n"
            f"settings: {{max_waiver_days: 30, inline_suppressions: {str(inline).lower()}, "
            "break_glass_max_hours: 12}\n"
            "approvers:\n  threshold: 1\n  keys:\n"
            f"    - owner: security@acme.example\n      public_key: {_pem(self.org / 'security.pub', 8)}{not_after}"
            "    - owner: former-lead@acme.example\n      revoked: true\n"
            f"      public_key: {_pem(self.org / 'retired.pub', 8)}"
            f"    - owner: iam-reviewer@acme.example\n      kinds: [waivers]\n      rules: ['IAM00[12]']\n"
            f"      public_key: {_pem(self.org / 'iam-only.pub', 8)}"
            "delegate:\n  exclude: ['tests/fixtures/*']\n"
            "rules:\n  TPL001: {}\n  IAM001: {}\n  IAM006: {}\n"
            "  NAME001: {enforce: warn, environments: {prod: {enforce: error}}}\n"
            "waivers: []\n"
        )

    def git(self, *args: str) -> str:
        base = ["git", "-C", str(self.dir), "-c", "user.name=dev", "-c", "user.email=dev@example.com"]
        return subprocess.run([*base, *args], check=True, capture_output=True, text=True).stdout.strip()

    def commit(self, message: str) -> str:
        self.git("add", "-A")
        self.git("commit", "-qm", message, "--allow-empty")
        return self.git("rev-parse", "HEAD")

    def write(self, relpath: str, text: str) -> Path:
        path = self.dir / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path

    def check(self, *extra: str) -> tuple[int, dict[str, Any]]:
        """The team's build: check and sign with the build key."""
        report = self.dir.parent / "report.dsse.json"
        report.unlink(missing_ok=True)
        code = main(
            [
                "check",
                "--policy",
                str(self.org / "baseline.yaml"),
                "--sign-key",
                str(self.org / "build.key"),
                "--format",
                "dsse",
                "--output",
                str(report),
                *extra,
            ]
        )
        self.capsys.readouterr()
        if not report.exists():
            return code, {}
        envelope = json.loads(report.read_text())
        return code, json.loads(base64.b64decode(envelope["payload"]))["predicate"]

    def verify(self, *extra: str) -> tuple[int, str]:
        """The release side, with every pin."""
        code = main(
            [
                "verify",
                str(self.dir.parent / "report.dsse.json"),
                "--trust",
                str(self.org / "keyring.yaml"),
                "--policy",
                str(self.org / "baseline.yaml"),
                "--commit",
                self.git("rev-parse", "HEAD"),
                "--max-age",
                "1h",
                *extra,
            ]
        )
        return code, self.capsys.readouterr().out

    def approve(self, relpath: str, key: str = "security", *extra: str) -> int:
        code = main(
            [
                "approve",
                relpath,
                "--key",
                str(self.org / f"{key}.key"),
                "--policy",
                str(self.org / "baseline.yaml"),
                *extra,
            ]
        )
        self.capsys.readouterr()
        return code


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Repo:
    return Repo(tmp_path, monkeypatch, capsys)


def _open(predicate: dict[str, Any], rule: str) -> set[str]:
    (result,) = [r for r in predicate["results"] if r["rule"] == rule]
    return {f["element"] for f in result["findings"] if "waived_by" not in f}


def _codes(out: str) -> set[str]:
    return {line.rsplit("[", 1)[1].rstrip("]") for line in out.splitlines() if line.startswith("rejected:")}


def test_the_failing_build_fails_and_its_report_is_refused(repo: Repo) -> None:
    code, predicate = repo.check()
    assert code == 1 and _open(predicate, "IAM006") == {"logs:PutLogEvents on *", "s3:PutObject on *"}
    assert predicate["source"]["repository"] == REPOSITORY and not predicate["source"]["dirty"]
    assert repo.verify() == (1, "rejected: the report's verdict is fail (IAM006) [verdict-fail]\n")


# 1. An adoption baseline with a free-text approver.


def test_an_adoption_baseline_counts_only_once_an_approver_signed_it(repo: Repo) -> None:
    assert main(["baseline", "--policy", str(repo.org / "baseline.yaml"), "--days", "20"]) == 0
    repo.commit("accept today's findings")
    code, predicate = repo.check()
    (relaxation,) = predicate["relaxations"]
    assert code == 1 and relaxation["status"] == "refused"
    assert relaxation["why"].startswith("not approved: no .checker-baseline.yml.approval.dsse.json")
    assert {w["kind"] for w in predicate["waivers"]["ignored"]} == {"baseline"}
    assert repo.verify()[0] == 1
    # Control: signed by the organization's approver, it applies, and the
    # report names the key's owner, not anything the team typed.
    assert repo.approve(".checker-baseline.yml") == 0
    repo.commit("approval")
    code, predicate = repo.check()
    assert code == 0 and predicate["relaxations"][0]["status"] == "approved"
    assert predicate["waivers"]["applied"][0]["approved_by"].startswith("security@acme.example (")
    code, out = repo.verify()
    assert code == 0 and out.startswith("verified:")


def test_a_typed_approver_in_an_adoption_baseline_is_an_error(repo: Repo) -> None:
    repo.write(
        ".checker-baseline.yml",
        f"kind: checker-baseline\napproved_by: security@acme.example\nexpires: '{_day(10)}'\nentries: []\n",
    )
    repo.commit("baseline")
    assert repo.check()[0] == 2


@pytest.mark.parametrize(
    ("key", "why"),
    [
        ("retired", "the approver's key is revoked"),
        ("iam-only", "the approver may not approve adoption-baseline"),
        ("team", "not a key of the baseline's approvers"),
    ],
)
def test_signatures_that_do_not_count(repo: Repo, key: str, why: str) -> None:
    assert main(["baseline", "--policy", str(repo.org / "baseline.yaml"), "--days", "20"]) == 0
    assert repo.approve(".checker-baseline.yml", key) == 0
    repo.commit("baseline, approved by the wrong key")
    code, predicate = repo.check()
    (relaxation,) = predicate["relaxations"]
    assert code == 1 and relaxation["status"] == "refused" and why in relaxation["why"]
    assert [a["valid"] for a in relaxation["approvals"]] == [False]


# 2. Waivers in the team overlay; a waiver without a scope.


def test_an_overlay_cannot_waive(repo: Repo) -> None:
    repo.write(
        ".checker.yml",
        "schema_version: 1\nname: team\nversion: '1'\nrules: {}\nwaivers:\n"
        f"  - {{rule: IAM006, reason: r, approved_by: me, expires: '{_day(5)}'}}\n",
    )
    repo.commit("overlay")
    code = main(["check", "--policy", str(repo.org / "baseline.yaml")])
    err = repo.capsys.readouterr().err
    assert code == 2 and ".checker.yml:5: waivers: only the baseline sets waivers" in err


WAIVERS = f"""\
kind: checker-waivers
waivers:
  - rule: IAM006
    scope: {{template: infra/app.yaml, resource: Worker, element: "logs:PutLogEvents on *"}}
    reason: log groups are created per tenant at run time
    ticket: PAY-311
    expires: '{_day(20)}'
"""


def test_a_team_waiver_must_be_scoped(repo: Repo) -> None:
    repo.write(
        ".checker-waivers.yml",
        WAIVERS.replace("    scope: {template: infra/app.yaml, resource: Worker, ", "    scope: {"),
    )
    repo.commit("waive the rule everywhere")
    code = main(["check", "--policy", str(repo.org / "baseline.yaml")])
    assert code == 2 and "a team waiver must name the template and/or resource" in repo.capsys.readouterr().err


def test_an_approved_waiver_set_waives_exactly_what_it_names(repo: Repo) -> None:
    both = WAIVERS + WAIVERS.split("waivers:\n", 1)[1].replace("logs:PutLogEvents", "s3:PutObject")
    repo.write(".checker-waivers.yml", both)
    assert repo.approve(".checker-waivers.yml", "iam-only") == 0  # may approve IAM001/IAM002 only
    repo.commit("waivers, approved by someone who may not")
    code, predicate = repo.check()
    assert code == 1 and "may not approve relaxations of IAM006" in predicate["relaxations"][0]["why"]
    assert repo.approve(".checker-waivers.yml") == 0
    repo.commit("approved")
    code, predicate = repo.check()
    assert code == 0 and _open(predicate, "IAM006") == set()
    assert repo.verify()[0] == 0


@pytest.mark.parametrize("change", ["scope", "file", "repository"])
def test_an_approval_does_not_travel(repo: Repo, change: str) -> None:
    repo.write(".checker-waivers.yml", WAIVERS)
    assert repo.approve(".checker-waivers.yml") == 0
    repo.commit("approved")
    if change == "scope":  # widened after approval
        repo.write(".checker-waivers.yml", WAIVERS.replace("resource: Worker", "resource: '*'"))
    elif change == "file":  # the approval copied beside another waiver set
        shutil.move(repo.dir / ".checker-waivers.yml", repo.dir / "other-waivers.yml")
        shutil.move(
            repo.dir / ".checker-waivers.yml.approval.dsse.json", repo.dir / "other-waivers.yml.approval.dsse.json"
        )
    else:  # the same files in another repository
        repo.git("remote", "set-url", "origin", "https://github.com/acme/ledger.git")
    repo.commit("reuse it")
    _code, predicate = repo.check(*(["--waivers", "other-waivers.yml"] if change == "file" else []))
    (relaxation,) = predicate["relaxations"]
    expected = {"scope": "digest", "file": "path", "repository": "repository"}[change]
    assert relaxation["status"] == "refused" and f"differs in {expected}" in relaxation["why"]
    assert _open(predicate, "IAM006") == {"logs:PutLogEvents on *", "s3:PutObject on *"}


# 3. Excluding templates.


def test_excluding_is_only_what_the_baseline_delegates_and_is_recorded(repo: Repo) -> None:
    repo.write(".checker.yml", "schema_version: 1\nname: team\nversion: '1'\nrules: {}\nexclude: ['infra/*']\n")
    repo.commit("hide the app")
    assert repo.check()[0] == 2
    (repo.dir / ".checker.yml").unlink()
    repo.commit("no overlay")
    assert repo.check("--exclude", "infra/*")[0] == 2
    assert repo.check("--exclude", "*")[0] == 2
    repo.write("tests/fixtures/admin.yaml", ADMIN)
    repo.commit("a fixture")
    code, predicate = repo.check("--exclude", "tests/fixtures/*")
    assert code == 1 and predicate["inputs"]["excluded"][-1] == {
        "glob": "tests/fixtures/*",
        "source": "--exclude",
        "within": ["tests/fixtures/*"],
    }
    assert {"path": "tests/fixtures/admin.yaml", "reason": "excluded by --exclude: tests/fixtures/*"} in predicate[
        "skipped_paths"
    ]


def test_a_team_glob_excludes_only_within_the_delegated_ones() -> None:
    # fnmatch("fixture*", "fixture?") holds, so the glob is accepted, but it
    # excludes only what the delegated glob also matches.
    bounded = Exclude("fixture*", "--exclude", ("fixture?",))
    assert bounded.matches("fixtures/t.yaml") and not bounded.matches("fixtures-prod/t.yaml")


# 5. The cache.


def test_a_cache_the_team_can_write_decides_nothing(repo: Repo, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = repo.dir / ".checker-cache"
    # Without the CI's secret the cache is not used at all.
    code, predicate = repo.check("--cache", str(cache))
    assert code == 1 and not cache.exists()
    assert predicate["inputs"]["cache"] == {
        "requested": True,
        "authenticated": False,
        "template_hits": 0,
        "scan_hits": 0,
    }
    monkeypatch.setenv("CHECKER_CACHE_KEY", "the CI's secret, not the team's")
    assert repo.check("--cache", str(cache))[0] == 1
    entries = list(cache.rglob("*.json"))
    assert entries
    clean = {
        "summary": ["infra/app.yaml", "0" * 64, "cloudformation", None, "ok", 2],
        "findings": {},
        "errors": {},
        "in_scope": [],
    }
    for entry in entries:  # rewritten as a team would: plain outcomes, or a MAC under another key
        stored = json.loads(entry.read_text())
        entry.write_text(json.dumps({"mac": stored["mac"], "body": json.dumps(clean)}))
    code, predicate = repo.check("--cache", str(cache))
    assert code == 1 and predicate["inputs"]["cache"]["template_hits"] == 0
    for entry in entries:
        entry.write_text(json.dumps(clean))
    assert repo.check("--cache", str(cache))[0] == 1
    # A release side that wants every result from this run refuses the cache.
    repo.write("infra/app.yaml", FIXED)
    repo.commit("fixed")
    assert repo.check("--cache", str(cache))[0] == 0
    assert repo.check("--cache", str(cache))[1]["inputs"]["cache"]["template_hits"] == 1
    code, out = repo.verify("--reject-cached")
    assert code == 1 and "[cached-results]" in out


# 7. Inline waivers.

INLINE = APP.replace(
    "  Queue:\n",
    "  Queue:\n    Metadata:\n      checker:\n        waivers:\n"
    f"          - {{rule: IAM006, element: 'logs:PutLogEvents on *', reason: r, expires: '{_day(10)}'}}\n",
)


def test_an_inline_waiver_covers_only_its_own_resource_and_only_when_approved(repo: Repo) -> None:
    repo.write_baseline(inline=True)
    # It may not widen its scope: that is an input error.
    repo.write("infra/app.yaml", INLINE.replace("reason: r,", "reason: r, scope: {resource: '*'},"))
    repo.commit("inline waiver with a scope")
    assert repo.check()[0] == 2
    # On the Queue it does not reach the Worker's finding, approved or not.
    repo.write("infra/app.yaml", INLINE)
    assert repo.approve("infra/app.yaml") == 0
    repo.commit("inline waiver on another resource")
    code, predicate = repo.check()
    assert code == 1 and predicate["relaxations"][0]["status"] == "approved"
    assert [w["scope"]["resource"] for w in predicate["waivers"]["unused"]] == ["Queue"]
    # Written on the Worker, unapproved, it is refused; approved, it applies.
    moved = APP.replace(
        "    Type: AWS::IAM::Role\n",
        "    Type: AWS::IAM::Role\n    Metadata:\n      checker:\n        waivers:\n"
        f"          - {{rule: IAM006, element: 'logs:PutLogEvents on *', reason: r, expires: '{_day(10)}'}}\n",
    )
    repo.write("infra/app.yaml", moved)
    repo.commit("moved")
    code, predicate = repo.check()
    assert predicate["relaxations"][0]["why"].startswith("the approval is for something else (differs in digest)")
    assert repo.approve("infra/app.yaml") == 0
    repo.commit("approved again")
    code, predicate = repo.check()
    assert _open(predicate, "IAM006") == {"s3:PutObject on *"}


def test_inline_waivers_are_ignored_when_the_baseline_does_not_allow_them(repo: Repo) -> None:
    repo.write("infra/app.yaml", INLINE)
    assert repo.approve("infra/app.yaml") == 0
    repo.commit("inline")
    code, predicate = repo.check()
    assert code == 1 and "does not allow inline suppressions" in predicate["relaxations"][0]["why"]


# 8. A modified working tree.


def test_a_report_of_a_modified_tree_does_not_verify_for_its_commit(repo: Repo) -> None:
    repo.write("infra/app.yaml", FIXED)  # fixed in the build only, never committed
    code, predicate = repo.check()
    assert code == 0 and predicate["source"]["dirty_reasons"] == ["modified: infra/app.yaml"]
    code, out = repo.verify()
    assert code == 1 and _codes(out) == {"dirty"}
    assert repo.verify("--allow-dirty")[0] == 0


@pytest.mark.parametrize("ignored", [False, True])
def test_an_uncommitted_overlay_or_approval_makes_the_tree_dirty(repo: Repo, ignored: bool) -> None:
    if ignored:
        repo.write(".gitignore", ".checker*\n")
        repo.commit("ignore checker files")
    repo.write(".checker.yml", "schema_version: 1\nname: team\nversion: '1'\nrules: {}\n")
    repo.write(".checker-waivers.yml", WAIVERS)
    assert repo.approve(".checker-waivers.yml") == 0
    _code, predicate = repo.check()
    assert set(predicate["source"]["dirty_reasons"]) == {
        "untracked policy input: .checker.yml",
        "untracked policy input: .checker-waivers.yml",
        "untracked policy input: .checker-waivers.yml.approval.dsse.json",
    }
    assert "dirty" in _codes(repo.verify()[1])


def test_build_output_is_listed_not_dirty(repo: Repo) -> None:
    repo.write("cdk.out/Stack.template.json", json.dumps({"Resources": {"Queue": {"Type": "AWS::SQS::Queue"}}}))
    repo.write("infra/app.yaml", FIXED)
    repo.commit("fixed")
    repo.write(".gitignore", "cdk.out/\n")
    repo.git("rm", "-rq", "--cached", "cdk.out")
    repo.commit("cdk.out is build output")
    code, predicate = repo.check()
    assert code == 0 and not predicate["source"]["dirty"]
    assert [i["path"] for i in predicate["source"]["untracked_inputs"]] == ["cdk.out/Stack.template.json"]


# 9. The environment.


def test_the_release_side_can_require_the_environment(repo: Repo) -> None:
    repo.write("infra/app.yaml", FIXED)
    repo.commit("fixed")
    assert repo.check()[0] == 0
    code, out = repo.verify("--env", "prod")
    assert code == 1 and _codes(out) == {"env-mismatch"}


# Break-glass.

GLASS = "kind: checker-break-glass\nincident: INC-7\nreason: roll back\nexpires: '%s'\n"


def test_break_glass_needs_an_approval_for_this_very_commit(repo: Repo) -> None:
    later = (datetime.now(UTC) + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    (repo.dir.parent / "glass.yaml").write_text(GLASS % later)
    glass = str(repo.dir.parent / "glass.yaml")
    code, predicate = repo.check("--break-glass", glass)
    assert code == 1 and not predicate["break_glass"]["active"]
    assert predicate["break_glass"]["refused"].startswith("not approved")
    from checker.render.markdown import render as markdown
    from checker.render.text import render as text

    assert text({"predicate": predicate}, {}, color=False).startswith("BREAK GLASS NOT APPLIED: not approved: no ")
    statement = {"predicate": predicate, "subject": [{"name": "app", "digest": {"sha256": "0" * 64}}]}
    assert "**Break glass (not applied: not approved: no " in markdown(statement, {})
    assert repo.approve(glass, "security", "--root", str(repo.dir)) == 0
    code, predicate = repo.check("--break-glass", glass)
    assert code == 0 and predicate["break_glass"]["active"]
    assert predicate["break_glass"]["approved_by"].startswith("security@acme.example (")
    assert _codes(repo.verify()[1]) == {"break-glass"}
    assert repo.verify("--allow-break-glass")[0] == 0
    # The approval named the commit: the next commit needs its own.
    repo.write("infra/more.yaml", ADMIN)
    repo.commit("and something else")
    code, predicate = repo.check("--break-glass", glass)
    assert code == 1 and "differs in commit" in predicate["break_glass"]["refused"]


# Without git, nothing from the team's side can be bound to a repository.


def test_outside_git_relaxations_are_refused_and_verify_refuses_the_report(
    repo: Repo, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo.write(".checker-waivers.yml", WAIVERS)
    assert repo.approve(".checker-waivers.yml") == 0
    shutil.rmtree(repo.dir / ".git")
    _code, predicate = repo.check()
    assert predicate["vcs"] == "none" and predicate["source"] is None
    assert "repository is unknown" in predicate["relaxations"][0]["why"]
    code = main(["verify", str(repo.dir.parent / "report.dsse.json"), "--trust", str(repo.org / "keyring.yaml")])
    assert code == 1 and "[no-git]" in repo.capsys.readouterr().out


# verify decides each approval again, at its own time.


def test_verify_rechecks_approvals_at_verification_time(repo: Repo) -> None:
    repo.write_baseline(retired_not_after=(datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ"))
    repo.write(".checker-waivers.yml", WAIVERS.replace(', element: "logs:PutLogEvents on *"', ""))
    assert repo.approve(".checker-waivers.yml") == 0
    repo.commit("waive the worker")
    code, _predicate = repo.check()
    assert code == 0
    envelope = (repo.dir.parent / "report.dsse.json").read_bytes()
    expect = Expectations(trust=load_trust(repo.org / "keyring.yaml"), now=datetime.now(UTC) + timedelta(days=2))
    result = verify(envelope, expect)
    assert {r.code for r in result.reasons} == {"relaxation-unapproved"}
    assert "the approver's key has expired" in result.reasons[0].message
    assert verify(envelope, Expectations(trust=load_trust(repo.org / "keyring.yaml"))).accepted


def test_the_text_output_says_what_was_not_applied_and_the_full_digest(repo: Repo) -> None:
    assert main(["baseline", "--policy", str(repo.org / "baseline.yaml"), "--days", "20"]) == 0
    repo.capsys.readouterr()
    assert main(["check", "--policy", str(repo.org / "baseline.yaml")]) == 1
    out = repo.capsys.readouterr().out
    assert "note: adoption-baseline .checker-baseline.yml NOT APPLIED: not approved: no " in out
    digest = main(["policy", "digest", str(repo.org / "baseline.yaml")])
    assert digest == 0
    full = repo.capsys.readouterr().out.strip()
    assert out.rstrip().endswith(f"({full})") and len(full) == len("sha256:") + 64


# Found by trying: git can be told to look away from a changed working tree.


@pytest.mark.parametrize(
    "hide",
    [
        ["update-index", "--assume-unchanged", "infra/app.yaml"],
        ["update-index", "--skip-worktree", "infra/app.yaml"],
    ],
)
def test_index_flags_do_not_hide_a_changed_template(repo: Repo, hide: list[str]) -> None:
    repo.git(*hide)
    repo.write("infra/app.yaml", FIXED)
    assert repo.git("status", "--porcelain") == ""  # git itself no longer sees the change
    code, predicate = repo.check()
    assert code == 0 and predicate["source"]["dirty_reasons"] == ["modified: infra/app.yaml"]
    assert "dirty" in _codes(repo.verify()[1])


def test_a_template_missing_from_the_checkout_makes_it_dirty(repo: Repo) -> None:
    repo.write("infra/other.yaml", FIXED)
    repo.commit("another template")
    repo.git("update-index", "--skip-worktree", "infra/app.yaml")
    (repo.dir / "infra" / "app.yaml").unlink()  # as a sparse checkout leaves it
    code, predicate = repo.check()
    assert code == 0 and predicate["source"]["dirty_reasons"] == ["modified: infra/app.yaml"]


def test_a_clean_filter_that_shows_git_the_committed_content_makes_it_dirty(repo: Repo) -> None:
    (repo.dir.parent / "bad.yaml").write_text(APP)
    (repo.dir / ".git" / "info" / "attributes").write_text("*.yaml filter=same\n")
    repo.git("config", "filter.same.clean", f"sh -c 'cat >/dev/null; cat {repo.dir.parent / 'bad.yaml'}'")
    repo.write("infra/app.yaml", FIXED)
    repo.git("add", "-A")
    assert repo.git("status", "--porcelain") == ""  # git sees the committed content
    code, predicate = repo.check()
    assert code == 0 and predicate["source"]["dirty"]
    assert predicate["source"]["dirty_reasons"][0].startswith("git filter filter.same.clean is configured")


def test_a_submodule_at_another_commit_makes_it_dirty_whatever_gitmodules_says(repo: Repo) -> None:
    sub = repo.dir.parent / "infra-src"
    sub.mkdir()
    base = ["git", "-C", str(sub), "-c", "user.name=dev", "-c", "user.email=dev@example.com"]
    subprocess.run([*base, "init", "-q", "-b", "main"], check=True)
    (sub / "app.yaml").write_text(APP)
    subprocess.run([*base, "add", "-A"], check=True)
    subprocess.run([*base, "commit", "-qm", "bad"], check=True)
    (sub / "app.yaml").write_text(FIXED)
    subprocess.run([*base, "commit", "-qam", "good"], check=True)
    (repo.dir / "infra" / "app.yaml").unlink()
    repo.git("-c", "protocol.file.allow=always", "submodule", "add", "-q", str(sub), "stacks")
    subprocess.run(["git", "-C", str(repo.dir / "stacks"), "checkout", "-q", "HEAD~1"], check=True)
    repo.git("config", "-f", ".gitmodules", "submodule.stacks.ignore", "all")
    repo.commit("the stacks, at the bad commit")
    subprocess.run(["git", "-C", str(repo.dir / "stacks"), "checkout", "-q", "main"], check=True)
    assert repo.git("status", "--porcelain") == ""
    code, predicate = repo.check()
    assert code == 0 and "modified: stacks" in predicate["source"]["dirty_reasons"]


def test_git_variables_of_the_environment_do_not_choose_what_git_reads(
    repo: Repo, monkeypatch: pytest.MonkeyPatch
) -> None:
    clean = repo.dir.parent / "clean-index"
    subprocess.run(["git", "-C", str(repo.dir), "read-tree", "HEAD"], check=True, env={"GIT_INDEX_FILE": str(clean)})
    repo.write("infra/app.yaml", FIXED)
    monkeypatch.setenv("GIT_INDEX_FILE", str(clean))
    monkeypatch.setenv("GIT_DIR", str(repo.dir.parent / "elsewhere"))
    code, predicate = repo.check()
    assert code == 0 and predicate["source"]["dirty_reasons"] == ["modified: infra/app.yaml"]


QUIET_RULE = """\
import checker.engine
import checker.runner
from checker.ruleapi import RuleMeta

# Importing this "rule" patches the engine: every Python file in a rules
# folder runs inside the check, next to the signing key.
checker.runner.judge_template = lambda t, active, env: checker.engine.judge_template(t, [], env)


class Quiet:
    meta = RuleMeta(
        id="TEAM001", title="nothing", severity="low", tags=("template",), rationale="r", remediation="r",
        views=("resources",),
    )

    def evaluate(self, facts, params):
        return []


RULE = Quiet()
"""


def test_a_report_made_with_a_rules_folder_is_refused_unless_the_release_side_allows_it(
    repo: Repo, monkeypatch: pytest.MonkeyPatch
) -> None:
    import checker.runner

    # The rule patches checker in this very process: put it back afterwards.
    monkeypatch.setattr(checker.runner, "judge_template", checker.runner.judge_template)
    rules = repo.dir.parent / "team-rules"
    rules.mkdir()
    (rules / "quiet.py").write_text(QUIET_RULE)
    code, predicate = repo.check("--rules", str(rules))
    assert code == 0 and predicate["inputs"]["rule_folders"][0]["path"] == str(rules)  # the patch worked
    code, out = repo.verify()
    assert code == 1 and _codes(out) == {"rule-folder"}
    assert _codes(repo.verify("--allow-rule-folders", "--require-builtin-rules")[1]) == {"rule-source"}


def test_approvals_count_only_in_reports_from_a_key_limited_to_repositories(repo: Repo) -> None:
    repo.write(".checker-waivers.yml", WAIVERS.replace(', element: "logs:PutLogEvents on *"', ""))
    assert repo.approve(".checker-waivers.yml") == 0
    repo.commit("approved waivers")
    assert repo.check()[0] == 0
    assert repo.verify()[0] == 0
    # A keyring that lets the build key sign for any repository cannot tell
    # whether the repository the approval names is the one that was built.
    (repo.org / "keyring.yaml").write_text(
        f"keys:\n  - owner: shared-build\n    public_key: {_pem(repo.org / 'build.pub', 6)}"
    )
    code, out = repo.verify()
    assert code == 1 and _codes(out) == {"relaxation-unbound"}


def test_a_baseline_with_a_bare_off_still_verifies(repo: Repo) -> None:
    text = (repo.org / "baseline.yaml").read_text().replace("NAME001: {enforce: warn,", "NAME001: {enforce: off,")
    (repo.org / "baseline.yaml").write_text(text)
    repo.write("infra/app.yaml", FIXED)
    repo.commit("fixed")
    assert repo.check()[0] == 0
    assert repo.verify()[0] == 0


# Found by trying again.


def test_a_replaced_commit_object_does_not_stand_in_for_the_commit(repo: Repo) -> None:
    original = repo.git("rev-parse", "HEAD")
    repo.write("infra/app.yaml", FIXED)
    repo.git("add", "-A")
    tree = repo.git("write-tree")
    replacement = repo.git("commit-tree", tree, "-p", original, "-m", "looks like HEAD")
    repo.git("replace", original, replacement)
    assert repo.git("status", "--porcelain") == ""
    code, predicate = repo.check()
    assert code == 0 and predicate["source"]["commit"] == original
    assert "modified: infra/app.yaml" in predicate["source"]["dirty_reasons"]


def test_git_pointed_at_another_work_tree_makes_it_dirty(repo: Repo) -> None:
    pristine = repo.dir.parent / "pristine"
    shutil.copytree(repo.dir, pristine, ignore=shutil.ignore_patterns(".git"))
    repo.git("config", "core.worktree", str(pristine))
    repo.write("infra/app.yaml", FIXED)
    code, predicate = repo.check()
    assert code == 0 and any("work tree is" in r for r in predicate["source"]["dirty_reasons"])


def test_a_key_for_a_whole_owner_needs_the_repository_pinned_for_approvals(repo: Repo) -> None:
    repo.write(".checker-waivers.yml", WAIVERS.replace(', element: "logs:PutLogEvents on *"', ""))
    assert repo.approve(".checker-waivers.yml") == 0
    repo.commit("approved waivers")
    assert repo.check()[0] == 0
    (repo.org / "keyring.yaml").write_text(
        f"keys:\n  - owner: acme-builds\n    repositories: [github.com/acme/*]\n"
        f"    public_key: {_pem(repo.org / 'build.pub', 6)}"
    )
    assert _codes(repo.verify()[1]) == {"relaxation-unbound"}
    assert repo.verify("--repository", f"https://{REPOSITORY}.git")[0] == 0
    code, out = repo.verify("--repository", "github.com/acme/ledger")
    assert code == 1 and _codes(out) == {"repository-mismatch"}


def test_an_adoption_baseline_entry_matches_only_what_it_shows(repo: Repo) -> None:
    assert main(["baseline", "--policy", str(repo.org / "baseline.yaml"), "--days", "20"]) == 0
    text = (repo.dir / ".checker-baseline.yml").read_text()
    # The entry keeps its fingerprint but shows another resource to the approver.
    repo.write(".checker-baseline.yml", text.replace("resource: Worker", "resource: LegacyRole", 1))
    repo.commit("baseline")
    code = main(["check", "--policy", str(repo.org / "baseline.yaml")])
    err = repo.capsys.readouterr().err
    assert code == 2 and "fingerprint: the fingerprint is not that of the entry's rule, path, resource" in err


def test_an_inline_approval_covers_the_resource_as_it_was_approved(repo: Repo) -> None:
    repo.write_baseline(inline=True)
    guarded = APP.replace(
        "    Type: AWS::IAM::Role\n",
        "    Type: AWS::IAM::Role\n    Metadata:\n      checker:\n        waivers:\n"
        f"          - {{rule: IAM006, element: 'logs:PutLogEvents on *', reason: r, expires: '{_day(10)}'}}\n",
    )
    repo.write("infra/app.yaml", guarded)
    assert repo.approve("infra/app.yaml") == 0
    repo.commit("approved inline waiver")
    assert repo.check()[1]["relaxations"][0]["status"] == "approved"
    # Another resource may change; the one the waiver sits on may not.
    repo.write("infra/app.yaml", guarded.replace("Type: AWS::SQS::Queue", "Type: AWS::SNS::Topic"))
    repo.commit("unrelated change")
    assert repo.check()[1]["relaxations"][0]["status"] == "approved"
    repo.write("infra/app.yaml", guarded.replace("lambda.amazonaws.com", "ec2.amazonaws.com"))
    repo.commit("the role now trusts EC2")
    relaxation = repo.check()[1]["relaxations"][0]
    assert relaxation["status"] == "refused" and "differs in digest" in relaxation["why"]


@pytest.mark.parametrize(
    "scope",
    ["{template: '*'}", "{resource: '*'}", "{template: '', resource: '**'}", "{template: '[!x]*'}", "{}"],
)
def test_a_team_waiver_of_wildcards_only_is_refused(repo: Repo, scope: str) -> None:
    repo.write(
        ".checker-waivers.yml",
        f"kind: checker-waivers\nwaivers:\n  - {{rule: IAM006, scope: {scope}, reason: r, expires: '{_day(5)}'}}\n",
    )
    repo.commit("waive everything")
    code = main(["check", "--policy", str(repo.org / "baseline.yaml")])
    assert code == 2 and "not only wildcards" in repo.capsys.readouterr().err


def test_a_waiver_set_from_outside_the_checkout_is_refused(repo: Repo) -> None:
    outside = repo.dir.parent / "waivers.yml"
    outside.write_text(WAIVERS)
    assert repo.check("--waivers", str(outside))[0] == 2
    (repo.dir / "linked.yml").symlink_to(outside)
    repo.commit("a link to waivers elsewhere")
    assert repo.check("--waivers", "linked.yml")[0] == 2


def test_a_team_waiver_cannot_borrow_the_id_of_the_baselines(repo: Repo) -> None:
    baseline = (
        (repo.org / "baseline.yaml")
        .read_text()
        .replace(
            "waivers: []\n",
            "waivers:\n  - {id: SEC-ORG-7, rule: NAME001, scope: {resource: Queue}, reason: r, approved_by: sec, "
            f"expires: '{_day(5)}'}}\n",
        )
    )
    (repo.org / "baseline.yaml").write_text(baseline)
    repo.write(".checker-waivers.yml", WAIVERS.replace("  - rule: IAM006\n", "  - id: SEC-ORG-7\n    rule: IAM006\n"))
    repo.commit("borrowed id")
    code = main(["check", "--policy", str(repo.org / "baseline.yaml")])
    assert code == 2 and "waiver id SEC-ORG-7 is already used" in repo.capsys.readouterr().err


def test_approve_shows_the_approver_every_waiver_with_its_whole_scope(repo: Repo) -> None:
    repo.write(".checker-waivers.yml", WAIVERS)
    code = main(
        [
            "approve",
            ".checker-waivers.yml",
            "--key",
            str(repo.org / "security.key"),
            "--policy",
            str(repo.org / "baseline.yaml"),
        ]
    )
    err = repo.capsys.readouterr().err
    assert code == 0 and f"for {REPOSITORY}:" in err
    assert "  IAM006 on template 'infra/app.yaml', resource 'Worker', element 'logs:PutLogEvents on *' until " in err


def test_the_release_side_can_pin_what_the_check_covered(repo: Repo) -> None:
    repo.write("docs/notes.md", "nothing to see\n")
    repo.commit("docs")
    code, predicate = repo.check("docs")  # the template with findings is elsewhere
    assert code == 0 and predicate["inputs"]["paths"] == ["docs"]
    code, out = repo.verify("--checked-path", ".")
    assert code == 1 and _codes(out) == {"paths-mismatch"}
    assert repo.verify("--checked-path", "docs/")[0] == 0


def test_a_template_taken_out_of_the_index_is_still_judged(repo: Repo) -> None:
    repo.git("rm", "-q", "--cached", "infra/app.yaml")  # still in HEAD and on disk
    (repo.dir / ".git" / "info" / "exclude").write_text("infra/app.yaml\n")
    repo.write("README.md", "# orders\n")
    repo.git("add", "README.md")
    code, predicate = repo.check()
    assert code == 1 and "infra/app.yaml" in [t["path"] for t in predicate["templates"]]
