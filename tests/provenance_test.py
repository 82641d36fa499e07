"""Repository identity: one spelling for every way a remote can be written,
so an approval cannot be moved to another repository by a URL's form, nor
refused for it."""

from __future__ import annotations

import pytest

from checker.provenance import normalize_repository


@pytest.mark.parametrize(
    "remote",
    [
        "https://github.com/Acme/Payments.git",
        "https://github.com/acme/payments",
        "https://github.com/acme/payments/",
        "https://x-access-token:secret@github.com/acme/payments.git",
        "https://github.com:443/acme/payments.git",
        "ssh://git@github.com/acme/payments.git",
        "ssh://git@github.com:22/acme/payments",
        "git@github.com:acme/payments.git",
        "github.com:acme/payments",
        "github.com/acme/payments",
    ],
)
def test_every_spelling_of_a_remote_is_one_repository(remote: str) -> None:
    assert normalize_repository(remote) == "github.com/acme/payments"


@pytest.mark.parametrize("remote", ["/srv/git/payments.git", "./payments", "../payments", "", "https://github.com"])
def test_a_local_path_or_a_bare_host_is_no_repository(remote: str) -> None:
    assert normalize_repository(remote) is None


def test_a_different_repository_stays_different() -> None:
    assert normalize_repository("git@github.com:acme/payments-evil.git") == "github.com/acme/payments-evil"
    assert normalize_repository("https://gitlab.com/acme/payments.git") == "gitlab.com/acme/payments"
