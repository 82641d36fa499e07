from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from checker.discovery import discover
from checker.errors import UsageError
from checker.policy import Exclude
from checker.templates import load_template

CFN = "AWSTemplateFormatVersion: '2010-09-09'\nResources:\n  T:\n    Type: AWS::SNS::Topic\n"
CFN_JSON = json.dumps({"Resources": {"T": {"Type": "AWS::SNS::Topic"}}})


def _found(tmp_path: Path, *paths: Path, excludes: tuple[Exclude, ...] = ()) -> dict[str, str]:
    result = discover(paths or (tmp_path,), tmp_path, excludes)
    templates = {}
    for candidate in result.candidates:
        template = load_template(candidate)
        if template is not None:
            templates[template.relpath] = f"{template.kind}:{template.stack}"
    return templates


def test_templates_are_found_by_content_not_name(tmp_path: Path, write) -> None:  # type: ignore[no-untyped-def]
    write("infra/stack.yaml", CFN)
    write("infra/odd-name.template", CFN)
    write("package.json", '{"name": "app", "version": "1.0.0"}')
    write("config.yml", "Resources:\n  just: a word\n")
    write(
        "sam/template.yml",
        "Transform: AWS::Serverless-2016-10-31\nResources:\n  F:\n    Type: AWS::Serverless::Function\n",
    )
    assert _found(tmp_path) == {
        "infra/stack.yaml": "cloudformation:None",
        "infra/odd-name.template": "cloudformation:None",
        "sam/template.yml": "sam:None",
    }


def test_dependency_vcs_and_cache_folders_are_skipped(tmp_path: Path, write) -> None:  # type: ignore[no-untyped-def]
    for folder in ("node_modules/x", ".git", ".aws-sam/build", "venv", "pkg/__pycache__"):
        write(f"{folder}/t.yaml", CFN)
    write("myenv/pyvenv.cfg", "home = /usr\n")
    write("myenv/lib/t.yaml", CFN)
    write("app/t.yaml", CFN)
    assert set(_found(tmp_path)) == {"app/t.yaml"}


def test_cdk_cloud_assembly_with_nested_stage_gets_stack_names(tmp_path: Path, write) -> None:  # type: ignore[no-untyped-def]
    write(
        "cdk.out/manifest.json",
        json.dumps(
            {
                "artifacts": {
                    "Api": {
                        "type": "aws:cloudformation:stack",
                        "properties": {"templateFile": "Api.template.json"},
                    },
                    "assembly-Prod": {
                        "type": "cdk:cloud-assembly",
                        "properties": {"directoryName": "assembly-Prod"},
                    },
                }
            }
        ),
    )
    write("cdk.out/Api.template.json", CFN_JSON)
    write(
        "cdk.out/assembly-Prod/manifest.json",
        json.dumps(
            {
                "artifacts": {
                    "ProdApi": {
                        "type": "aws:cloudformation:stack",
                        "displayName": "Prod/Api",
                        "properties": {"templateFile": "ProdApi.template.json"},
                    },
                }
            }
        ),
    )
    write("cdk.out/assembly-Prod/ProdApi.template.json", CFN_JSON)
    write("cdk.out/asset.abc123/template.json", CFN_JSON)
    assert _found(tmp_path) == {
        "cdk.out/Api.template.json": "cdk:Api",
        "cdk.out/assembly-Prod/ProdApi.template.json": "cdk:Prod/Api",
    }


def test_serverless_framework_output_and_hidden_folders_are_found(tmp_path: Path, write) -> None:  # type: ignore[no-untyped-def]
    write(".serverless/cloudformation-template-update-stack.json", CFN_JSON)
    write(".hidden/t.yaml", CFN)
    assert _found(tmp_path) == {
        ".serverless/cloudformation-template-update-stack.json": "serverless:None",
        ".hidden/t.yaml": "cloudformation:None",
    }


