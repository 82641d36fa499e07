from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"


@pytest.fixture
def corpus() -> Path:
    """The shared corpus of public templates, when it sits beside the checkout."""
    path = SHARED / "corpus"
    if not path.is_dir():
        pytest.skip("../shared/corpus is not present")
    return path


@pytest.fixture
def write(tmp_path: Path):  # type: ignore[no-untyped-def]
    """Write a text file under tmp_path and return its path."""

    def _write(relpath: str, text: str) -> Path:
        path = tmp_path / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    return _write


CALC = '''\
"""A tiny module under test."""


def classify(n):
    if n < 0:
        return "negative"
    if n == 0:
        return "zero"
    return "positive"


def never_called(x):
    y = x * 2
    return y
'''

CALC_TESTS = """\
from pkg.calc import classify


def test_positive():
    assert classify(3) == "positive"


def test_negative():
    assert classify(-1) == "negative"
"""


def run_coverage(project: Path, *extra: str) -> None:
    """Run the project's tests under coverage.py, as a team's build does."""
    env = {**os.environ, "COVERAGE_FILE": str(project / ".coverage")}
    env.pop("COVERAGE_PROCESS_START", None)
    coverage = [sys.executable, "-m", "coverage", "run", "--branch", "--source=pkg"]
    subprocess.run(
        [*coverage, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests", *extra],
        cwd=project,
        env=env,
        check=True,
        capture_output=True,
    )


@pytest.fixture
def coverage_run():  # type: ignore[no-untyped-def]
    """``run_coverage``, for tests that change a project and measure it again."""
    return run_coverage


@pytest.fixture(scope="session")
def coverage_outputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small project and every report coverage.py writes for one test run:
    .coverage, coverage.xml (Cobertura), coverage.json and lcov.info.
    ``pkg/calc.py``: 9 statements, 7 run (never_called's 2 do not); branches
    4, of which 3 taken (``n == 0`` is never true)."""
    project = tmp_path_factory.mktemp("covered")
    (project / "pkg").mkdir()
    (project / "pkg" / "__init__.py").write_text("")
    (project / "pkg" / "calc.py").write_text(CALC)
    (project / "tests").mkdir()
    (project / "tests" / "test_calc.py").write_text(CALC_TESTS)
    run_coverage(project)
    for command in (["xml", "-o", "coverage.xml"], ["json", "-o", "coverage.json"], ["lcov", "-o", "lcov.info"]):
        subprocess.run(
            [sys.executable, "-m", "coverage", *command],
            cwd=project,
            env={**os.environ, "COVERAGE_FILE": str(project / ".coverage")},
            check=True,
            capture_output=True,
        )
    return project


@pytest.fixture
def covered_project(coverage_outputs: Path, tmp_path: Path) -> Path:
    """A fresh copy of the covered project, evidence newer than its sources."""
    project = tmp_path / "project"
    shutil.copytree(coverage_outputs, project)
    old = time.time() - 3600
    for source in (project / "pkg").glob("*.py"):
        os.utime(source, (old, old))
    return project


@pytest.fixture(scope="session")
def scan_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One scan cache for the session: each scanner runs once per distinct file.
    Its entries are authenticated with a secret, as a CI would set it."""
    os.environ.setdefault("CHECKER_CACHE_KEY", "the test suite's cache secret")
    return tmp_path_factory.mktemp("scan-cache")


def _page_requests(net_log: Path) -> list[str]:
    import json

    data = json.loads(net_log.read_text())
    kinds = {v: k for k, v in data["constants"]["logEventTypes"].items()}
    urls = []
    for event in data["events"]:
        params = event.get("params", {})
        # Chromium's own background traffic is not the page's: keep requests made for the file:// page.
        if kinds.get(event["type"]) == "URL_REQUEST_START_JOB" and "file://" in params.get("network_isolation_key", ""):
            urls.append(params["url"])
    return [u for u in urls if not u.startswith(("file:", "data:"))]


@pytest.fixture
def chromium(tmp_path: Path):  # type: ignore[no-untyped-def]
    """Load a page in Debian's headless Chromium: (its log, the requests the
    page made, a screenshot). Skips where Chromium is not installed."""
    if shutil.which("chromium") is None:
        pytest.skip("needs Debian's chromium")

    def load(target: Path, size: str = "1200,1600") -> tuple[str, list[str], Path]:
        shot, net = tmp_path / f"{target.stem}.png", tmp_path / f"{target.stem}-net.json"
        done = subprocess.run(
            [
                "chromium",
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--disable-quic",
                f"--user-data-dir={tmp_path / ('profile-' + target.stem)}",
                "--enable-logging=stderr",
                "--v=0",
                f"--log-net-log={net}",
                f"--screenshot={shot}",
                f"--window-size={size}",
                target.as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        return done.stderr, _page_requests(net), shot

    return load
