"""Facts about where a run happened: the git checkout and the CI system.

These are read at the edge (subprocess, environment) and handed to the pure
report builder as plain data.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class SourceFacts:
    repository: str | None
    commit: str
    branch: str | None
    dirty: bool


def git(cwd: Path, *args: str, timeout: float = 30) -> str | None:
    """What a git command prints, as it prints it; None when git is missing,
    fails or takes longer than ``timeout`` seconds."""
    import subprocess  # only runs that read git pay for it

    try:
        done = subprocess.run(
            ["git", "-C", str(cwd), *args], capture_output=True, text=True, timeout=timeout, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


def _git(root: Path, *args: str) -> str | None:
    out = git(root, *args, timeout=10)
    return None if out is None else out.strip()


_CREDENTIALS = re.compile(r"(?<=://)[^/@]+@")


def git_facts(root: Path) -> SourceFacts | None:
    """Commit, branch, dirty flag and remote of the checkout at ``root``; None outside git."""
    commit = _git(root, "rev-parse", "HEAD")
    if not commit:
        return None
    branch = _git(root, "rev-parse", "--abbrev-ref", "HEAD")
    status = _git(root, "status", "--porcelain", "--untracked-files=no")
    remote = _git(root, "config", "--get", "remote.origin.url")
    return SourceFacts(
        repository=_CREDENTIALS.sub("", remote) if remote else None,
        commit=commit,
        branch=None if branch in (None, "HEAD") else branch,
        dirty=bool(status),
    )


def ci_facts(env: Mapping[str, str]) -> dict[str, str] | None:
    """The CI system, run URL, actor and branch, from the variables each CI sets."""
    if env.get("GITHUB_ACTIONS") == "true":
        server = env.get("GITHUB_SERVER_URL", "https://github.com")
        run_url = f"{server}/{env.get('GITHUB_REPOSITORY', '')}/actions/runs/{env.get('GITHUB_RUN_ID', '')}"
        facts = {
            "system": "github-actions",
            "run_url": run_url,
            "actor": env.get("GITHUB_ACTOR"),
            "branch": env.get("GITHUB_HEAD_REF") or env.get("GITHUB_REF_NAME"),
        }
    elif env.get("GITLAB_CI") == "true":
        facts = {
            "system": "gitlab",
            "run_url": env.get("CI_JOB_URL") or env.get("CI_PIPELINE_URL"),
            "actor": env.get("GITLAB_USER_LOGIN"),
            "branch": env.get("CI_COMMIT_REF_NAME"),
        }
    elif env.get("CODEBUILD_BUILD_ID"):
        facts = {
            "system": "codebuild",
            "run_url": env.get("CODEBUILD_BUILD_URL") or env.get("CODEBUILD_BUILD_ARN"),
            "actor": env.get("CODEBUILD_INITIATOR"),
            "branch": env.get("CODEBUILD_WEBHOOK_HEAD_REF") or env.get("CODEBUILD_SOURCE_VERSION"),
        }
    elif env.get("JENKINS_URL"):
        facts = {
            "system": "jenkins",
            "run_url": env.get("BUILD_URL"),
            "actor": env.get("BUILD_USER_ID") or env.get("CHANGE_AUTHOR"),
            "branch": env.get("BRANCH_NAME") or env.get("GIT_BRANCH"),
        }
    else:
        return None
    return {k: v for k, v in facts.items() if v}


def base_ref_from(environ: Mapping[str, str]) -> str | None:
    """The branch a pull or merge request will merge into, as a git ref."""
    if environ.get("GITHUB_BASE_REF"):
        return f"origin/{environ['GITHUB_BASE_REF']}"
    if environ.get("CI_MERGE_REQUEST_DIFF_BASE_SHA"):
        return environ["CI_MERGE_REQUEST_DIFF_BASE_SHA"]
    if environ.get("CHANGE_TARGET"):  # Jenkins multibranch pull requests
        return f"origin/{environ['CHANGE_TARGET']}"
    webhook = environ.get("CODEBUILD_WEBHOOK_BASE_REF", "")
    if webhook.startswith("refs/heads/"):
        return f"origin/{webhook.removeprefix('refs/heads/')}"
    return None
