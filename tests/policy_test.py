from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from checker.errors import PolicyError
from checker.policy import default_policy_path, load_policy, policy_file_digest
from checker.registry import load_registry

REGISTRY = load_registry()
HEAD = "schema_version: 1\nname: org\nversion: '1'\n"


def _load(write, *texts: str):  # type: ignore[no-untyped-def]
    paths = [write(f"p{i}.yaml", text) for i, text in enumerate(texts)]
    return load_policy(paths, REGISTRY, [p.name for p in paths])


def test_default_policy_is_valid_and_selects_the_builtin_rules() -> None:
    policy = load_policy([default_policy_path()], REGISTRY)
    assert set(policy.rules) == set(REGISTRY)  # the baseline sets every built-in rule
    assert policy.rules["NAME001"].enforce == "warn"
    assert set(policy.scans) == {"bandit", "cfn-lint", "checkov"}


@pytest.mark.parametrize(
    ("text", "line", "field", "words"),
    [
        (HEAD + "rules:\n  IAN001: {enforce: error}\n", 5, "rules.IAN001", "did you mean 'IAM001'?"),
        (
            HEAD + "rules:\n  IAM001:\n    enforse: warn\n",
            6,
            "rules.IAM001.enforse",
            "did you mean 'enforce'?",
        ),
        (HEAD + "rules:\n  IAM001: {enforce: block}\n", 5, "rules.IAM001.enforce", "error, warn or off"),
        (
            HEAD + "rules:\n  NAME001:\n    params:\n      propertys: [A]\n",
            7,
            "rules.NAME001.params.propertys",
            "did you mean 'properties'?",
        ),
        (
            HEAD + "rules:\n  NAME001:\n    params:\n      properties: BucketName\n",
            7,
            "rules.NAME001.params.properties",
            "must be a string list",
        ),
        (HEAD + "rules:\n  TPL001: {enforce: off}\n", 5, "rules.TPL001.enforce", "mandatory"),
        ("schema_version: 1\nname: org\nversion: '1'\nrulez: {}\n", 4, "rulez", "did you mean 'rules'?"),
        ("name: org\nversion: '1'\nrules: {}\n", 1, "schema_version", "must be 1"),
    ],
)
def test_policy_errors_name_file_line_and_field(write, text, line, field, words) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(PolicyError) as caught:
        _load(write, text)
    error = caught.value
    assert (error.path, error.line, error.field) == ("p0.yaml", line, field)
    assert words in str(error)


def test_malformed_yaml_policy_is_a_policy_error(write) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(PolicyError) as caught:
        _load(write, HEAD + "rules:\n  IAM001: [\n")
    assert caught.value.path == "p0.yaml" and caught.value.line is not None


BASE = HEAD + "rules:\n  IAM001: {enforce: error}\n  NAME001:\n    enforce: warn\n    overridable: [properties]\n"


def test_overlay_may_tighten(write) -> None:  # type: ignore[no-untyped-def]
    policy = _load(
        write,
        BASE,
        "schema_version: 1\nname: team\nversion: '2'\nrules:\n  NAME001: {enforce: error}\n  TPL001: {}\n",
    )
    assert policy.rules["NAME001"].enforce == "error"
    assert policy.rules["NAME001"].origin["enforce"] == "p1.yaml"
    assert "TPL001" in policy.rules
    assert [layer.role for layer in policy.layers] == ["baseline", "overlay"]
    assert policy.name == "org" and policy.digest == policy.layers[0].digest


def test_overlay_may_not_loosen_enforcement(write) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(PolicyError) as caught:
        _load(write, BASE, "schema_version: 1\nname: team\nversion: '2'\nrules:\n  IAM001: {enforce: warn}\n")
    assert caught.value.path == "p1.yaml" and caught.value.line == 5
    assert "may not lower enforcement of IAM001 from error" in str(caught.value)


def test_overridable_parameter_may_change_either_way(write) -> None:  # type: ignore[no-untyped-def]
    policy = _load(
        write,
        BASE,
        "schema_version: 1\nname: team\nversion: '2'\nrules:\n  NAME001: {params: {properties: [BucketName]}}\n",
    )
    assert policy.rules["NAME001"].params["properties"] == ["BucketName"]


