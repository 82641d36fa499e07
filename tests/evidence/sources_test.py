"""Coverage over the project's sources, not the report's: a module no test
imports counts, the team's configuration names sources, and what it leaves
out applies only within what the baseline delegates. Reports are produced by
coverage.py for real; the jest case uses lcov in the shape istanbul writes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from checker.gate import CheckRequest, run_check
from checker.registry import load_registry

REGISTRY = load_registry()

TESTED = "def double(x):\n    return x * 2\n\n\ndef half(x):\n    return x / 2\n"
TESTS = "from pkg.tested import double, half\n\n\ndef test_it():\n    assert double(2) == 4\n    assert half(4) == 2\n"
# 40 statements that no test imports.
UNTESTED = "".join(f"def f{i}(x):\n    return x + {i}\n\n\n" for i in range(20))
VENDORED = "".join(f"def v{i}(x):\n    return x - {i}\n\n\n" for i in range(20))


def _project(tmp_path: Path, *, vendored: bool = False) -> Path:
    project = tmp_path / "project"
    (project / "pkg").mkdir(parents=True)
    (project / "pkg" / "__init__.py").write_text("")
    (project / "pkg" / "tested.py").write_text(TESTED)
    (project / "pkg" / "untested.py").write_text(UNTESTED)
    (project / "tests").mkdir()
    (project / "tests" / "test_tested.py").write_text(TESTS)
    if vendored:
        (project / "pkg" / "vendor").mkdir()
        (project / "pkg" / "vendor" / "__init__.py").write_text("")
        (project / "pkg" / "vendor" / "lib.py").write_text(VENDORED)
        (project / "pkg" / "__init__.py").write_text("from pkg.vendor import lib  # noqa: F401\n")
    return project


def _measure(project: Path, *run_options: str) -> None:
    """The team's build: run the tests under coverage.py and write coverage.xml."""
    env = {**os.environ, "COVERAGE_FILE": str(project / ".coverage")}
    env.pop("COVERAGE_PROCESS_START", None)
    for command in (
        ["run", "--rcfile=/dev/null", *run_options, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        ["xml", "--rcfile=/dev/null", "-o", "coverage.xml"],
    ):
        subprocess.run(
            [sys.executable, "-m", "coverage", *command], cwd=project, env=env, check=True, capture_output=True
        )
    (project / ".coverage").unlink()


def _check(project: Path, **policy: Any) -> dict[str, Any]:
    document = {"schema_version": 1, "name": "t", "version": "1", "rules": {"COV001": {"enforce": "error"}}, **policy}
    path = project.parent / "policy.yaml"
    path.write_text(yaml.safe_dump(document))
    run = run_check(CheckRequest(paths=[project], root=project, policies=[path], environ={}), REGISTRY)
    (result,) = [r for r in run.evaluation.results if r.meta.id == "COV001"]
    (scope,) = [e for e in run.statement["predicate"]["evidence"] if e["kind"] == "coverage-scope"]
    return {"status": result.status, "messages": [f.message for f in result.findings], "scope": scope}


def test_a_module_no_test_imports_is_absent_from_the_report_and_passes_today(tmp_path: Path) -> None:
    project = _project(tmp_path)
    _measure(project)  # no source: the report names only what the tests imported
    outcome = _check(project)
    assert outcome["status"] == "pass"  # what the report alone says: 100%
    assert outcome["scope"]["sources"] == 0


def test_the_policy_names_the_sources_and_an_unimported_module_counts_as_uncovered(tmp_path: Path) -> None:
    project = _project(tmp_path)
    _measure(project)
    outcome = _check(project, coverage={"sources": ["pkg/*.py"]})
    assert outcome["status"] == "fail"
    (message,) = outcome["messages"]
    # The report: tested.py and the test module, 8 of 8 statements; untested.py: 40, none run.
    assert message == (
        "line coverage 16.67% is below the 80% floor (8 of 48 lines); "
        "1 source file(s) in no report count as uncovered: pkg/untested.py"
    )
    assert outcome["scope"]["unmeasured"] == ["pkg/untested.py"]
    assert outcome["scope"]["defined_by"] == ["policy"]


@pytest.mark.parametrize(
    ("name", "text"),
    [
        (".coveragerc", "[run]\nsource = pkg\n"),
        ("setup.cfg", "[metadata]\nname = x\n\n[coverage:run]\nsource =\n    pkg\n"),
        ("tox.ini", "[coverage:run]\nsource_pkgs = pkg\n"),
        ("pyproject.toml", '[tool.coverage.run]\ninclude = ["pkg/*"]\n'),
    ],
)
def test_the_teams_coverage_configuration_names_sources(tmp_path: Path, name: str, text: str) -> None:
    project = _project(tmp_path)
    _measure(project)  # the build bypassed its own configuration (--rcfile)
    (project / name).write_text(text)
    outcome = _check(project)
    assert outcome["status"] == "fail"
    assert "pkg/untested.py" in outcome["messages"][0]
    assert outcome["scope"]["defined_by"] == [name]


def test_an_omit_applies_within_the_delegated_globs_and_is_listed(tmp_path: Path) -> None:
    project = _project(tmp_path, vendored=True)
    (project / "pkg" / "untested.py").unlink()
    _measure(project, "--source=pkg")  # the vendored library is measured: 40 statements, 20 run
    (project / ".coveragerc").write_text("[run]\nsource = pkg\n\n[report]\nomit =\n    */vendor/*\n")
    counted = _check(project)  # no delegation: the omit is refused, the vendored library counts
    assert counted["status"] == "fail"
    assert [o["path"] for o in counted["scope"]["omit_refused"]] == ["pkg/vendor/__init__.py", "pkg/vendor/lib.py"]
    assert counted["scope"]["omitted"] == []
    omitted = _check(project, delegate={"coverage_omit": ["*/vendor/*"]})
    assert omitted["status"] == "pass"
    assert omitted["scope"]["omitted"] == [
        {"path": "pkg/vendor/__init__.py", "by": ".coveragerc"},
        {"path": "pkg/vendor/lib.py", "by": ".coveragerc"},
    ]


def test_an_omit_of_everything_leaves_out_only_what_is_delegated(tmp_path: Path) -> None:
    project = _project(tmp_path)
    _measure(project)
    (project / ".coveragerc").write_text("[run]\nomit = *\n")
    outcome = _check(project, coverage={"sources": ["pkg/*.py"]}, delegate={"coverage_omit": ["tests/*"]})
    assert outcome["status"] == "fail"
    assert {o["path"] for o in outcome["scope"]["omit_refused"]} == {
        "pkg/__init__.py",
        "pkg/tested.py",
        "pkg/untested.py",
    }


def test_the_policy_excludes_sources_the_organization_does_not_count(tmp_path: Path) -> None:
    project = _project(tmp_path)
    _measure(project)
    outcome = _check(project, coverage={"sources": ["pkg/*.py"], "exclude": ["pkg/untested.py"]})
    assert outcome["status"] == "pass"
    assert outcome["scope"]["excluded"] == ["pkg/untested.py"]


LCOV = "TN:\nSF:src/app.js\nDA:1,1\nDA:2,1\nDA:3,1\nLF:3\nLH:3\nend_of_record\n"
UNUSED_JS = (
    "// helpers nobody calls\nfunction a() {\n  return 1;\n}\n\n/* a block\n   comment */\nmodule.exports = { a };\n"
)


def test_jest_collect_coverage_from_names_sources_and_its_negations_are_omits(tmp_path: Path) -> None:
    project = tmp_path / "web"
    (project / "src" / "generated").mkdir(parents=True)
    (project / "src" / "app.js").write_text("const x = 1;\nconst y = 2;\nmodule.exports = { x, y };\n")
    (project / "src" / "unused.js").write_text(UNUSED_JS)
    (project / "src" / "generated" / "client.js").write_text("module.exports = {};\n")
    (project / "lcov.info").write_text(LCOV)
    package = {"name": "web", "jest": {"collectCoverageFrom": ["src/**/*.{js,ts}", "!src/generated/**"]}}
    (project / "package.json").write_text(json.dumps(package))
    outcome = _check(project)
    # app.js 3 of 3; unused.js: three lines of code (function, return, exports), none covered;
    # the generated client's one line counts too: the baseline does not delegate omitting it.
    assert outcome["messages"] == [
        "line coverage 42.86% is below the 80% floor (3 of 7 lines); 2 source file(s) in no report count as "
        "uncovered: src/generated/client.js, src/unused.js"
    ]
    assert outcome["scope"]["defined_by"] == ["package.json"]
    assert outcome["scope"]["omit_refused"] == [{"path": "src/generated/client.js", "by": "package.json"}]
    delegated = _check(project, delegate={"coverage_omit": ["src/generated/*"]})
    assert delegated["messages"] == [
        "line coverage 50.0% is below the 80% floor (3 of 6 lines); 1 source file(s) in no report count as "
        "uncovered: src/unused.js"
    ]
    assert delegated["scope"]["omitted"] == [{"path": "src/generated/client.js", "by": "package.json"}]


def test_javascript_configuration_is_listed_as_not_read(tmp_path: Path) -> None:
    project = tmp_path / "web"
    (project / "src").mkdir(parents=True)
    (project / "src" / "app.js").write_text("module.exports = 1;\n")
    (project / "lcov.info").write_text("TN:\nSF:src/app.js\nDA:1,1\nend_of_record\n")
    (project / "jest.config.js").write_text("module.exports = { collectCoverageFrom: ['src/**/*.js'] };\n")
    outcome = _check(project)
    assert outcome["scope"]["unread"] == [
        "jest.config.js: JavaScript configuration is not evaluated; name the sources in the policy"
    ]


def test_a_malformed_coverage_configuration_is_an_input_error_naming_it(tmp_path: Path) -> None:
    from checker.errors import InputError

    project = _project(tmp_path)
    _measure(project)
    (project / "pyproject.toml").write_text("[tool.coverage.run\nsource = 1\n")
    with pytest.raises(InputError) as error:
        _check(project)
    assert error.value.path == "pyproject.toml"