def test_excludes_and_explicit_files(tmp_path: Path, write) -> None:  # type: ignore[no-untyped-def]
    write("a/t.yaml", CFN)
    write("b/t.yaml", CFN)
    notes = write("notes.yaml", "just: notes\n")
    assert set(_found(tmp_path, excludes=(Exclude("b", "test"),))) == {"a/t.yaml"}
    skipped = discover([tmp_path], tmp_path, [Exclude("b", "--exclude")]).skipped
    assert [(s.relpath, s.reason) for s in skipped] == [("b", "excluded by --exclude: b")]
    # A file named explicitly is checked even if it does not look like a template.
    result = discover([notes], tmp_path)
    template = load_template(result.candidates[0])
    assert template is not None and template.error is not None
    assert "Resources" in template.error.message


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symlinks")
def test_symlinks_do_not_escape_the_root(tmp_path: Path, write) -> None:  # type: ignore[no-untyped-def]
    outside = write("outside/secret.yaml", CFN)
    root = tmp_path / "repo"
    (root / "infra").mkdir(parents=True)
    (root / "infra" / "link.yaml").symlink_to(outside)
    (root / "linkdir").symlink_to(outside.parent)
    result = discover([root], root)
    assert result.candidates == ()
    assert {s.relpath for s in result.skipped} == {"infra/link.yaml", "linkdir"}


def test_paths_outside_the_root_or_missing_are_usage_errors(tmp_path: Path, write) -> None:  # type: ignore[no-untyped-def]
    write("repo/t.yaml", CFN)
    other = write("elsewhere/t.yaml", CFN)
    with pytest.raises(UsageError, match="outside the root"):
        discover([other], tmp_path / "repo")
    with pytest.raises(UsageError, match="no such file"):
        discover([tmp_path / "missing"], tmp_path)


def test_evidence_is_found_by_the_names_tools_give_it(tmp_path: Path) -> None:
    reports = {
        ".coverage",
        "coverage.xml",
        "web/coverage/lcov.info",
        "web/coverage/cobertura-coverage.xml",
        "api/TestResults/run-1/coverage.cobertura.xml",
        "build/reports/jacoco/test/jacocoTestReport.xml",
        "reports/semgrep.sarif",
    }
    not_reports = {"node_modules/lib/coverage/lcov.info", "notes/coverage-plan.xml"}
    for name in reports | not_reports:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")
    assert {c.relpath for c in discover([tmp_path], tmp_path).evidence} == reports


# Templates that must not escape (found by trying to hide them): decided by
# parsing, whatever the name, folder, spelling or encoding.

ESCAPED_SPELLINGS = {
    "folded.yaml": "Resources:\n  T:\n    Type: >-\n      AWS::SNS::Topic\n",
    "unicode.json": '{"\\u0052esources": {"T": {"Type": "AWS::SNS::Topic"}}}',
    "complex-key.yaml": "? Resources\n: T:\n    Type: AWS::SNS::Topic\n",
    "escaped.yaml": '"\\x52esources":\n  T:\n    "\\x54ype": AWS::SNS::Topic\n',
}


def _git_repo(root: Path) -> None:
    import subprocess

    git = ["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A", "-f"], check=True)
    subprocess.run([*git, "commit", "-qm", "all"], check=True)


@pytest.mark.parametrize("name", sorted(ESCAPED_SPELLINGS))
def test_a_template_is_what_parses_as_one_however_it_is_spelled(tmp_path: Path, write, name: str) -> None:  # type: ignore[no-untyped-def]
    write(f"infra/{name}", ESCAPED_SPELLINGS[name])
    assert set(_found(tmp_path)) == {f"infra/{name}"}


@pytest.mark.parametrize(
    "relpath",
    [
        "infra/stack.cfn",
        "infra/stack.txt",
        "infra/stack",
        ".hidden/stack.yaml",
        "venv/stack.yaml",
        "node_modules/pkg/stack.yaml",
        "lib/site-packages/stack.yaml",
        "app.egg-info/stack.yaml",
        "env/stack.yaml",  # beside a pyvenv.cfg
    ],
)
def test_whatever_git_tracks_is_judged_whatever_its_name_or_folder(tmp_path: Path, write, relpath: str) -> None:  # type: ignore[no-untyped-def]
    write(relpath, CFN)
    write("env/pyvenv.cfg", "home = /usr\n")
    _git_repo(tmp_path)
    assert relpath in _found(tmp_path)


def test_outside_git_folders_not_walked_are_listed(tmp_path: Path, write) -> None:  # type: ignore[no-untyped-def]
    write("node_modules/pkg/stack.yaml", CFN)
    write("env/pyvenv.cfg", "home = /usr\n")
    write("app/stack.yaml", CFN)
    result = discover([tmp_path], tmp_path)
    assert {c.relpath for c in result.candidates} == {"app/stack.yaml"}
    reasons = {s.relpath: s.reason for s in result.skipped}
    assert set(reasons) == {"node_modules", "env"} and all("not walked" in r for r in reasons.values())


