"""Coverage over the project's sources, not the report's: a module no test
imports counts, the team's configuration names sources, and what it leaves
out applies only within what the baseline delegates. Reports are produced by
coverage.py for real; the jest case uses lcov in the shape istanbul writes."""

from __future__ import annotations

import json
import os
import shutil
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
    # app.js 3 of 3; unused.js: five lines (a block comment counts: checker does not parse
    # JavaScript, and over-counts rather than let "/*" in a string hide code), none covered;
    # the generated client's one line counts too: the baseline does not delegate omitting it.
    assert outcome["messages"] == [
        "line coverage 33.33% is below the 80% floor (3 of 9 lines); 2 source file(s) in no report count as "
        "uncovered: src/generated/client.js, src/unused.js"
    ]
    assert outcome["scope"]["defined_by"] == ["package.json"]
    assert outcome["scope"]["omit_refused"] == [{"path": "src/generated/client.js", "by": "package.json"}]
    delegated = _check(project, delegate={"coverage_omit": ["src/generated/*"]})
    assert delegated["messages"] == [
        "line coverage 37.5% is below the 80% floor (3 of 8 lines); 1 source file(s) in no report count as "
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


# Attacks from the team's side ------------------------------------------------------


def test_exclusions_in_the_teams_configuration_or_code_do_not_shrink_what_counts(tmp_path: Path) -> None:
    project = _project(tmp_path)
    untested = project / "pkg" / "untested.py"
    untested.write_text("# pragma: exclude file\n" + UNTESTED)
    (project / "pkg" / "tested.py").write_text(TESTED + "\n\ndef unused(x):  # pragma: no cover\n    return x\n")
    (project / ".coveragerc").write_text(
        "[run]\nsource = pkg\n\n[report]\nexclude_also =\n    \\A(?s:.*# pragma: exclude file.*)\\Z\n"
    )
    env = {**os.environ, "COVERAGE_FILE": str(project / ".coverage")}
    env.pop("COVERAGE_PROCESS_START", None)
    for command in (["run", "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"], ["xml", "-o", "coverage.xml"]):
        subprocess.run(
            [sys.executable, "-m", "coverage", *command], cwd=project, env=env, check=True, capture_output=True
        )
    (project / ".coverage").unlink()
    # coverage.py honoured both: 4 statements measured, untested.py and unused() left out.
    assert 'lines-valid="4"' in (project / "coverage.xml").read_text()
    outcome = _check(project)
    assert outcome["status"] == "fail"
    assert outcome["scope"]["unreported"] == [
        {"path": "pkg/tested.py", "lines": 2},
        {"path": "pkg/untested.py", "lines": 40},
    ]


def test_the_built_in_baseline_delegates_omitting_folders_not_name_patterns() -> None:
    from checker.facts.repository.inputs import matches
    from checker.policy import default_policy_path, load_policy

    policy = load_policy([default_policy_path()], REGISTRY)
    within = policy.coverage.omit_within
    assert matches("services/orders/tests/test_api.py", within)
    assert not matches("pkg/test_support/billing.py", within)  # a file-name glob would match this: * crosses /
    assert not matches("pkg/billing_pb2.py", within)


def test_a_long_header_cannot_hide_the_code_after_it(tmp_path: Path) -> None:
    from checker.errors import InputError

    project = _project(tmp_path)
    _measure(project)
    (project / "pkg" / "untested.py").write_text("#" * 100 + "\n" * 1 + ("# " + "x" * 98 + "\n") * 170_000 + UNTESTED)
    with pytest.raises(InputError, match="larger than 16 MiB"):
        _check(project, coverage={"sources": ["pkg/*.py"]})


def test_a_block_comment_opened_in_a_string_does_not_hide_javascript(tmp_path: Path) -> None:
    project = tmp_path / "web"
    (project / "src").mkdir(parents=True)
    (project / "src" / "app.js").write_text("const x = 1;\n")
    body = "".join(f"function f{i}() {{\n  return {i};\n}}\n" for i in range(50))
    (project / "src" / "unused.js").write_text("const banner = `\n/*`;\n" + body + "const end = '*/';\n")
    (project / "lcov.info").write_text("TN:\nSF:src/app.js\nDA:1,1\nend_of_record\n")
    outcome = _check(project, coverage={"sources": ["src/*.js"]})
    assert outcome["status"] == "fail"
    assert "(1 of 104 lines)" in outcome["messages"][0]


def test_python_that_does_not_parse_here_is_over_counted_not_hidden(tmp_path: Path) -> None:
    project = _project(tmp_path)
    _measure(project)
    (project / "pkg" / "untested.py").write_text('type Number = int\n_ = """\n/*\n"""\n' + UNTESTED)
    outcome = _check(project, coverage={"sources": ["pkg/*.py"]})
    assert outcome["status"] == "fail"


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("pyproject.toml", '[tool . coverage . run]\nsource = ["pkg"]\n'),
        ("pyproject.toml", 'tool = {coverage = {run = {source = ["pkg"]}}}\n'),
        (".coveragerc", "[coverage:run]\nsource = pkg\n"),
        (".coveragerc", "[run]\nsource_dirs = pkg\n"),
    ],
)
def test_every_spelling_coverage_py_reads_names_sources(tmp_path: Path, name: str, text: str) -> None:
    project = _project(tmp_path)
    _measure(project)
    (project / name).write_text(text)
    assert _check(project)["status"] == "fail"


