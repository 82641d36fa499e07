"""The ``repo`` view: one record, the project, its CODEOWNERS and git state."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from checker.facts.repository.inputs import project

if TYPE_CHECKING:
    from checker.facts.repository import RepositoryFacts

FIELDS = ("path", "in_git", "commit", "branch", "dirty", "files", "templates", "codeowners", "codeowners_entries")


def build(facts: RepositoryFacts) -> list[dict[str, Any]]:
    inputs = facts.inputs
    source = inputs.source
    return [
        {
            "path": project(inputs),
            "in_git": inputs.repository.in_git,
            "commit": source.commit if source else None,
            "branch": source.branch if source else None,
            "dirty": source.dirty if source else None,
            "files": len(inputs.repository.files),
            "templates": len(inputs.templates),  # judged in this check
            "codeowners": inputs.codeowners.path if inputs.codeowners else None,
            "codeowners_entries": inputs.codeowners.entries if inputs.codeowners else 0,
        }
    ]