@pytest.mark.parametrize("encoding", ["utf-16", "utf-8-sig", "latin-1"])
def test_templates_in_other_encodings_are_read(tmp_path: Path, encoding: str) -> None:
    text = CFN.replace("T:", "Caf\u00e9Topic:")
    (tmp_path / "stack.yaml").write_bytes(text.encode(encoding))
    (template,) = [load_template(c) for c in discover([tmp_path], tmp_path).candidates]
    assert template is not None and template.error is None and "Caf\u00e9Topic" in template.resources


def test_a_broken_template_is_a_finding_and_other_yaml_is_not(tmp_path: Path, write) -> None:  # type: ignore[no-untyped-def]
    write("broken.yaml", "Resources:\n  T:\n    Type: AWS::SNS::Topic\n   bad: [\n")
    write("chart/templates/deployment.yaml", "apiVersion: apps/v1\nkind: Deployment\nspec: {{ .Values.spec }}\n")
    write(".github/workflows/ci.yml", "on: push\njobs:\n  test:\n    runs-on: ubuntu-latest\n")
    write("jinja.yaml", "{% for x in xs %}\nname: {{ x }}\n{% endfor %}\n")
    loaded = {c.relpath: load_template(c) for c in discover([tmp_path], tmp_path).candidates}
    templates = {k: v for k, v in loaded.items() if v is not None}
    assert set(templates) == {"broken.yaml"} and templates["broken.yaml"].error is not None


def test_a_file_over_the_size_limit_is_listed_not_read(tmp_path: Path, write, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    import checker.discovery

    monkeypatch.setattr(checker.discovery, "MAX_FILE_BYTES", 100)
    write("big.yaml", CFN + "# " + "x" * 200 + "\n")
    result = discover([tmp_path], tmp_path)
    assert result.candidates == () and "over the 100-byte limit" in result.skipped[0].reason


def test_an_ignored_folder_named_on_the_command_line_is_walked(tmp_path: Path, write) -> None:  # type: ignore[no-untyped-def]
    write(".gitignore", "out/\n")
    write("infra/stack.yaml", CFN)
    _git_repo(tmp_path)
    write("out/generated.json", CFN_JSON)  # written by the build, ignored by git
    assert set(_found(tmp_path)) == {"infra/stack.yaml"}
    assert set(_found(tmp_path, tmp_path / "out")) == {"out/generated.json"}


def test_cdk_output_is_found_where_cdk_json_says(tmp_path: Path, write) -> None:  # type: ignore[no-untyped-def]
    write(".gitignore", "build/\n")
    write("app/cdk.json", json.dumps({"app": "python3 app.py", "output": "build/cdk"}))
    _git_repo(tmp_path)
    write("app/build/cdk/Api.template.json", CFN_JSON)
    assert set(_found(tmp_path)) == {"app/build/cdk/Api.template.json"}


@pytest.mark.parametrize(
    "text",
    [
        'AWSTemplateFormatVersion: "2010-09-09"\nDescription: a\nDescription: b\n'
        "&k Resources:\n  T: {Type: AWS::SNS::Topic}\n",
        '{"Description": "a", "Description": "b", "\\u0052esources": {"T": {"Type": "AWS::SNS::Topic"}}}',
        # Any letter escaped, with something checker cannot read (a lone surrogate).
        '{"R\\u0065sources": {"T": {"Type": "AWS::SNS::Topic", "Properties": {"X": "\\udcff"}}}}',
        '{"Res\\u006Furces": {"T": {"Type": "AWS::SNS::Topic"}}, "Resources": {}}',
        "  Description: a\n  Description: b\n  Resources:\n    T: {Type: AWS::SNS::Topic}\n",
        "{Description: a, Description: b, Resources: {T: {Type: AWS::SNS::Topic}}}",
    ],
)
def test_a_template_checker_cannot_parse_is_tpl001_however_resources_is_spelled(
    tmp_path: Path,
    write,
    text: str,  # type: ignore[no-untyped-def]
) -> None:
    write("stack.yaml", text)  # duplicate keys: CloudFormation takes the last, checker refuses
    (template,) = [load_template(c) for c in discover([tmp_path], tmp_path).candidates]
    assert template is not None and template.error is not None


def test_templates_in_a_submodule_are_judged(tmp_path: Path, write) -> None:  # type: ignore[no-untyped-def]
    import subprocess

    sub = tmp_path / "infra-src"
    (sub / "x").mkdir(parents=True)
    (sub / "template.yaml").write_text(CFN)
    _git_repo(sub)
    repo = tmp_path / "repo"
    (repo / "app").mkdir(parents=True)
    (repo / "app" / "stack.yaml").write_text(CFN)
    _git_repo(repo)
    base = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*base, "-c", "protocol.file.allow=always", "submodule", "add", "-q", str(sub), "infra"], check=True)
    subprocess.run([*base, "commit", "-qm", "submodule"], check=True)
    assert set(_found(repo)) == {"app/stack.yaml", "infra/template.yaml"}


