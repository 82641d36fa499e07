"""REPO003: a private key or credentials file committed to the repository."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator, Mapping
from typing import Any

from checker.ruleapi import Facts, Finding, Param, RuleMeta, finding_for


class CommittedSecrets:
    meta = RuleMeta(
        id="REPO003",
        title="Private key or credentials file in the repository",
        severity="critical",
        tags=("repo",),
        views=("repo_files",),
        rationale=(
            "A private key or a credentials file in a repository is readable by everyone who can "
            "clone it, forever: deleting it later leaves it in history. Every file git tracks is "
            "judged, in any folder (`target/`, `node_modules/` and `venv/` included): by name "
            "(`id_rsa`, `*.p12`, `*.pfx`, `*.ppk`, `.aws/credentials`, `.git-credentials` ...) and "
            "by content: a PEM `PRIVATE KEY` block, a PuTTY key, an AWS access key id with a secret "
            "of the right shape beside it, an `aws_secret_access_key` entry with one, and GitHub, "
            "GitLab, Slack, Stripe live and Google API keys by their formats."
        ),
        remediation=(
            "Remove the file, revoke and rotate the key (it must be treated as leaked), and keep "
            "secrets in a secrets manager or the CI system's secret store. Test keys generated for "
            "a test suite belong in the test's temporary directory, or under a path listed in the "
            "rule's `allowed_paths` parameter with a reason in the policy."
        ),
        params=(
            Param(
                "allowed_paths",
                "string_list",
                [],
                "path globs where key material is expected (test fixtures of a crypto library)",
                tighter="fewer",
            ),
        ),
        example_fail=(
            "# a deploy key committed by its name (a PEM private key block in any file fails too)\n"
            "deploy/id_rsa: |\n"
            "  (the private key)\n"
        ),
        example_pass=(
            "# the public half only\n"
            "deploy/id_rsa.pub: |\n"
            "  ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExampleExampleExampleExampleExampleExample deploy@ci\n"
        ),
        references=("https://docs.github.com/en/code-security/secret-scanning/about-secret-scanning",),
    )

    def evaluate(self, facts: Facts, params: Mapping[str, Any]) -> Iterator[Finding]:
        for record in facts.view("repo_files"):
            if any(fnmatch.fnmatchcase(record["path"], glob) for glob in params["allowed_paths"]):
                continue
            keys = [m for m in record["markers"] if m != "unscanned-tail"]
            if keys:
                yield finding_for(
                    record,
                    f"the file holds key material ({', '.join(keys)}) from line {record['line']}",
                    element=record["path"],
                )
            elif record["markers"]:
                yield finding_for(
                    record,
                    "the file is over 64 MiB and was read for key material only that far: keep large files "
                    "out of git (Git LFS), or list the path in allowed_paths with a reason",
                    element=record["path"],
                )
            elif record["secret_name"]:
                yield finding_for(record, "a private key or credentials file, by its name", element=record["path"])


RULE = CommittedSecrets()