@pytest.mark.parametrize("root_dir", [".web", "./.web"])
def test_a_jest_root_dir_is_the_folder_it_names(tmp_path: Path, root_dir: str) -> None:
    project = tmp_path / "repo"
    (project / ".web" / "src").mkdir(parents=True)
    (project / ".web" / "src" / "unused.js").write_text("module.exports = 1;\n")
    (project / "src").mkdir()
    (project / "src" / "app.js").write_text("module.exports = 2;\n")
    (project / "lcov.info").write_text("TN:\nSF:src/app.js\nDA:1,1\nend_of_record\n")
    package = {"jest": {"rootDir": root_dir, "collectCoverageFrom": ["src/**/*.js"]}}
    (project / "package.json").write_text(json.dumps(package))
    outcome = _check(project)
    assert outcome["scope"]["unmeasured"] == [".web/src/unused.js"]


def test_jest_ignore_patterns_are_not_run_and_say_so(tmp_path: Path) -> None:
    project = tmp_path / "web"
    (project / "src").mkdir(parents=True)
    (project / "src" / "app.js").write_text("module.exports = 1;\n")
    (project / "lcov.info").write_text("TN:\nSF:src/app.js\nDA:1,1\nend_of_record\n")
    package = {"jest": {"coveragePathIgnorePatterns": ["^(([a-z0-9/._]+)+)+Q$"]}}  # exponential in backtracking
    (project / "package.json").write_text(json.dumps(package))
    (unread,) = _check(project)["scope"]["unread"]
    assert unread.startswith("package.json: jest.coveragePathIgnorePatterns is not applied")


NESTED = 100_000


@pytest.mark.parametrize(
    ("name", "text", "words"),
    [
        ("package.json", '{"jest": ' + "[" * NESTED + "]" * NESTED + "}", "not valid JSON"),
        ("pyproject.toml", "[tool.coverage.run]\nsource = " + "[" * 5000 + "]" * 5000 + "\n", "not valid TOML"),
        ("package.json", json.dumps({"jest": {"collectCoverageFrom": ["pkg/" + "{a,b}" * 12 + "*.py"]}}), "expand"),
        (".coveragerc", "[run]\nomit = pkg/[\n", "a pattern coverage.py cannot read"),
        (".coveragerc", "[run]\ninclude = pkg/[z-a]\n", "a pattern coverage.py cannot read"),
        ("setup.cfg", "[coverage:run]\nomit = a**b\n", "a pattern coverage.py cannot read"),
    ],
    ids=["deep-json", "deep-toml", "brace-limit", "open-bracket", "bad-range", "double-star"],
)
def test_configuration_that_cannot_be_read_is_an_input_error_naming_it(
    tmp_path: Path, name: str, text: str, words: str
) -> None:
    from checker.errors import InputError

    project = _project(tmp_path)
    _measure(project)
    (project / name).write_text(text)
    with pytest.raises(InputError) as error:
        _check(project)
    assert error.value.path == name and words in str(error.value)


