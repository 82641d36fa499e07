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
            "clone it, forever: deleting it later leaves it in history. Files are found by name "
            "(`id_rsa`, `*.p12`, `*.pfx`, `*.ppk`, `.aws/credentials`, `.git-credentials` ...) and "
            "by what they begin with (a PEM `PRIVATE KEY` header, a PuTTY key, an "
            "`aws_secret_access_key` entry)."
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
        example_fail="deploy/id_rsa beginning with a PEM private key header",
        example_pass="deploy/id_rsa.pub (a public key)",
        references=("https://docs.github.com/en/code-security/secret-scanning/about-secret-scanning",),
    )

    def evaluate(self, facts: Facts, params: Mapping[str, Any]) -> Iterator[Finding]:
        for record in facts.view("repo_files"):
            if any(fnmatch.fnmatchcase(record["path"], glob) for glob in params["allowed_paths"]):
                continue
            if record["markers"]:
                yield finding_for(
                    record,
                    f"the file begins with key material ({', '.join(record['markers'])})",
                    element=record["path"],
                )
            elif record["secret_name"]:
                yield finding_for(record, "a private key or credentials file, by its name", element=record["path"])


RULE = CommittedSecrets()
