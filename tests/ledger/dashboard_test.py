"""The dashboard: a static site with a page per question and per repository,
charts drawn at build time, nothing run or fetched at view time."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from checker.cli import main
from checker.ledger.store import Ledger

from .conftest import T0, World


@pytest.fixture
def site(world: World, tmp_path: Path) -> Path:
    db = tmp_path / "ledger.duckdb"
    assert main(["ledger", "ingest", str(world.reports), "--db", str(db), "--expect", str(world.expect)]) == 0
    ledger = Ledger(db)
    # What a team's signed report may claim: markup in a name and a waiver reason.
    ledger.append(
        "report",
        "f" * 64,
        {
            "repository": "github.com/acme/<script>alert(1)</script>",
            "verdict": "pass",
            "authentic": True,
            "compliant": False,
            "finished": "2026-11-06T10:00:00Z",
            "rules": [],
            "waivers": [
                {
                    "id": "w",
                    "rule": "NAME001",
                    "state": "applied",
                    "reason": '"><img src=x onerror=alert(2)>',
                    "expires": "2026-11-13T00:00:00Z",
                }
            ],
        },
    )
    ledger.close()
    out = tmp_path / "site"
    as_of = (T0 + timedelta(days=10)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert main(["ledger", "dashboard", "--db", str(db), "--output", str(out), "--as-of", as_of]) == 0
    return out


def test_a_page_per_question_and_per_repository(site: Path) -> None:
    pages = sorted(p.relative_to(site).as_posix() for p in site.rglob("*.html"))
    assert pages[:4] == ["break-glass.html", "compliance.html", "failing.html", "index.html"]
    assert any(p.startswith("repo/github.com_acme_payments-") for p in pages) and "rule-trend.html" in pages
    index = (site / "index.html").read_text()
    assert index.count("<svg") == 1 and "Builds per week" in index
    assert (site / "rule-trend.html").read_text().count("<svg") >= 2  # IAM006, NAME001 ...


def test_values_from_reports_are_escaped_and_nothing_can_run(site: Path) -> None:
    for page in site.rglob("*.html"):
        text = page.read_text()
        assert "<script>" not in text and "onerror=alert" not in text.replace("onerror=alert(2)&gt;", "")
        assert "default-src 'none'" in text and "http://" not in text.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in (site / "compliance.html").read_text()


def test_the_site_loads_in_headless_chromium_with_its_charts(site: Path, chromium) -> None:  # type: ignore[no-untyped-def]
    (billing,) = (site / "repo").glob("github.com_acme_billing-*.html")
    for page in (site / "index.html", billing, site / "rule-trend.html"):
        stderr, requests, shot = chromium(page)
        assert ":CONSOLE" not in stderr, stderr[-2000:]
        assert requests == []
        assert shot.stat().st_size > 20_000 and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
