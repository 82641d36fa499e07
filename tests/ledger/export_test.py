"""The Parquet export: partitioned by day, to a folder or S3, and the same
questions answered over it by DuckDB and by Spark SQL."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from checker.cli import main
from checker.ledger.query import NAMES, Params, run, sql_of, translate

from .conftest import T0, World

AS_OF = T0 + timedelta(days=10)


@pytest.fixture(scope="module")
def exported(world: World, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("ledger-export")
    db = folder / "ledger.duckdb"
    audit = folder / "audit.jsonl"
    report = world.reports / "payments" / "2.dsse.json"
    keyring = world.expect.parent / "build-keys.yaml"
    verify = ["verify", str(report), "--trust", str(keyring), "--allow-no-git", "--audit-log", str(audit)]
    assert main([*verify, "--audit-key", world.release_key]) in (0, 1)
    assert (
        main(["ledger", "ingest", str(world.reports), str(audit), "--db", str(db), "--expect", str(world.expect)]) == 0
    )
    dataset = folder / "dataset"
    assert main(["ledger", "export", "--db", str(db), "--parquet", str(dataset)]) == 0
    return db, dataset


def test_each_table_is_partitioned_by_day_hive_style(exported: tuple[Path, Path]) -> None:
    _, dataset = exported
    days = sorted(p.name for p in (dataset / "reports").iterdir())
    assert days[0] == "date=2026-11-02" and all(d.startswith("date=") for d in days)
    assert any((dataset / "report_waivers").rglob("*.parquet"))
    assert any((dataset / "verifications").rglob("*.parquet"))


PARAMS = {
    "waivers-expiring": Params(T0 + timedelta(days=1), 30),
    "rule-trend": Params(AS_OF, rule="IAM006"),
    # The verification was recorded when the fixture ran.
    "releases": Params(datetime.now(UTC) + timedelta(days=1)),
    "unverified": Params(datetime.now(UTC) + timedelta(days=1)),  # seen when the fixture ingested
}


def _params(name: str) -> Params:
    return PARAMS.get(name, Params(AS_OF))


@pytest.mark.parametrize("name", NAMES)
def test_the_questions_answer_the_same_over_the_export(
    exported: tuple[Path, Path], capsys: pytest.CaptureFixture[str], name: str
) -> None:
    db, dataset = exported
    params = _params(name)
    options = ["--as-of", params.as_of.strftime("%Y-%m-%dT%H:%M:%SZ"), "--days", str(params.days), "--format", "json"]
    options += ["--rule", params.rule] if params.rule else []
    capsys.readouterr()
    assert main(["ledger", "query", name, "--db", str(db), *options]) == 0
    direct = json.loads(capsys.readouterr().out)
    assert main(["ledger", "query", name, "--parquet", str(dataset), *options]) == 0
    assert json.loads(capsys.readouterr().out) == direct


def test_s3_export_uploads_the_dataset(exported: tuple[Path, Path], tmp_path: Path) -> None:
    boto3 = pytest.importorskip("boto3")
    moto = pytest.importorskip("moto")
    from checker.ledger.export import export
    from checker.ledger.store import Ledger

    db, _ = exported
    with moto.mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="org-ledger")
        ledger = Ledger(db, read_only=True)
        try:
            uploaded = export(ledger, "s3://org-ledger/ledger/v1", client)
        finally:
            ledger.close()
        keys = [o["Key"] for o in client.list_objects_v2(Bucket="org-ledger")["Contents"]]
    assert uploaded and all(u.startswith("s3://org-ledger/ledger/v1/") for u in uploaded)
    assert any(k.startswith("ledger/v1/reports/date=2026-11-02/") for k in keys)


def test_print_sql_translates_for_other_engines(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ledger", "query", "break-glass", "--print-sql", "--dialect", "spark"]) == 0
    out = capsys.readouterr().out
    assert "UNIX_TIMESTAMP" in out and "epoch(" not in out


# -- Spark -------------------------------------------------------------------


def _normal(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.replace(tzinfo=None).strftime("%Y-%m-%dT%H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (float, Decimal)):
        return round(float(value), 3)
    return value


@pytest.fixture(scope="module")
def spark() -> Any:
    if shutil.which("java") is None:
        pytest.skip("no Java runtime (Debian's default-jre-headless) for Spark")
    pyspark_sql = pytest.importorskip("pyspark.sql")
    session = (
        pyspark_sql.SparkSession.builder.master("local[1]")
        .appName("checker-ledger-parity")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "1")
        .getOrCreate()
    )
    yield session
    session.stop()


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_spark_sql_gives_the_same_answers_as_duckdb(exported: tuple[Path, Path], spark: Any, name: str) -> None:
    import duckdb

    from checker.ledger.export import TABLES, attach_parquet

    _, dataset = exported
    params = _params(name)
    local = duckdb.connect()
    attach_parquet(local, dataset)
    expected = run(local, sql_of(name), params)
    local.close()
    for table in TABLES:
        spark.read.option("basePath", str(dataset / table)).parquet(str(dataset / table)).drop(
            "date"
        ).createOrReplaceTempView(table)
    as_of = params.as_of.strftime("%Y-%m-%d %H:%M:%S")
    horizon = params.horizon.strftime("%Y-%m-%d %H:%M:%S")
    rule = f"'{params.rule}'" if params.rule else "CAST(NULL AS STRING)"
    spark.sql(
        f"SELECT CAST('{as_of}' AS TIMESTAMP) AS as_of, CAST('{horizon}' AS TIMESTAMP) AS horizon, {rule} AS rule"
    ).createOrReplaceTempView("ledger_params")
    rows = spark.sql(translate(sql_of(name), "spark").rstrip().rstrip(";")).collect()
    got = [tuple(_normal(v) for v in row) for row in rows]
    want = [tuple(_normal(v) for v in row) for row in expected.rows]
    assert want, f"{name} has no rows to compare"
    assert list(expected.columns) == list(rows[0].__fields__)
    assert got == want


def test_the_athena_ddl_in_the_docs_matches_the_export(exported: tuple[Path, Path]) -> None:
    import re as regex

    import duckdb

    from checker.ledger.export import TABLES, attach_parquet

    _, dataset = exported
    docs = (Path(__file__).resolve().parents[2] / "docs" / "ledger.md").read_text()
    local = duckdb.connect()
    attach_parquet(local, dataset)
    for table in TABLES:
        block = regex.search(rf"CREATE EXTERNAL TABLE {table} \((.*?)\n\)", docs, regex.S)
        assert block, table
        documented = [line.strip().split()[0] for line in block.group(1).strip().splitlines()]
        exported_columns = [row[0] for row in local.execute(f"DESCRIBE {table}").fetchall()]
        assert documented == exported_columns, table
    local.close()