def test_non_overridable_parameter_may_only_tighten(write) -> None:  # type: ignore[no-untyped-def]
    base = HEAD + "rules:\n  NAME001:\n    params: {properties: [BucketName, TableName]}\n"
    tightened = _load(
        write,
        base,
        "schema_version: 1\nname: t\nversion: '2'\nrules:\n"
        "  NAME001: {params: {properties: [BucketName, TableName, QueueName]}}\n",
    )
    assert tightened.rules["NAME001"].params["properties"][-1] == "QueueName"
    with pytest.raises(PolicyError, match="may not loosen NAME001 parameter properties"):
        _load(
            write,
            base,
            "schema_version: 1\nname: t\nversion: '2'\nrules:\n  NAME001: {params: {properties: [BucketName]}}\n",
        )


def test_only_the_baseline_marks_rules_overridable(write) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(PolicyError, match="only the baseline"):
        _load(write, BASE, "schema_version: 1\nname: t\nversion: '2'\nrules:\n  IAM001: {overridable: true}\n")


def test_digest_ignores_key_order_comments_and_formatting(write) -> None:  # type: ignore[no-untyped-def]
    a = write("a.yaml", "schema_version: 1\nname: org\nversion: '1'\nrules:\n  IAM001: {enforce: error}\n")
    b = write(
        "b.json",
        '{"rules": {"IAM001": {"enforce": "error"}}, # x\n "version": "1", "name": "org", "schema_version": 1}'.replace(
            " # x", ""
        ),
    )
    c = write(
        "c.yaml",
        "# comment\nversion: '1'\nname: org\nschema_version: 1\nrules:\n  IAM001:\n    enforce: error\n",
    )
    d = write("d.yaml", "schema_version: 1\nname: org\nversion: '1'\nrules:\n  IAM001: {enforce: warn}\n")
    digests = {policy_file_digest(p, p.name) for p in (a, b, c)}
    assert len(digests) == 1
    assert digests.pop().startswith("sha256:")
    assert policy_file_digest(d, "d.yaml") != policy_file_digest(a, "a.yaml")


def test_example_policies_match_the_published_schema() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    import json

    import yaml

    repo = Path(__file__).resolve().parent.parent
    schema = json.loads((repo / "checker" / "schemas" / "policy.schema.json").read_text())
    for name in ("baseline.yaml", "team-overlay.example.yaml"):
        data = yaml.safe_load((repo / "policies" / name).read_text())
        # PyYAML builds dates; policies take them as text.
        for waiver in data.get("waivers") or []:
            waiver["expires"] = str(waiver["expires"])
        jsonschema.validate(data, schema)
    bad = {"schema_version": 1, "name": "x", "version": "1", "rules": {}, "rulez": {}}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)


def test_example_overlay_layers_on_the_example_baseline() -> None:
    repo = Path(__file__).resolve().parent.parent
    policy = load_policy(
        [repo / "policies" / "baseline.yaml", repo / "policies" / "team-overlay.example.yaml"],
        REGISTRY,
        now=datetime(2026, 11, 28, tzinfo=UTC),
    )
    assert policy.rules["NAME001"].enforce == "error"
    overlay = str(repo / "policies" / "team-overlay.example.yaml")
    assert [e.describe() for e in policy.excludes] == [
        {"glob": "tests/fixtures/*", "source": overlay, "within": ["tests/fixtures/*", "*/tests/fixtures/*"]}
    ]


SCANS = HEAD + "rules: {}\nscans:\n  bandit:\n    covers: ['*.py']\n    threshold: medium\n    min_version: '1.7'\n"
TEAM = "schema_version: 1\nname: team\nversion: '2'\nrules: {}\n"


def test_overlay_may_tighten_scans_and_add_one(write) -> None:  # type: ignore[no-untyped-def]
    policy = _load(
        write,
        SCANS,
        TEAM + "scans:\n  bandit: {threshold: low, min_version: '1.8.0'}\n  semgrep: {covers: [src/*]}\n",
    )
    assert policy.scans["bandit"].threshold == "low" and policy.scans["bandit"].min_version == "1.8.0"
    assert policy.scans["bandit"].covers == ("*.py",)  # kept from the baseline
    assert policy.scans["semgrep"].threshold == "high"


