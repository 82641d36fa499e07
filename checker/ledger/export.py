"""The ledger as a Parquet dataset, the form that scales beyond one machine.

Each table the questions read (``reports``, ``report_rules``,
``report_waivers``, ``verifications``) becomes a folder of Parquet files
partitioned by day, hive style (``reports/date=2026-11-02/...``). Times are
written as UTC instants. An S3 target is written locally and uploaded with
boto3 (DuckDB's own S3 support is an extension it downloads at run time,
which an offline build cannot). The same named questions run over the
dataset in DuckDB (``checker ledger query --parquet``), Spark, Athena or
Trino (``--print-sql --dialect``).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from checker.errors import InputError, UsageError
from checker.ledger.store import Ledger

if TYPE_CHECKING:
    import duckdb

TABLES = ("reports", "report_rules", "report_waivers", "verifications")

# Each table with its partition day; report rows' day is the report's.
_SELECTS = {
    "reports": "SELECT *, CAST(coalesce(finished_at, ingested_at) AS DATE) AS date FROM reports",
    "report_rules": (
        "SELECT x.*, CAST(coalesce(r.finished_at, r.ingested_at) AS DATE) AS date "
        "FROM report_rules x JOIN reports r ON r.digest = x.digest"
    ),
    "report_waivers": (
        "SELECT w.*, CAST(coalesce(r.finished_at, r.ingested_at) AS DATE) AS date "
        "FROM report_waivers w JOIN reports r ON r.digest = w.digest"
    ),
    "verifications": "SELECT *, CAST(verified_at AS DATE) AS date FROM verifications",
}


def _as_instants(db: duckdb.DuckDBPyConnection, select: str) -> str:
    """``select`` with every TIMESTAMP column written as an instant (UTC)."""
    columns = db.execute(f"DESCRIBE {select}").fetchall()
    parts = [
        f'CAST("{name}" AS TIMESTAMPTZ) AS "{name}"' if kind == "TIMESTAMP" else f'"{name}"'
        for name, kind, *_ in columns
    ]
    return f"SELECT {', '.join(parts)} FROM ({select})"


def export_local(ledger: Ledger, folder: Path) -> list[Path]:
    db = ledger.db
    db.execute("SET TimeZone = 'UTC'")
    written = []
    folder.mkdir(parents=True, exist_ok=True)
    for table in TABLES:
        target = folder / table
        query = _as_instants(db, _SELECTS[table])
        db.execute(f"COPY ({query}) TO '{_quoted(target)}' (FORMAT PARQUET, PARTITION_BY (date), OVERWRITE_OR_IGNORE)")
        if not any(target.rglob("*.parquet")):
            # No rows: one empty file keeps the table's columns for the readers.
            empty = target / "date=1970-01-01"
            empty.mkdir(parents=True, exist_ok=True)
            columns = f"SELECT * EXCLUDE (date) FROM ({query}) WHERE false"
            db.execute(f"COPY ({columns}) TO '{_quoted(empty / 'empty.parquet')}' (FORMAT PARQUET)")
        written += sorted(target.rglob("*.parquet"))
    return written


def _quoted(path: Path) -> str:
    return str(path).replace("'", "''")


def export(ledger: Ledger, target: str, client: Any = None) -> list[str]:
    """Write the dataset to a folder or an ``s3://bucket/prefix``; the files written."""
    if not target.startswith("s3://"):
        return [str(p) for p in export_local(ledger, Path(target))]
    from checker.ledger.s3 import location

    bucket, prefix, client = location(target, client)
    uploaded = []
    with tempfile.TemporaryDirectory(prefix="checker-ledger-") as tmp:
        for path in export_local(ledger, Path(tmp)):
            key = "/".join(p for p in (prefix.rstrip("/"), path.relative_to(tmp).as_posix()) if p)
            client.upload_file(str(path), bucket, key)
            uploaded.append(f"s3://{bucket}/{key}")
    return uploaded


def attach_parquet(db: duckdb.DuckDBPyConnection, folder: Path) -> None:
    """Views named as the ledger's, over an exported dataset."""
    db.execute("SET TimeZone = 'UTC'")
    if any(c in str(folder) for c in "*?[]{}"):
        raise UsageError(f"{folder}: a dataset folder's name may not hold glob characters (* ? [ ] {{ }})")
    for table in TABLES:
        pattern = _quoted(folder / table / "**" / "*.parquet")
        if not (folder / table).is_dir():
            raise InputError(f"no {table}/ folder: not a ledger export", path=str(folder))
        db.execute(
            f"CREATE OR REPLACE TEMP VIEW {table} AS "
            f"SELECT * EXCLUDE (date) FROM read_parquet('{pattern}', hive_partitioning = true)"
        )
