"""Coverage readers on real reports: coverage.py's data file, Cobertura XML,
JSON and lcov from one real test run must agree line for line; JaCoCo and Go
profiles are small written fixtures; broken files are input errors."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from checker.errors import InputError
from checker.evidence import Content, EvidenceFile
from checker.evidence.coverage import READERS
from checker.evidence.load import EvidenceInput, detect, load_evidence
from checker.evidence.paths import PathResolver
from checker.repository import load_repository

# calc.py as run by the conftest tests: line -> ran
CALC_LINES = {4: True, 5: True, 6: True, 7: True, 8: False, 9: True, 12: True, 13: False, 14: False}
CALC_BRANCHES = {5: (2, 2), 7: (1, 2)}


def _read(project: Path, name: str):  # type: ignore[no-untyped-def]
    content = Content((project / name).read_bytes(), name)
    kind, fmt = detect(content, name) or ("?", "?")
    assert kind == "coverage", name
    source = EvidenceFile(name, hashlib.sha256(content.raw).hexdigest(), "coverage", fmt)
    resolver = PathResolver(project, load_repository(project, "").files)
    return fmt, READERS[fmt](content, source, resolver, project)


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        (".coverage", "coverage.py"),
        ("coverage.xml", "cobertura"),
        ("coverage.json", "coverage.py-json"),
        ("lcov.info", "lcov"),
    ],
)
def test_every_coverage_py_output_gives_the_same_lines_and_branches(covered_project: Path, name: str, fmt: str) -> None:
    detected, report = _read(covered_project, name)
    assert detected == fmt
    assert report.unresolved == ()
    calc = report.files["pkg/calc.py"]
    assert calc.lines == CALC_LINES
    assert calc.branches == CALC_BRANCHES
    assert report.has_branches


def test_paths_of_another_machine_are_matched_by_their_tail(covered_project: Path) -> None:
    # The session's .coverage names the files where the tests ran, not this copy.
    _, report = _read(covered_project, ".coverage")
    assert set(report.files) == {"pkg/__init__.py", "pkg/calc.py"}


JACOCO = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<!DOCTYPE report PUBLIC "-//JACOCO//DTD Report 1.1//EN" "report.dtd">
<report name="orders">
  <sessioninfo id="build-1" start="1795000000000" dump="1795000005000"/>
  <package name="com/acme/orders">
    <class name="com/acme/orders/Orders" sourcefilename="Orders.java"/>
    <sourcefile name="Orders.java">
      <line nr="5" mi="0" ci="3" mb="0" cb="0"/>
      <line nr="7" mi="0" ci="2" mb="1" cb="1"/>
      <line nr="8" mi="4" ci="0" mb="0" cb="0"/>
      <counter type="LINE" missed="1" covered="2"/>
    </sourcefile>
  </package>
</report>
"""


def test_jacoco_lines_branches_and_java_package_paths(tmp_path: Path) -> None:
    source = tmp_path / "service" / "src" / "main" / "java" / "com" / "acme" / "orders" / "Orders.java"
    source.parent.mkdir(parents=True)
    source.write_text("class Orders {}\n")
    (tmp_path / "build").mkdir()
    (tmp_path / "build" / "jacoco.xml").write_text(JACOCO)
    fmt, report = _read(tmp_path, "build/jacoco.xml")
    assert fmt == "jacoco"
    cov = report.files["service/src/main/java/com/acme/orders/Orders.java"]
    assert cov.lines == {5: True, 7: True, 8: False}
    assert cov.branches == {7: (1, 2)}
    assert report.source.generated == 1795000005.0


def test_go_profile_maps_the_module_path_onto_the_repository(tmp_path: Path) -> None:
    (tmp_path / "go.mod").write_text("module example.com/orders\n\ngo 1.22\n")
    (tmp_path / "store").mkdir()
    (tmp_path / "store" / "store.go").write_text("package store\n")
    (tmp_path / "coverage.out").write_text(
        "mode: count\nexample.com/orders/store/store.go:3.20,5.2 2 4\nexample.com/orders/store/store.go:7.10,8.3 1 0\n"
    )
    fmt, report = _read(tmp_path, "coverage.out")
    assert fmt == "go-cover"
    assert report.files["store/store.go"].lines == {3: True, 4: True, 5: True, 7: False, 8: False}


def test_several_reports_merge_by_lines_not_by_percentages(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("x = 1\n")
    (tmp_path / "unit").mkdir()
    (tmp_path / "integration").mkdir()
    (tmp_path / "unit" / "lcov.info").write_text("SF:a.py\nDA:1,1\nDA:2,0\nDA:3,0\nend_of_record\n")
    (tmp_path / "integration" / "lcov.info").write_text("SF:a.py\nDA:1,0\nDA:2,5\nDA:3,0\nend_of_record\n")
    resolver = PathResolver(tmp_path, load_repository(tmp_path, "").files)
    items = [EvidenceInput(tmp_path / f / "lcov.info", f"{f}/lcov.info", True) for f in ("unit", "integration")]
    evidence = load_evidence(items, resolver, tmp_path)
    merged = evidence.coverage[0].files["a.py"].merged(evidence.coverage[1].files["a.py"])
    assert merged.lines == {1: True, 2: True, 3: False}  # 2 of 3 lines, not the average of 33% and 33%


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        (
            "coverage.xml",
            '<?xml version="1.0" ?>\n<coverage line-rate="1">\n<packages><package>',
            "not well-formed XML",
        ),
        ("lcov.info", "TN:\nSF:a.py\nDA:1,1\n", "has no end_of_record: the file is truncated"),
        ("lcov.info", "SF:a.py\nDA:one,1\nend_of_record\n", "malformed DA line"),
        ("coverage.json", '{"meta": {"format": 3}, "files": {"a.py": {"executed_lines": [1', "not valid JSON"),
        ("coverage.out", "mode: set\na.go:1.1,2.2 1\n", "malformed profile line"),
        ("coverage.json", "[" * 100_000, "not valid JSON"),
        (
            "jacoco.xml",
            '<report name="x"><package name="p"><sourcefile name="A.java"><line nr="x" mi="0" ci="1"/>',
            "not well-formed",
        ),
    ],
)
def test_corrupt_or_truncated_evidence_is_an_input_error_naming_the_file(
    tmp_path: Path, name: str, content: str, message: str
) -> None:
    (tmp_path / name).write_text(content)
    resolver = PathResolver(tmp_path, [])
    with pytest.raises(InputError) as caught:
        load_evidence([EvidenceInput(tmp_path / name, name, True)], resolver, tmp_path)
    assert caught.value.path == name
    assert message in caught.value.message