def test_a_source_too_deeply_nested_to_parse_is_counted_by_its_lines(tmp_path: Path) -> None:
    project = _project(tmp_path)
    _measure(project)
    (project / "pkg" / "untested.py").write_text("x = " + "+".join(["1"] * 200_000) + "\n" + UNTESTED)
    outcome = _check(project, coverage={"sources": ["pkg/*.py"]})
    assert outcome["status"] == "fail"


def test_a_file_only_a_stale_report_names_still_counts(tmp_path: Path) -> None:
    project = _project(tmp_path)
    _measure(project, "--source=pkg")  # covers untested.py: 0 of 40
    (project / "old").mkdir()
    (project / "coverage.xml").rename(project / "old" / "coverage.xml")
    old = 1_600_000_000
    os.utime(project / "old" / "coverage.xml", (old, old))
    (project / "pkg" / "untested.py").unlink()
    (project / "pkg" / "untested.py").write_text(UNTESTED)  # changed after the old report: it is stale
    (project / "tests" / "test_untested.py").write_text("def test_nothing():\n    pass\n")
    _measure(project)  # a fresh report that names only tested.py
    outcome = _check(project)
    assert outcome["status"] == "fail"  # untested.py, in the stale report only, counts with no line covered


SAM_APP = """\
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    Runtime: python3.12
Resources:
  HelloFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: hello_world/
      Handler: app.handler
"""


def test_the_code_a_template_deploys_counts_without_any_configuration(tmp_path: Path) -> None:
    # Seen in a public SAM sample: the only unit test passes without importing the function.
    project = tmp_path / "app"
    (project / "hello_world").mkdir(parents=True)
    (project / "hello_world" / "app.py").write_text("def handler(event, context):\n    return {'statusCode': 200}\n")
    (project / "tests").mkdir()
    (project / "tests" / "test_nothing.py").write_text("def test_do_nothing():\n    pass\n")
    (project / "template.yaml").write_text(SAM_APP)
    _measure(project)  # the report names only the test module
    outcome = _check(project)
    assert outcome["status"] == "fail"
    assert outcome["scope"]["defined_by"] == ["templates' function code"]
    assert outcome["scope"]["unmeasured"] == ["hello_world/app.py"]
    assert "tests/test_nothing.py" in _check(project, coverage={"exclude": ["tests/*"]})["scope"]["excluded"]


def _sam_project(tmp_path: Path, template: str, code_folder: str = "hello_world") -> Path:
    project = tmp_path / "app"
    (project / code_folder).mkdir(parents=True)
    (project / code_folder / "app.py").write_text("def handler(event, context):\n    return {'statusCode': 200}\n")
    (project / "tests").mkdir()
    (project / "tests" / "test_nothing.py").write_text("def test_do_nothing():\n    pass\n")
    (project / "template.yaml").write_text(template)
    _measure(project)
    return project


@pytest.mark.parametrize(
    "properties",
    [
        "      CodeUri: hello_world/\n      Runtime: !Ref Rt\n",
        "      CodeUri: hello_world/\n      Runtime: !Sub python3.12\n",
        "      CodeUri: !Sub hello_world/\n      Runtime: python3.12\n",
        "      CodeUri: hello_world/\n      Runtime: !If [Old, python3.9, python3.12]\n",
        "      CodeUri: hello_world/\n      Runtime: !Ref Unknown\n",  # nothing resolves it: every language counts
    ],
)
def test_deployed_code_written_with_intrinsics_still_counts(tmp_path: Path, properties: str) -> None:
    template = (
        "Transform: AWS::Serverless-2016-10-31\nParameters:\n  Rt: {Type: String, Default: python3.12}\n"
        "  Unknown: {Type: String}\nConditions:\n  Old: !Equals [!Ref Rt, old]\nResources:\n  Fn:\n"
        "    Type: AWS::Serverless::Function\n    Properties:\n      Handler: app.handler\n" + properties
    )
    outcome = _check(_sam_project(tmp_path, template))
    assert outcome["scope"]["unmeasured"] == ["hello_world/app.py"]


def test_deployed_code_behind_a_linked_folder_still_counts(tmp_path: Path) -> None:
    project = _sam_project(tmp_path, SAM_APP, code_folder="realsrc")
    (project / "hello_world").symlink_to("realsrc")
    assert _check(project)["scope"]["unmeasured"] == ["realsrc/app.py"]