def test_every_template_a_cdk_manifest_names_is_judged(tmp_path: Path, write) -> None:  # type: ignore[no-untyped-def]
    manifest = {
        "artifacts": {
            "App": {"type": "aws:cloudformation:stack", "properties": {"templateFile": "asset.3f2a/App.template.json"}},
            "Far": {"type": "aws:cloudformation:stack", "properties": {"templateFile": "../../elsewhere/Far.json"}},
        }
    }
    write("cdk.out/manifest.json", json.dumps(manifest))
    write("cdk.out/tree.json", "{}")
    write("cdk.out/asset.3f2a/App.template.json", CFN_JSON)
    result = discover([tmp_path], tmp_path)
    assert [(c.relpath, c.stack) for c in result.candidates if c.relpath.endswith(".template.json")] == [
        ("cdk.out/asset.3f2a/App.template.json", "App")
    ]
    assert any("outside the root" in s.reason for s in result.skipped)


def test_cdk_output_outside_the_root_is_listed(tmp_path: Path, write) -> None:  # type: ignore[no-untyped-def]
    write("app/cdk.json", json.dumps({"app": "x", "output": "/tmp/somewhere-else"}))
    _git_repo(tmp_path)
    result = discover([tmp_path], tmp_path)
    assert [(s.relpath, "outside the root" in s.reason) for s in result.skipped] == [("app/cdk.json", True)]


def test_a_pipe_named_like_a_template_is_listed_not_read(tmp_path: Path, write) -> None:  # type: ignore[no-untyped-def]
    os.mkfifo(tmp_path / "stack.yaml")
    os.mkfifo(tmp_path / "coverage.xml")
    result = discover([tmp_path], tmp_path)
    assert result.candidates == () and result.evidence == ()
    assert [s.relpath for s in result.skipped] == ["coverage.xml", "stack.yaml"]


def test_the_serverless_state_file_is_not_a_template(tmp_path: Path, write) -> None:  # type: ignore[no-untyped-def]
    state = {
        "service": {
            "service": "orders",
            "provider": {
                "stage": "dev",
                "compiledCloudFormationTemplate": {"Resources": {"T": {"Type": "AWS::SNS::Topic"}}},
            },
        },
        "package": {"artifactDirectoryName": "serverless/orders/dev"},
    }
    write("serverless.yml", "service: orders\nprovider: {name: aws}\n")
    write(".serverless/serverless-state.json", json.dumps(state))
    write(".serverless/cloudformation-template-update-stack.json", CFN_JSON)
    # Read for what it tells: the service and stage the framework names things after.
    assert _found(tmp_path) == {".serverless/cloudformation-template-update-stack.json": "serverless:orders-dev"}


def test_documents_and_code_that_quote_a_template_are_not_broken_templates(tmp_path: Path, write) -> None:  # type: ignore[no-untyped-def]
    write("README.md", "# Starter\n\nDeploy this:\n\n```yaml\nResources:\n  Bucket:\n    Type: AWS::S3::Bucket\n```\n")
    write("test/stack.test.ts", 'template.templateMatches({\n  "Resources": {},\n});\n')
    write("broken.yaml", "Resources:\n  Bucket: [\n")
    assert _found(tmp_path) == {"broken.yaml": "cloudformation:None"}  # only the YAML file is a (broken) template


