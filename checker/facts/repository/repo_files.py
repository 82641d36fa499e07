"""The ``repo_files`` view: one record per file of the project, with the key
material found in it (read at the edge, :mod:`checker.evidence.secrets`)."""

from __future__ import annotations

import fnmatch
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from checker.facts.repository import RepositoryFacts

FIELDS = ("path", "name", "secret_name", "markers", "line")

# Files that hold secrets by their very name.
SECRET_NAMES = (
    "id_rsa",
    "id_dsa",
    "id_ecdsa",
    "id_ed25519",
    "*.p12",
    "*.pfx",
    "*.ppk",
    "*.jks",
    "*.keystore",
    "*.kdbx",
    ".git-credentials",
    ".pgpass",
    ".netrc",
)
SECRET_PATHS = ("*.aws/credentials", "*.docker/config.json", "*.ssh/*")


def build(facts: RepositoryFacts) -> list[dict[str, Any]]:
    inputs = facts.inputs
    records = []
    for path in sorted({*inputs.repository.files, *inputs.markers}):
        name = path.rsplit("/", 1)[-1]
        secret_name = any(fnmatch.fnmatchcase(name, p) for p in SECRET_NAMES) or any(
            fnmatch.fnmatchcase("/" + path, p) for p in SECRET_PATHS
        )
        records.append(
            {
                "path": path,
                "name": name,
                "secret_name": secret_name,
                "markers": [kind for kind, _ in inputs.markers.get(path, ())],
                "line": next((line for _, line in inputs.markers.get(path, ())), None),
            }
        )
    return records