def test_layer_code_counts_too(tmp_path: Path) -> None:
    template = SAM_APP.replace("      CodeUri: hello_world/\n", "      CodeUri: s3://bucket/fn.zip\n") + (
        "  Shared:\n    Type: AWS::Serverless::LayerVersion\n    Properties:\n      ContentUri: layer/\n"
        "      CompatibleRuntimes: [python3.12]\n"
    )
    project = _sam_project(tmp_path, template, code_folder="layer/python")
    assert _check(project)["scope"]["unmeasured"] == ["layer/python/app.py"]


def test_a_committed_decoy_of_the_deployed_template_cannot_take_its_code_away(tmp_path: Path) -> None:
    # The deployed template is generated in the build (untracked); the same bytes are committed elsewhere.
    project = _sam_project(tmp_path, SAM_APP)
    (project / "decoy").mkdir()
    (project / "decoy" / "template.yaml").write_text(SAM_APP)
    for args in (["init", "-q"], ["add", "decoy/template.yaml"]):
        subprocess.run(["git", "-C", str(project), *args], check=True)
    subprocess.run(
        ["git", "-C", str(project), "-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-qm", "i"],
        check=True,
    )
    outcome = _check(project)
    assert "hello_world/app.py" in outcome["scope"]["unmeasured"]


def test_deployed_code_in_an_ignored_build_folder_counts_as_its_original(tmp_path: Path) -> None:
    project = _sam_project(tmp_path, SAM_APP.replace("CodeUri: hello_world/", "CodeUri: build/"))
    (project / "build").mkdir()
    shutil.copy(project / "hello_world" / "app.py", project / "build" / "app.py")  # the build's copy
    (project / "build" / "generated.py").write_text("VALUE = 1\n")  # deployed, committed nowhere
    (project / ".gitignore").write_text("build/\n")
    subprocess.run(["git", "-C", str(project), "init", "-q"], check=True)
    subprocess.run(["git", "-C", str(project), "add", "."], check=True)
    assert _check(project)["scope"]["unmeasured"] == ["build/generated.py", "hello_world/app.py"]


def test_deployed_code_behind_a_nested_link_counts(tmp_path: Path) -> None:
    project = _sam_project(tmp_path, SAM_APP)
    (project / "lib" / "pkg").mkdir(parents=True)
    (project / "lib" / "pkg" / "billing.py").write_text("def charge():\n    return 1\n")
    (project / "hello_world" / "pkg").symlink_to(project / "lib" / "pkg")
    assert "lib/pkg/billing.py" in _check(project)["scope"]["unmeasured"]


@pytest.mark.parametrize(
    "resource",
    [
        # Before `aws cloudformation package` uploads it, Code names the local folder.
        "  Fn:\n    Type: AWS::Lambda::Function\n    Properties:\n      Code: hello_world/\n      Runtime: python3.12\n"
        "      Handler: app.handler\n      Role: arn:aws:iam::111122223333:role/r\n",
        # A container image function: its build context is the code.
        "  Fn:\n    Type: AWS::Serverless::Function\n    Properties:\n      PackageType: Image\n"
        "    Metadata:\n      DockerContext: ./hello_world\n      Dockerfile: Dockerfile\n",
    ],
)
def test_code_of_plain_lambda_and_image_functions_counts(tmp_path: Path, resource: str) -> None:
    template = "Transform: AWS::Serverless-2016-10-31\nResources:\n" + resource
    assert _check(_sam_project(tmp_path, template))["scope"]["unmeasured"] == ["hello_world/app.py"]


def test_deployed_code_too_large_to_count_whole_is_an_error_not_a_part_count(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from checker.errors import InputError
    from checker.evidence import sources

    monkeypatch.setattr(sources, "_MAX_DEPLOYED_FILES", 3)  # the real limit is 50,000
    project = _sam_project(tmp_path, SAM_APP)
    for index in range(5):  # empty modules sorted first would otherwise push the real code past the limit
        (project / "hello_world" / f"aaa{index}.py").write_text("")
    with pytest.raises(InputError, match="more than 3 source files under the deployed code folder"):
        _check(project)
