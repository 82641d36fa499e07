"""The named questions: SQL files shipped with checker, run over the ledger.

Each question is one SELECT over the views ``reports``, ``report_rules``,
``report_waivers`` and ``verifications`` and a one-row table
``ledger_params`` (``as_of``, ``horizon``, ``rule``) that holds the
question's parameters. Times are UTC; ``as_of`` is "now" for the question,
so two engines over the same data give the same answer.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from importlib import resources
from typing import TYPE_CHECKING, Any

from checker.errors import InputError, UsageError

if TYPE_CHECKING:
    import duckdb

NAMES = ("compliance", "failing", "waivers-expiring", "break-glass", "releases", "rule-trend", "unverified")


def sql_of(name: str) -> str:
    if name not in NAMES:
        raise UsageError(f"unknown question {name!r}", hint=f"one of {', '.join(NAMES)}, or --sql")
    return (resources.files("checker.ledger") / "queries" / f"{name}.sql").read_text(encoding="utf-8")


@dataclass(frozen=True, slots=True)
class Params:
    as_of: datetime
    days: int = 7
    rule: str | None = None

    @property
    def horizon(self) -> datetime:
        return self.as_of + timedelta(days=self.days)


@dataclass(frozen=True, slots=True)
class Table:
    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]


def translate(sql: str, dialect: str) -> str:
    """A question's SQL for another engine (Spark, Trino, Athena ...), by sqlglot."""
    import sqlglot
    from sqlglot.errors import SqlglotError

    try:
        return ";\n".join(sqlglot.transpile(sql, read="duckdb", write=dialect, pretty=True)) + "\n"
    except (SqlglotError, ValueError) as exc:
        raise UsageError(f"cannot translate to {dialect}: {exc}") from None


def run(db: duckdb.DuckDBPyConnection, sql: str, params: Params) -> Table:
    import duckdb

    naive = params.as_of.astimezone(UTC).replace(tzinfo=None) if params.as_of.tzinfo else params.as_of
    db.execute(
        "CREATE OR REPLACE TEMP TABLE ledger_params AS "
        "SELECT CAST(? AS TIMESTAMP) AS as_of, CAST(? AS TIMESTAMP) AS horizon, CAST(? AS VARCHAR) AS rule",
        [naive, naive + timedelta(days=params.days), params.rule],
    )
    try:
        cursor = db.execute(sql)
    except duckdb.Error as exc:
        raise InputError(f"the query failed: {exc}") from None
    columns = tuple(d[0] for d in cursor.description or ())
    return Table(columns, tuple(tuple(row) for row in cursor.fetchall()))


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return round(value, 3)
    return value


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _safe_text(value: Any) -> Any:
    """A value a team's report carries, harmless on a terminal: control
    characters (escape sequences that erase rows) shown as escapes."""
    if isinstance(value, str):
        return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", value)
    return value


def _safe_cell(value: Any) -> Any:
    """And in a spreadsheet: a cell that starts like a formula is text."""
    value = _safe_text(value)
    if isinstance(value, str) and value.startswith(_FORMULA):
        return "'" + value
    return value


def render(table: Table, fmt: str) -> str:
    rows = [[_plain(v) for v in row] for row in table.rows]
    if fmt == "json":
        return json.dumps([dict(zip(table.columns, row, strict=True)) for row in rows], indent=2) + "\n"
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(table.columns)
        writer.writerows([[_safe_cell(v) for v in row] for row in rows])
        return out.getvalue()
    texts = [[("" if v is None else str(_safe_text(v))) for v in row] for row in rows]
    widths = [max([len(c), *(len(r[i]) for r in texts)]) for i, c in enumerate(table.columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(table.columns, widths, strict=True)).rstrip()]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() for r in texts]
    lines.append(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")
    return "\n".join(lines) + "\n"