def test_a_damaged_coverage_data_file_is_an_input_error(covered_project: Path) -> None:
    raw = (covered_project / ".coverage").read_bytes()
    (covered_project / ".coverage").write_bytes(raw[: len(raw) // 3])
    resolver = PathResolver(covered_project, [])
    with pytest.raises(InputError) as caught:
        load_evidence([EvidenceInput(covered_project / ".coverage", ".coverage", True)], resolver, covered_project)
    assert caught.value.path == ".coverage"


def test_unknown_content_is_refused_when_named_and_skipped_when_found(tmp_path: Path) -> None:
    (tmp_path / "coverage.json").write_text('{"total": 93.1}')
    resolver = PathResolver(tmp_path, [])
    item = EvidenceInput(tmp_path / "coverage.json", "coverage.json", False)
    assert load_evidence([item], resolver, tmp_path).skipped[0].relpath == "coverage.json"
    with pytest.raises(InputError, match="not a recognised evidence format"):
        load_evidence([EvidenceInput(item.path, item.relpath, True)], resolver, tmp_path)
    shutil.rmtree(tmp_path)


def test_an_empty_lcov_file_is_an_empty_report_and_other_empty_files_say_they_are_empty(tmp_path: Path) -> None:
    (tmp_path / "lcov.info").write_bytes(b"")
    (tmp_path / "coverage.xml").write_bytes(b"\n")
    resolver = PathResolver(tmp_path, [])
    found = [EvidenceInput(tmp_path / n, n, False) for n in ("lcov.info", "coverage.xml")]
    evidence = load_evidence(found, resolver, tmp_path)
    (report,) = evidence.coverage
    assert (report.source.relpath, report.source.format, report.files) == ("lcov.info", "lcov", {})
    assert [(s.relpath, s.reason) for s in evidence.skipped] == [("coverage.xml", "named like evidence, but empty")]
    with pytest.raises(InputError, match="the file is empty"):
        load_evidence([EvidenceInput(tmp_path / "coverage.xml", "coverage.xml", True)], resolver, tmp_path)


def test_a_monorepos_reports_of_build_copies_map_to_the_sources_they_were_made_from(tmp_path: Path) -> None:
    """Two services with the same layout, each tested against a build copy of
    its sources (an ignored build/ folder): each report maps to its own
    service's files, by content while the copy exists, by folder after."""
    import os
    import subprocess
    import sys

    def write(relpath: str, text: str) -> None:
        (tmp_path / relpath).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relpath).write_text(text)

    for service, value in (("orders", 1), ("products", 2)):
        source = f"def handler(event):\n    if event:\n        return {value}\n    return 0\n"
        write(f"{service}/src/table_update/main.py", source)
        write(f"{service}/build/table_update/main.py", source)
        write(
            f"{service}/build/test_main.py",
            "from table_update.main import handler\n\ndef test_it():\n    assert handler(1)\n",
        )
        env = {**os.environ, "COVERAGE_FILE": str(tmp_path / service / ".coverage")}
        env.pop("COVERAGE_PROCESS_START", None)
        for command in (
            [
                "run",
                "--rcfile=/dev/null",
                "--source=table_update",
                "-m",
                "pytest",
                "-q",
                "-p",
                "no:cacheprovider",
                "test_main.py",
            ],
            ["xml", "--rcfile=/dev/null", "-o", "../coverage.xml"],
        ):
            subprocess.run(
                [sys.executable, "-m", "coverage", *command],
                cwd=tmp_path / service / "build",
                env=env,
                check=True,
                capture_output=True,
            )
    write(".gitignore", "build/\n.coverage\n")
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    subprocess.run(["git", "-C", str(tmp_path), "add", "."], check=True)
    repository = load_repository(tmp_path, "")
    resolver = PathResolver(tmp_path, repository.files)
    found = [EvidenceInput(tmp_path / s / "coverage.xml", f"{s}/coverage.xml", False) for s in ("orders", "products")]
    for copies_exist in (True, False):
        if not copies_exist:
            for service in ("orders", "products"):
                shutil.rmtree(tmp_path / service / "build")
            resolver = PathResolver(tmp_path, repository.files)
        reports = load_evidence(found, resolver, tmp_path).coverage
        assert [sorted(r.files) for r in reports] == [
            ["orders/src/table_update/main.py"],
            ["products/src/table_update/main.py"],
        ]
        assert all(r.unresolved == () for r in reports)
