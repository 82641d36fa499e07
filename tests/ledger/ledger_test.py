"""The ledger over real signed reports: judged at ingest, asked the central
team's questions, and tamper-evident."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from checker.cli import main
from checker.ledger.chain import read_checkpoint, verify_chain
from checker.ledger.store import Ledger, chain_hash

from .conftest import T0, World


def _ingest(world: World, tmp_path: Path, *paths: Path) -> Path:
    db = tmp_path / "ledger.duckdb"
    args = ["ledger", "ingest", *(str(p) for p in paths or (world.reports,)), "--db", str(db)]
    args += ["--expect", str(world.expect), "--checkpoint-key", world.checkpoint_key]
    assert main(args) == 0
    return db


def _query(db: Path, capsys: pytest.CaptureFixture[str], *args: str) -> list[dict[str, Any]]:
    capsys.readouterr()
    assert main(["ledger", "query", *args, "--db", str(db), "--format", "json"]) == 0
    rows: list[dict[str, Any]] = json.loads(capsys.readouterr().out)
    return rows


def _at(days: float) -> str:
    return (T0 + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_ingest_judges_each_report_and_is_idempotent(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = _ingest(world, tmp_path)
    first = capsys.readouterr().out
    assert "7 new entries (7 report(s), 3 compliant" in first
    assert main(["ledger", "ingest", str(world.reports), "--db", str(db), "--expect", str(world.expect)]) == 0
    again = capsys.readouterr().out
    assert again.startswith("0 new entries") and "7 already in the ledger" in again


def test_compliance_never_counts_an_unverified_report(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = _ingest(world, tmp_path)
    rows = {r["repository"]: r for r in _query(db, capsys, "compliance", "--as-of", _at(10))}
    assert set(rows) == {"github.com/acme/orders", "github.com/acme/billing", "github.com/acme/payments"}
    # The later orders report passed but was signed by a key nobody trusts: the
    # last authentic one (its first) is what counts, and its waiver.
    orders = rows["github.com/acme/orders"]
    assert orders["last_report_at"] == _at(0) and orders["compliant"] is True and orders["waivers_applied"] == 1
    assert rows["github.com/acme/billing"]["verdict"] == "fail" and not rows["github.com/acme/billing"]["compliant"]
    assert rows["github.com/acme/payments"]["compliant"] is True
    assert rows["github.com/acme/payments"]["policy_version"] == "1.2.0"
    # It is listed where the central team looks for what did not verify.
    (forged,) = _query(db, capsys, "unverified")
    assert forged["claims_repository"] == "github.com/acme/orders" and "key-unknown" in forged["reasons"]


def test_failing_says_since_when(world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = _ingest(world, tmp_path)
    rows = {r["repository"]: r for r in _query(db, capsys, "failing", "--as-of", _at(10))}
    assert set(rows) == {"github.com/acme/billing"}
    assert rows["github.com/acme/billing"]["failing_since"] == _at(8)
    assert rows["github.com/acme/billing"]["why"] == "verdict fail"


def test_waivers_expiring_with_approver_and_ticket(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = _ingest(world, tmp_path)
    (row,) = _query(db, capsys, "waivers-expiring", "--as-of", _at(1), "--days", "30")
    assert (row["rule"], row["approved_by"], row["ticket"]) == ("NAME001", "security@acme.example", "SEC-42")
    assert _query(db, capsys, "waivers-expiring", "--as-of", _at(1), "--days", "7") == []


def test_break_glass_shows_who_why_how_long_and_the_fix(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = _ingest(world, tmp_path)
    (row,) = _query(db, capsys, "break-glass", "--as-of", _at(10))
    assert row["incident"] == "INC-9" and row["reason"] == "payment outage hot fix"
    assert row["hours"] == 6.0 and row["fixed_after"] is True
    (before_fix,) = _query(db, capsys, "break-glass", "--as-of", _at(2.9))
    assert before_fix["fixed_after"] is False


def test_rule_trend_per_week(world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = _ingest(world, tmp_path)
    rows = _query(db, capsys, "rule-trend", "--rule", "IAM006", "--as-of", _at(10))
    assert [(r["week"], r["failed"], r["findings"]) for r in rows] == [
        ("2026-11-02", 1, 1),  # payments' break-glass build
        ("2026-11-09", 2, 2),  # billing twice
    ]


def test_releases_tell_signed_verifications_from_forgeries(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    audit = tmp_path / "audit" / "verify.jsonl"
    audit.parent.mkdir()
    report = world.reports / "payments" / "2.dsse.json"
    keyring = world.expect.parent / "build-keys.yaml"
    args = ["verify", str(report), "--trust", str(keyring), "--allow-no-git", "--audit-log", str(audit)]
    assert main([*args, "--audit-key", world.release_key]) in (0, 1)
    forged = {"time": _at(5), "accepted": True, "reasons": [], "report_sha256": "0" * 64, "verdict": "pass"}
    with audit.open("a") as handle:
        handle.write(json.dumps(forged) + "\n")
    db = _ingest(world, tmp_path, world.reports, audit.parent)
    rows = _query(db, capsys, "releases")
    assert sorted((r["authentic"], r["accepted"]) for r in rows)[0] == (False, False)  # the forgery
    assert any(r["authentic"] for r in rows)


def test_custom_sql_runs_on_the_same_views(world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = _ingest(world, tmp_path)
    (row,) = _query(db, capsys, "--sql", "SELECT COUNT(*) AS n FROM reports WHERE compliant")
    assert row == {"n": 3}
    capsys.readouterr()
    assert main(["ledger", "query", "--sql", "SELECT * FROM nowhere", "--db", str(db)]) == 2
    assert "the query failed" in capsys.readouterr().err


def test_text_and_csv_output(world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = _ingest(world, tmp_path)
    capsys.readouterr()
    assert main(["ledger", "query", "failing", "--as-of", _at(10), "--db", str(db), "--format", "csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("repository,env,last_verdict") and len(lines) == 2
    assert main(["ledger", "query", "compliance", "--as-of", _at(10), "--db", str(db)]) == 0
    assert capsys.readouterr().out.rstrip().endswith("(3 rows)")


# -- tamper evidence ---------------------------------------------------------


def _verify(world: World, db: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    capsys.readouterr()
    checkpoint = Path(f"{db}.checkpoint.json")
    code = main(
        [
            "ledger",
            "verify",
            "--db",
            str(db),
            "--checkpoint",
            str(checkpoint),
            "--key",
            str(world.keys / "checkpoint.pub"),
        ]
    )
    return code, capsys.readouterr().out


def _edit(db: Path, sql: str) -> None:
    ledger = Ledger(db)
    ledger.db.execute(sql)
    ledger.close()


def test_an_intact_ledger_verifies(world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = _ingest(world, tmp_path)
    code, out = _verify(world, db, capsys)
    assert code == 0 and out.startswith("OK: 7 entries")


@pytest.mark.parametrize(
    ("tamper", "code"),
    [
        # Flip a verdict in place.
        (
            "UPDATE entries SET record = replace(record, '\"compliant\":false', '\"compliant\":true') WHERE seq = 2",
            "altered",
        ),
        ("DELETE FROM entries WHERE seq = 3", "removed"),
        ("UPDATE entries SET seq = CASE seq WHEN 2 THEN 3 ELSE 2 END WHERE seq IN (2, 3)", "reordered"),
        ("DELETE FROM entries WHERE seq = 7", "truncated"),
    ],
)
def test_tampering_is_caught_and_named(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str], tamper: str, code: str
) -> None:
    db = _ingest(world, tmp_path)
    if "seq = CASE" in tamper:  # the primary key forbids a direct swap: go through a free number
        tamper = (
            "UPDATE entries SET seq = 100 WHERE seq = 2; UPDATE entries SET seq = 2 WHERE seq = 3; "
            "UPDATE entries SET seq = 3 WHERE seq = 100"
        )
    _edit(db, tamper)
    status, out = _verify(world, db, capsys)
    assert status == 1 and f"[{code}]" in out, out


def test_a_recomputed_chain_no_longer_ends_in_the_signed_head(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = _ingest(world, tmp_path)
    ledger = Ledger(db)
    rows = ledger.db.execute("SELECT seq, kind, digest, record FROM entries ORDER BY seq").fetchall()
    prev = "0" * 64
    for seq, kind, digest, record in rows:
        if seq == 2:
            record = record.replace('"compliant":false', '"compliant":true')
        entry_hash = chain_hash(prev, seq, kind, digest, record)
        ledger.db.execute(
            "UPDATE entries SET record = ?, prev_hash = ?, entry_hash = ? WHERE seq = ?",
            [record, prev, entry_hash, seq],
        )
        prev = entry_hash
    ledger.close()
    status, out = _verify(world, db, capsys)
    assert status == 1 and "[recomputed]" in out and "[altered]" not in out


def test_a_checkpoint_signed_by_another_key_is_refused(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = _ingest(world, tmp_path)
    capsys.readouterr()
    checkpoint = f"{db}.checkpoint.json"
    code = main(
        ["ledger", "verify", "--db", str(db), "--checkpoint", checkpoint, "--key", str(world.keys / "build.pub")]
    )
    assert code == 2 and "not signed by a trusted key" in capsys.readouterr().err


def test_chain_checks_in_the_api(world: World, tmp_path: Path) -> None:
    db = _ingest(world, tmp_path)
    keys = {}
    from checker.verify import load_trust

    for key in load_trust(world.keys / "checkpoint.pub"):
        keys[key.keyid] = key.public_key
    checkpoint = read_checkpoint(Path(f"{db}.checkpoint.json"), keys)
    ledger = Ledger(db, read_only=True)
    assert verify_chain(ledger, checkpoint) == [] and checkpoint.count == 7
    ledger.close()


def test_entries_after_the_checkpoint_are_not_covered(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = _ingest(world, tmp_path, world.reports / "billing")
    checkpoint = Path(f"{db}.checkpoint.json")
    kept = checkpoint.read_text()
    _ingest(world, tmp_path, world.reports)
    checkpoint.write_text(kept)  # an ingest whose checkpoint was lost
    status, out = _verify(world, db, capsys)
    assert status == 1 and "[uncovered] 4 entries after the checkpoint" in out


def test_bad_expectations_name_the_field(world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = world.expect.parent / "bad-expect.yaml"
    bad.write_text("trust: build-keys.yaml\nenviroments: [prod]\n")
    code = main(["ledger", "ingest", str(world.reports), "--db", str(tmp_path / "l.duckdb"), "--expect", str(bad)])
    err = capsys.readouterr().err
    assert code == 2 and "bad-expect.yaml:2" in err and "enviroments" in err


def test_ingest_reads_an_s3_prefix(world: World, tmp_path: Path) -> None:
    boto3 = pytest.importorskip("boto3")
    moto = pytest.importorskip("moto")
    from datetime import UTC, datetime

    from checker.ledger.expect import load_expectations
    from checker.ledger.ingest import ingest

    with moto.mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="org-reports")
        for path in sorted(world.reports.rglob("*.dsse.json")):
            client.upload_file(str(path), "org-reports", f"builds/{path.relative_to(world.reports).as_posix()}")
        client.put_object(Bucket="org-reports", Key="builds/README.txt", Body=b"not a report")
        ledger = Ledger(tmp_path / "s3.duckdb")
        try:
            stats = ingest(
                ledger,
                ["s3://org-reports/builds/"],
                load_expectations(world.expect),
                lambda: datetime.now(UTC),
                s3=client,
            )
        finally:
            ledger.close()
    assert (stats.files, stats.reports, stats.compliant) == (7, 7, 3)


@pytest.mark.parametrize(
    "added",
    [
        # A view kept in the file that answers "compliant" for everyone.
        "CREATE VIEW reports AS SELECT 'x' AS repository, true AS compliant",
        # A macro that shadows a function the views call.
        "CREATE MACRO json_extract_string(a, b) AS 'true'",
        "CREATE TABLE ledger_params AS SELECT TIMESTAMP '2099-01-01' AS as_of",
    ],
)
def test_objects_added_to_the_database_are_refused_and_named(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str], added: str
) -> None:
    db = _ingest(world, tmp_path)
    _edit_raw(db, added)
    capsys.readouterr()
    assert main(["ledger", "query", "compliance", "--db", str(db)]) == 2
    assert "holds what checker never creates" in capsys.readouterr().err
    status, out = _verify(world, db, capsys)
    assert status == 1 and "[foreign]" in out


def _edit_raw(db: Path, sql: str) -> None:
    import duckdb

    connection = duckdb.connect(str(db))
    connection.execute(sql)
    connection.close()


def test_an_old_checkpoint_is_refused_with_max_age(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = _ingest(world, tmp_path)
    checkpoint = str(Path(f"{db}.checkpoint.json"))
    key = str(world.keys / "checkpoint.pub")
    capsys.readouterr()
    assert main(["ledger", "verify", "--db", str(db), "--checkpoint", checkpoint, "--key", key, "--max-age", "1h"]) == 0
    import time

    time.sleep(1.1)
    code = main(["ledger", "verify", "--db", str(db), "--checkpoint", checkpoint, "--key", key, "--max-age", "1s"])
    assert code == 1 and "[stale-checkpoint]" in capsys.readouterr().out


def test_a_report_dated_after_it_was_ingested_is_not_compliant(world: World, tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from .conftest import REGISTRY, sign_report  # noqa: F401  (the world's helpers)

    future = tmp_path / "future.dsse.json"
    source = world.root / "src" / "payments"
    from checker.signing import load_signer

    signer = load_signer(world.build_key, {})
    sign_report(source, world.base, signer, datetime.now(UTC) + timedelta(days=3), future, env="prod")  # type: ignore[arg-type]
    db = _ingest(world, tmp_path, future)
    ledger = Ledger(db, read_only=True)
    ((compliant, reasons),) = ledger.db.execute("SELECT compliant, reasons FROM reports").fetchall()
    ledger.close()
    assert compliant is False and '"code":"future"' in reasons
