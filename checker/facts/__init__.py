"""Fact views: normalized, read-only records that rules query.

A view is a named list of JSON-like records built from inputs. Views are
listed here, in one dict literal, with the scope they are built over and the
fields their records carry (declarative rules are checked against those
fields when they load). Template views are built at most once per template,
repository views (coverage, scans, the repository's files) once per run;
each is shared by every rule that reads it. A rule reads views of one scope.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from checker.facts import external_content, iam_managed_policies, iam_statements, resources, template_errors
from checker.facts import repository as repository_views
from checker.templates import Template

Record = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class ViewSpec:
    name: str
    fields: tuple[str, ...]
    build: Callable[[Template], list[dict[str, Any]]] | None  # None: a repository view
    description: str
    scope: Literal["template", "repository"] = "template"


def _repository_view(name: str, description: str) -> ViewSpec:
    return ViewSpec(name, repository_views.VIEWS[name].fields, None, description, "repository")


VIEWS: dict[str, ViewSpec] = {
    "resources": ViewSpec("resources", resources.FIELDS, resources.build, "one record per template resource"),
    "iam_statements": ViewSpec(
        "iam_statements",
        iam_statements.FIELDS,
        iam_statements.build,
        "one record per IAM policy statement, normalized",
    ),
    "iam_managed_policies": ViewSpec(
        "iam_managed_policies",
        iam_managed_policies.FIELDS,
        iam_managed_policies.build,
        "one record per managed policy attached by ARN or name",
    ),
    "external_content": ViewSpec(
        "external_content",
        external_content.FIELDS,
        external_content.build,
        "one record per nested stack, StackSet, application, include or macro whose content is not in the template",
    ),
    "template_errors": ViewSpec(
        "template_errors",
        template_errors.FIELDS,
        template_errors.build,
        "templates that could not be loaded",
    ),
    "coverage": _repository_view(
        "coverage", "one record: line and branch coverage merged over the current coverage reports"
    ),
    "coverage_reports": _repository_view(
        "coverage_reports", "one record per coverage evidence file, with its totals and staleness"
    ),
    "coverage_files": _repository_view("coverage_files", "one record per covered source file"),
    "new_code_coverage": _repository_view(
        "new_code_coverage", "one record: coverage of the lines changed since the base ref (--base-ref)"
    ),
    "scans": _repository_view("scans", "one record per scan the policy requires, with its evidence"),
    "scan_findings": _repository_view("scan_findings", "one record per finding of a required scan"),
    "repo_files": _repository_view("repo_files", "one record per file of the project (git's view)"),
    "repo": _repository_view("repo", "one record: the project, its CODEOWNERS and git state"),
}


def scope_of(views: tuple[str, ...]) -> str | None:
    """The one scope a rule's views share, or None when they mix scopes."""
    scopes = {VIEWS[v].scope for v in views if v in VIEWS}
    return scopes.pop() if len(scopes) == 1 else None


class TemplateFacts:
    """The views of one template, each built on first use and then kept."""

    def __init__(self, template: Template) -> None:
        self.template = template
        self._cache: dict[str, Sequence[Record]] = {}
        self._expanded: TemplateFacts | None = None

    def view(self, name: str) -> Sequence[Record]:
        cached = self._cache.get(name)
        if cached is None:
            spec = VIEWS.get(name)
            if spec is None or spec.build is None:
                raise KeyError(f"no template fact view named {name!r}")
            if self.template.data is None and name != "template_errors":
                cached = ()
            else:
                cached = tuple(spec.build(self.template))
            self._cache[name] = cached
        return cached

    def expanded(self) -> TemplateFacts:
        """Facts over the SAM-translated template (the same facts when not SAM)."""
        if self.template.kind != "sam" or self.template.data is None:
            return self
        if self._expanded is None:
            from checker.sam import expand  # the translator is heavy: load on demand

            self._expanded = SamExpandedFacts(self.template, expand(self.template))
        return self._expanded


class SamExpandedFacts(TemplateFacts):
    """Views over translated resources, located at the SAM resource that made them."""

    def __init__(self, original: Template, translated: Template) -> None:
        super().__init__(translated)
        self._origin_lines = {r: line for r, line in _resource_lines(original).items()}

    def view(self, name: str) -> Sequence[Record]:
        if name in self._cache:
            return self._cache[name]
        records = []
        for record in super().view(name):
            generated = record.get("resource")
            origin = _origin(generated, self._origin_lines)
            if origin is not None and origin != generated:
                record = {
                    **record,
                    "resource": origin,
                    "generated_id": generated,
                    "line": self._origin_lines[origin],
                }
            elif origin is not None:
                record = {**record, "line": self._origin_lines[origin]}
            records.append(record)
        self._cache[name] = tuple(records)
        return self._cache[name]


def _resource_lines(template: Template) -> dict[str, int | None]:
    from checker.loaders.nodes import line_of

    resources = template.resources
    return {str(k): line_of(resources, k) for k in resources}


def _origin(generated: Any, originals: Mapping[str, int | None]) -> str | None:
    """The SAM resource a translated one came from: itself, or the longest
    logical id it starts with (the translator prefixes what it generates)."""
    if not isinstance(generated, str):
        return None
    if generated in originals:
        return generated
    best = None
    for logical_id in originals:
        if generated.startswith(logical_id) and (best is None or len(logical_id) > len(best)):
            best = logical_id
    return best
