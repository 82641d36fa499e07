"""Facts about where a run happened: the git checkout and the CI system.

These are read at the edge (subprocess, environment) and handed to the pure
report builder as plain data.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from checker.errors import InputError

MAX_DIRTY_REASONS = 50


@dataclass(frozen=True, slots=True)
class SourceFacts:
    """The checkout a check ran in. ``dirty`` means the files judged are not
    exactly the commit's: a tracked file changed, or a policy input (an
    overlay, a waiver set, an approval, an adoption baseline, a rules folder)
    is not committed; ``dirty_reasons`` say which. Untracked templates and
    evidence (``cdk.out``, coverage reports) are normal in a build: they are
    ``untracked_inputs``, listed with their digests, and not dirty."""

    repository: str | None
    commit: str
    branch: str | None
    dirty: bool
    dirty_reasons: tuple[str, ...] = ()
    untracked_inputs: tuple[tuple[str, str], ...] = ()  # (path, sha256)

    def describe(self) -> dict[str, object]:
        return {
            "repository": self.repository,
            "commit": self.commit,
            "branch": self.branch,
            "dirty": self.dirty,
            "dirty_reasons": list(self.dirty_reasons),
            "untracked_inputs": [{"path": p, "sha256": d} for p, d in self.untracked_inputs],
        }


def git(cwd: Path, *args: str, timeout: float = 30, index: Path | None = None) -> str | None:
    """What a git command prints, as it prints it; None when git is missing,
    fails or takes longer than ``timeout`` seconds. ``GIT_*`` variables of
    the environment (another ``GIT_DIR``, ``GIT_INDEX_FILE``, work tree or
    config) are not passed on: git reads the checkout at ``cwd``; ``index``
    sets an index of checker's own."""
    import subprocess  # only runs that read git pay for it

    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    if index is not None:
        env["GIT_INDEX_FILE"] = str(index)
    try:
        # --no-replace-objects: `git replace` could show another tree for HEAD.
        done = subprocess.run(
            ["git", "--no-replace-objects", "-C", str(cwd), *args],
            capture_output=True,
            # File names are bytes to git: one that is not UTF-8 comes through
            # as surrogate escapes, for the caller to refuse by name.
            encoding="utf-8",
            errors="surrogateescape",
            timeout=timeout,
            check=False,
            env=env,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


def refuse_unwritable_names(names: Iterable[str]) -> None:
    """An input error for the first file name that is not UTF-8 text: the
    report names every file it judges, and cannot name that one."""
    for name in names:
        try:
            name.encode("utf-8")
        except UnicodeEncodeError:
            shown = name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
            raise InputError(
                "a file name that is not UTF-8 text",
                path=shown,
                hint="rename it: checker names every file it judges in a UTF-8 report",
            ) from None


def git_text(root: Path, *args: str) -> str | None:
    """What a git command prints, stripped; None when it fails."""
    out = git(root, *args, timeout=10)
    return None if out is None else out.strip()


_SCP_LIKE = re.compile(r"^(?:[^@/]+@)?(?P<host>[^:/]+):(?P<path>[^/].*)$")


def normalize_repository(remote: str) -> str | None:
    """``host/owner/name`` for any spelling of a remote URL (https, ssh, scp-like
    ``git@host:owner/name.git``), lower-cased, without credentials, port or
    ``.git``; what approvals and keyrings name a repository by."""
    text = remote.strip()
    if "://" in text:
        rest = text.split("://", 1)[1]
        host, _, path = rest.partition("/")
        host = host.rsplit("@", 1)[-1].split(":", 1)[0]
    elif ":" not in text and not text.startswith(("/", ".")):
        host, _, path = text.partition("/")  # already host/owner/name
    else:
        match = _SCP_LIKE.match(text)
        if match is None:
            return None  # a local path: no repository identity
        host, path = match["host"], match["path"]
    path = path.strip("/").removesuffix(".git").strip("/")
    if not host or not path:
        return None
    return f"{host}/{path}".lower()


# Filter drivers git-lfs installs; any other clean/smudge filter could make
# git see the commit's content where the working tree holds something else.
_LFS_FILTER = {
    "filter.lfs.clean": "git-lfs clean -- %f",
    "filter.lfs.smudge": "git-lfs smudge -- %f",
    "filter.lfs.process": "git-lfs filter-process",
    "filter.lfs.required": "true",
}


def _changed_files(root: Path) -> list[str] | None:
    """Root-relative files whose working-tree content is not HEAD's (changed,
    deleted, or a submodule at another commit or with changes), compared
    through a fresh index built from HEAD: flags a checkout can set in its
    own index (assume-unchanged, skip-worktree, a sparse checkout) do not hide
    a change, nor does a submodule's ``ignore`` setting. None if git fails."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="checker-index-") as scratch:
        index = Path(scratch) / "index"
        plain = ("-c", "core.sparseCheckout=false", "-c", "core.sparseCheckoutCone=false")
        if git(root, *plain, "read-tree", "HEAD", index=index) is None:
            return None
        git(root, *plain, "update-index", "-q", "--refresh", "--ignore-submodules", index=index)
        compare = ("diff-files", "--name-only", "-z", "--relative", "--ignore-submodules=none")
        out = git(root, *plain, *compare, index=index)
    return None if out is None else _z(out)


def _worktree_problems(root: Path) -> list[str]:
    """git must compare the files checked, not another folder (``core.worktree``
    or a ``gitdir:`` file can point it elsewhere)."""
    top = git_text(root, "rev-parse", "--show-toplevel")
    if not top:
        return ["git has no work tree here"]
    try:
        Path(os.path.realpath(root)).relative_to(Path(os.path.realpath(top)))
    except ValueError:
        return [f"git's work tree is {top}, not the folder checked"]
    return []


def _filter_problems(root: Path) -> list[str]:
    configured = git(root, "config", "--get-regexp", r"^filter\.") or ""
    problems = []
    for line in configured.splitlines():
        name, _, value = line.partition(" ")
        if _LFS_FILTER.get(name.lower()) != value.strip():
            problems.append(f"git filter {name} is configured: the working tree cannot be compared with the commit")
    return problems


def _z(output: str | None) -> list[str]:
    return [p for p in (output or "").split("\0") if p]


def _sha256(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return ""


def git_facts(
    root: Path,
    policy_inputs: Sequence[Path] = (),
    templates: Sequence[str] = (),
    evidence: Sequence[str] = (),
    *,
    compare: bool = True,
) -> SourceFacts | None:
    """Commit, branch, remote and dirty state of the checkout at ``root``;
    None outside git. A tracked file changed under the root, or a
    ``policy_inputs`` file (team-side files and folders that shape the
    verdict) not committed, makes the tree dirty. Root-relative ``templates``
    and ``evidence`` git does not track, and evidence the build rewrote (a
    committed coverage report regenerated), are listed with their digests.
    Without ``compare``, only commit, branch and repository are read."""
    commit = git_text(root, "rev-parse", "HEAD")
    if not commit:
        return None
    branch = git_text(root, "rev-parse", "--abbrev-ref", "HEAD")
    remote = git_text(root, "config", "--get", "remote.origin.url")
    if not compare:
        repository = normalize_repository(remote) if remote else None
        return SourceFacts(repository, commit, None if branch in (None, "HEAD") else branch, False)
    changed = _changed_files(root)
    reasons = _filter_problems(root) + _worktree_problems(root)
    if changed is None:
        reasons.append("git could not compare the working tree with the commit")
        changed = []
    produced = set(evidence)
    reasons += [f"modified: {p}" for p in changed if p not in produced]
    # The commit's files (not the index's: a file staged but not committed is not in it).
    tracked = set(_z(git(root, "ls-tree", "-r", "--name-only", "-z", "HEAD")))
    real_root = Path(os.path.realpath(root))
    for given in policy_inputs:
        real = Path(os.path.realpath(given))
        try:
            real.relative_to(real_root)
        except ValueError:
            continue  # outside the checkout: recorded with its digest elsewhere, not part of the commit
        files = sorted(p for p in real.rglob("*") if p.is_file()) if real.is_dir() else [real]
        for file in files:
            relpath = file.relative_to(real_root).as_posix()
            # Ignored files count too: a .gitignore'd overlay is as uncommitted as any other.
            if relpath not in tracked and "__pycache__" not in file.parts:
                reasons.append(f"untracked policy input: {relpath}")
    listed = [(p, _sha256(root / p)) for p in templates if p not in tracked]
    listed += [(p, _sha256(root / p)) for p in evidence if p not in tracked or p in changed]
    return SourceFacts(
        repository=normalize_repository(remote) if remote else None,
        commit=commit,
        branch=None if branch in (None, "HEAD") else branch,
        dirty=bool(reasons),
        dirty_reasons=tuple(reasons[:MAX_DIRTY_REASONS])
        + ((f"and {len(reasons) - MAX_DIRTY_REASONS} more",) if len(reasons) > MAX_DIRTY_REASONS else ()),
        untracked_inputs=tuple(sorted(listed)),
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