@pytest.mark.parametrize(
    ("overlay", "line", "field", "words"),
    [
        (
            "scans:\n  bandit: {threshold: high}\n",
            6,
            "scans.bandit.threshold",
            "may only tighten the baseline's threshold",
        ),
        ("scans:\n  bandit: {min_version: '1.6'}\n", 6, "scans.bandit.min_version", "baseline: 1.7"),
        ("scans:\n  bandit: {covers: ['src/*.py']}\n", 6, "scans.bandit.covers", "may only tighten"),
        ("scans:\n  bandit: {treshold: low}\n", 6, "scans.bandit.treshold", "unknown key"),
        ("scans:\n  trivy: {threshold: low}\n", 6, "scans.trivy.covers", "is required"),
    ],
)
def test_scan_requirements_are_validated_and_only_tightened(write, overlay, line, field, words) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(PolicyError) as caught:
        _load(write, SCANS, TEAM + overlay)
    error = caught.value
    assert (error.path, error.line, error.field) == ("p1.yaml", line, field)
    assert words in str(error)


def test_every_top_level_key_has_one_layering_rule() -> None:
    """A new policy section cannot arrive without saying how an overlay may use it."""
    import json

    from checker.policy import LAYERING

    repo = Path(__file__).resolve().parent.parent
    schema = json.loads((repo / "checker" / "schemas" / "policy.schema.json").read_text())
    assert set(LAYERING) == set(schema["properties"])
    assert set(LAYERING.values()) <= {"each", "tighten", "baseline", "delegated"}


@pytest.mark.parametrize("key", ["settings", "approvers", "delegate", "waivers"])
def test_an_overlay_may_not_set_what_only_the_baseline_sets(tmp_path: Path, key: str) -> None:
    base = tmp_path / "base.yaml"
    base.write_text("schema_version: 1\nname: b\nversion: '1'\nrules: {}\n")
    overlay = tmp_path / "team.yaml"
    overlay.write_text(f"schema_version: 1\nname: t\nversion: '1'\nrules: {{}}\n{key}: {{}}\n")
    with pytest.raises(PolicyError) as caught:
        load_policy([base, overlay], REGISTRY, ["base.yaml", "team.yaml"])
    assert (caught.value.path, caught.value.line, caught.value.field) == ("team.yaml", 5, key)


def test_versions_are_ordered_as_the_packaging_ecosystem_orders_them() -> None:
    from checker.policy_scans import at_least

    assert not at_least("1.8.0rc1", "1.8.0") and at_least("1.8.0", "1.8.0rc1")
    assert at_least("1.7.10", "1.7.9") and not at_least("1.7.9", "1.7.10")
    assert not at_least("latest", "1.0") and not at_least("1.0", "not a version")


COVERAGE = HEAD + "rules: {}\ncoverage:\n  sources: ['src/*.py']\n  exclude: ['src/_version.py']\n"


def test_an_overlay_may_add_coverage_sources_and_keeps_the_baselines(write) -> None:  # type: ignore[no-untyped-def]
    policy = _load(write, COVERAGE, TEAM + "coverage:\n  sources: ['lambdas/*.py']\n")
    assert policy.coverage.sources == ("src/*.py", "lambdas/*.py")
    assert policy.coverage.exclude == ("src/_version.py",)


@pytest.mark.parametrize(
    ("overlay", "field", "words"),
    [
        ("coverage:\n  exclude: ['src/*']\n", "coverage.exclude", "only the baseline excludes sources"),
        ("coverage:\n  source: ['src/*']\n", "coverage.source", "unknown coverage setting"),
        ("coverage:\n  sources: src/*\n", "coverage.sources", "list of path globs"),
        ("delegate:\n  coverage_omit: ['*']\n", "delegate", "only the baseline sets delegate"),
    ],
)
def test_an_overlay_may_not_shrink_what_coverage_is_measured_over(write, overlay, field, words) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(PolicyError) as caught:
        _load(write, COVERAGE, TEAM + overlay)
    assert (caught.value.path, caught.value.field) == ("p1.yaml", field)
    assert words in str(caught.value)
