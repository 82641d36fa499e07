"""What a team with files in the ledger's bucket, or an insider with the
database file, tried against the ledger (a red-team round), each a case the
ledger must hold."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from checker.cli import main
from checker.ledger.store import Ledger

from .conftest import World


def _ingest(world: World, db: Path, *paths: Path, checkpoint: bool = True) -> int:
    args = ["ledger", "ingest", *map(str, paths), "--db", str(db), "--expect", str(world.expect)]
    return main([*args, "--checkpoint-key", world.checkpoint_key] if checkpoint else args)


def _query(db: Path, capsys: pytest.CaptureFixture[str], *args: str) -> list[dict[str, Any]]:
    capsys.readouterr()
    assert main(["ledger", "query", *args, "--db", str(db), "--format", "json"]) == 0
    rows: list[dict[str, Any]] = json.loads(capsys.readouterr().out)
    return rows


def _envelope(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def _forge(target: Path, statement: dict[str, Any], signatures: list[Any] | None = None) -> None:
    payload = base64.b64encode(json.dumps(statement).encode()).decode()
    target.parent.mkdir(parents=True, exist_ok=True)
    envelope = {"payloadType": "application/vnd.in-toto+json", "payload": payload, "signatures": signatures or []}
    target.write_text(json.dumps(envelope))


def _statement(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(base64.b64decode(_envelope(path)["payload"]))
    return data


def test_a_copy_stripped_of_its_signature_cannot_take_the_real_reports_place(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    real = world.reports / "payments" / "2.dsse.json"
    squat = tmp_path / "drop" / "0000" / "copy.json"  # sorts first
    copy = _envelope(real) | {"signatures": []}
    squat.parent.mkdir(parents=True)
    squat.write_text(json.dumps(copy))
    db = tmp_path / "l.duckdb"
    assert _ingest(world, db, tmp_path / "drop", world.reports) == 0
    rows = {r["repository"]: r for r in _query(db, capsys, "compliance", "--as-of", "2026-11-12")}
    assert rows["github.com/acme/payments"]["compliant"] is True


def test_a_forged_later_report_hides_neither_a_failure_nor_a_waiver(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    billing = _statement(world.reports / "billing" / "3.dsse.json")
    billing["predicate"]["verdict"] = "pass"
    billing["predicate"]["timestamps"]["finished"] = "2026-11-11T10:00:00Z"
    billing["predicate"]["waivers"]["applied"] = [
        {"id": "fake", "rule": "IAM006", "approved_by": "ciso@acme.example", "ticket": "SEC-1", "expires": "2026-11-13"}
    ]
    billing["predicate"]["break_glass"] = {"incident": "INC-666", "active": True, "expires": "2026-11-12T00:00:00Z"}
    _forge(tmp_path / "drop" / "billing.json", billing)
    db = tmp_path / "l.duckdb"
    assert _ingest(world, db, world.reports, tmp_path / "drop") == 0
    failing = {r["repository"] for r in _query(db, capsys, "failing", "--as-of", "2026-11-12")}
    assert "github.com/acme/billing" in failing
    waivers = _query(db, capsys, "waivers-expiring", "--as-of", "2026-11-12", "--days", "30")
    assert all(w["waiver_id"] != "fake" for w in waivers)
    assert all(b["incident"] != "INC-666" for b in _query(db, capsys, "break-glass", "--as-of", "2026-11-12"))
    assert any(u["claims_repository"] == "github.com/acme/billing" for u in _query(db, capsys, "unverified"))


@pytest.mark.parametrize(
    "content",
    [
        b"\x00\x01binary",
        b"{" * 100_000 + b"}" * 100_000,  # nesting deeper than any parser takes
        b'{"payloadType": "application/vnd.in-toto+json", "payload": "!!", "signatures": []}',
        json.dumps({"time": "x", "accepted": True}).encode() + b"\n[1]\nnot json\n",
    ],
    ids=["binary", "deep", "bad-base64", "audit-junk"],
)
def test_malformed_files_are_kept_as_such_and_the_rest_still_ingests(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes
) -> None:
    (tmp_path / "drop").mkdir()
    (tmp_path / "drop" / "000.json").write_bytes(content)
    db = tmp_path / "l.duckdb"
    assert _ingest(world, db, tmp_path / "drop", world.reports) == 0
    assert "compliant" in capsys.readouterr().out
    assert len(_query(db, capsys, "compliance", "--as-of", "2026-11-12")) == 3
    assert _query(db, capsys, "unverified")


def test_a_forged_time_no_question_can_read_breaks_none_of_them(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    statement = _statement(world.reports / "orders" / "1.dsse.json")
    statement["predicate"]["timestamps"]["finished"] = "not-a-time"
    statement["predicate"]["waivers"]["applied"][0]["expires"] = "soon"
    _forge(tmp_path / "drop" / "odd.json", statement)
    audit = tmp_path / "drop" / "audit.jsonl"
    audit.write_text('{"time": "x", "accepted": true}\n')
    db = tmp_path / "l.duckdb"
    assert _ingest(world, db, world.reports, tmp_path / "drop") == 0
    for name in ("compliance", "failing", "waivers-expiring", "break-glass", "releases", "unverified"):
        _query(db, capsys, name)
    assert main(["ledger", "dashboard", "--db", str(db), "--output", str(tmp_path / "site")]) == 0


def test_the_hash_covers_each_entrys_kind_and_key(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "l.duckdb"
    assert _ingest(world, db, world.reports) == 0
    ledger = Ledger(db)
    ledger.db.execute("UPDATE entries SET kind = 'verification' WHERE seq = 2")
    ledger.close()
    capsys.readouterr()
    checkpoint = f"{db}.checkpoint.json"
    key = str(world.keys / "checkpoint.pub")
    assert main(["ledger", "verify", "--db", str(db), "--checkpoint", checkpoint, "--key", key]) == 1
    assert "[altered] entry 2" in capsys.readouterr().out


def test_ingest_does_not_extend_a_chain_that_no_longer_verifies(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "l.duckdb"
    assert _ingest(world, db, world.reports / "billing") == 0
    ledger = Ledger(db)
    ledger.append("report", "f" * 64, {"repository": "github.com/acme/billing", "authentic": True, "compliant": True})
    ledger.close()
    capsys.readouterr()
    assert _ingest(world, db, world.reports) == 2
    assert "does not verify against its last checkpoint" in capsys.readouterr().err
    # And a ledger with entries but no checkpoint is not blessed with a first one.
    Path(f"{db}.checkpoint.json").unlink()
    assert _ingest(world, db, world.reports) == 2


def test_names_that_read_alike_get_their_own_pages(world: World, tmp_path: Path) -> None:
    db = tmp_path / "l.duckdb"
    assert _ingest(world, db, world.reports, checkpoint=False) == 0
    ledger = Ledger(db)
    ledger.append(
        "report",
        "e" * 64,
        {
            "repository": "github.com/acme/billing ",
            "authentic": True,
            "verdict": "pass",
            "finished": "2026-11-12T00:00:00Z",
        },
    )
    ledger.close()
    site = tmp_path / "site"
    assert main(["ledger", "dashboard", "--db", str(db), "--output", str(site), "--as-of", "2026-11-13"]) == 0
    assert len(list((site / "repo").glob("github.com_acme_billing-*.html"))) == 2


def test_text_and_csv_output_defuse_what_a_report_claims(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "l.duckdb"
    assert _ingest(world, db, world.reports, checkpoint=False) == 0
    ledger = Ledger(db)
    claims = {"repository": '=HYPERLINK("http://x")\x1b[2A', "authentic": True, "verdict": "fail"}
    ledger.append("report", "d" * 64, claims | {"finished": "2026-11-12T00:00:00Z"})
    ledger.close()
    capsys.readouterr()
    assert main(["ledger", "query", "failing", "--db", str(db), "--as-of", "2026-11-13", "--format", "csv"]) == 0
    out = capsys.readouterr().out
    assert "'=HYPERLINK" in out and "\x1b" not in out and "\\x1b[2A" in out
    assert main(["ledger", "query", "failing", "--db", str(db), "--as-of", "2026-11-13"]) == 0
    assert "\x1b" not in capsys.readouterr().out


def test_as_of_with_an_offset_is_the_same_instant(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "l.duckdb"
    assert _ingest(world, db, world.reports, checkpoint=False) == 0
    # 04:30 UTC on the day billing's second failing build finished at 09:00 UTC.
    rows = _query(db, capsys, "failing", "--as-of", "2026-11-11T09:30:00+05:00")
    (billing,) = rows
    assert billing["last_report_at"] == "2026-11-10T09:00:00Z"