def test_naming_a_template_still_finds_the_projects_evidence(tmp_path: Path, write) -> None:  # type: ignore[no-untyped-def]
    write("services/orders/template.yaml", "Resources:\n  Q:\n    Type: AWS::SQS::Queue\n")
    write("services/orders/coverage.xml", "<coverage/>\n")
    found = discover([tmp_path / "services" / "orders" / "template.yaml"], tmp_path)
    assert [c.relpath for c in found.evidence] == ["services/orders/coverage.xml"]
    assert discover([tmp_path / "services" / "orders" / "template.yaml"], tmp_path, find_evidence=False).evidence == ()


def test_a_cdk_app_that_was_not_synthesized_is_named_among_the_skipped(tmp_path: Path, write) -> None:  # type: ignore[no-untyped-def]
    import subprocess

    write("infra/cdk.json", '{"app": "npx ts-node bin/app.ts"}')
    write("infra/bin/app.ts", "new App();\n")
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    subprocess.run(["git", "-C", str(tmp_path), "add", "."], check=True)
    skipped = {s.relpath: s.reason for s in discover([tmp_path], tmp_path).skipped}
    assert skipped["infra/cdk.out"].startswith("build output not there: synthesize or package the app")


def test_untracked_dependency_folders_git_does_not_ignore_are_listed_not_judged(tmp_path: Path, write) -> None:  # type: ignore[no-untyped-def]
    import subprocess

    write("template.yaml", CFN_JSON)
    write("node_modules/serverless/core-cloudformation-template.json", CFN_JSON)
    write("cdk.out/asset.3f2a/template.json", CFN_JSON)
    write(".venv/pyvenv.cfg", "home = /usr\n")
    write(".venv/lib/t.json", CFN_JSON)
    write("vendored/node_modules/lib/t.json", CFN_JSON)
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    subprocess.run(["git", "-C", str(tmp_path), "add", "template.yaml", "vendored"], check=True)
    assert set(_found(tmp_path)) == {"template.yaml", "vendored/node_modules/lib/t.json"}  # tracked: the team's
    skipped = {s.relpath for s in discover([tmp_path], tmp_path).skipped}
    assert {"node_modules", "cdk.out/asset.3f2a", ".venv"} <= skipped


def _assembly(write) -> None:  # type: ignore[no-untyped-def]
    manifest = {
        "artifacts": {
            "Api": {
                "type": "aws:cloudformation:stack",
                "properties": {"templateFile": "Api.template.json", "stackName": "orders-api"},
            }
        }
    }
    write("cdk.json", '{"app": "x"}')
    write("cdk.out/manifest.json", json.dumps(manifest))
    write("cdk.out/tree.json", "{}")
    write("cdk.out/Api.template.json", CFN_JSON)


def test_a_synthesized_template_named_on_the_command_line_keeps_its_stack(tmp_path: Path, write) -> None:  # type: ignore[no-untyped-def]
    _assembly(write)
    assert _found(tmp_path, tmp_path / "cdk.out" / "Api.template.json") == {
        "cdk.out/Api.template.json": "cdk:orders-api"
    }


def test_an_untracked_assembly_git_does_not_ignore_keeps_its_stacks(tmp_path: Path, write) -> None:  # type: ignore[no-untyped-def]
    import subprocess

    _assembly(write)
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    subprocess.run(["git", "-C", str(tmp_path), "add", "cdk.json"], check=True)
    assert _found(tmp_path) == {"cdk.out/Api.template.json": "cdk:orders-api"}


@pytest.mark.parametrize(
    "manifest",
    [
        '{"artifacts": {"Api": {"type": "aws:cloudformation:stack", "properties": "zz"}}}',
        '{"artifacts": ["Api"]}',
        "[" * 5000 + "]" * 5000,
    ],
)
def test_a_malformed_cdk_manifest_only_loses_stack_names(tmp_path: Path, write, manifest: str) -> None:  # type: ignore[no-untyped-def]
    write("cdk.out/manifest.json", manifest)
    write("cdk.out/tree.json", "{}")
    write("cdk.out/Api.template.json", CFN_JSON)
    assert _found(tmp_path) == {"cdk.out/Api.template.json": "cdk:None"}


def test_a_malformed_serverless_state_file_only_loses_the_namespace(tmp_path: Path, write) -> None:  # type: ignore[no-untyped-def]
    write("serverless.yml", "service: svc\n")
    write(".serverless/serverless-state.json", '{"service": {"service": "svc", "provider": "aws"}}')
    write(".serverless/cloudformation-template-update-stack.json", CFN_JSON)
    assert _found(tmp_path) == {".serverless/cloudformation-template-update-stack.json": "serverless:None"}
