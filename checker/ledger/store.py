"""The ledger's database: the chained ``entries`` table and the views the
questions read."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from checker.errors import InputError

if TYPE_CHECKING:
    import duckdb

GENESIS = "0" * 64
DEFAULT_DB = "checker-ledger.duckdb"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    seq BIGINT PRIMARY KEY,
    kind VARCHAR NOT NULL,
    digest VARCHAR NOT NULL UNIQUE,
    record VARCHAR NOT NULL,
    prev_hash VARCHAR NOT NULL,
    entry_hash VARCHAR NOT NULL
)
"""

# The tables the questions read, derived from the hashed records. Named
# questions use only these (and ``ledger_params``), so the same SQL runs over
# the Parquet export in another engine. They are temporary, made by each
# connection from checker's own text: a view (or a macro shadowing a
# function they call) kept in the file would be the file's word, not the
# records'; see ``foreign_objects``.
_VIEWS = """
-- A time a record claims, as a UTC timestamp; NULL when it is not one (a
-- forged report's "soon" must not stop every question).
CREATE OR REPLACE TEMP MACRO _ts(text) AS TRY_CAST(TRY_CAST(text AS TIMESTAMPTZ) AS TIMESTAMP);

CREATE OR REPLACE TEMP VIEW reports AS
SELECT
    digest,
    json_extract_string(record, '$.repository') AS repository,
    json_extract_string(record, '$.commit') AS commit_sha,
    json_extract_string(record, '$.branch') AS branch,
    coalesce(json_extract_string(record, '$.env'), 'default') AS env,
    json_extract_string(record, '$.verdict') AS verdict,
    coalesce(TRY_CAST(json_extract(record, '$.compliant') AS BOOLEAN), false) AS compliant,
    coalesce(TRY_CAST(json_extract(record, '$.authentic') AS BOOLEAN), false) AS authentic,
    json_extract_string(record, '$.reasons') AS reasons,
    json_extract_string(record, '$.policy_name') AS policy_name,
    json_extract_string(record, '$.policy_version') AS policy_version,
    json_extract_string(record, '$.policy_digest') AS policy_digest,
    _ts(json_extract_string(record, '$.finished')) AS finished_at,
    _ts(json_extract_string(record, '$.ingested')) AS ingested_at,
    json_extract_string(record, '$.signers') AS signers,
    TRY_CAST(json_extract(record, '$.waivers_applied') AS INTEGER) AS waivers_applied,
    json_extract_string(record, '$.break_glass.incident') AS break_glass_incident,
    json_extract_string(record, '$.break_glass.approved_by') AS break_glass_approved_by,
    json_extract_string(record, '$.break_glass.reason') AS break_glass_reason,
    _ts(json_extract_string(record, '$.break_glass.expires')) AS break_glass_expires,
    coalesce(TRY_CAST(json_extract(record, '$.break_glass.active') AS BOOLEAN), false) AS break_glass_active,
    json_extract_string(record, '$.source') AS source
FROM entries WHERE kind = 'report';

CREATE OR REPLACE TEMP VIEW report_rules AS
SELECT
    e.digest,
    json_extract_string(r.value, '$.rule') AS rule,
    json_extract_string(r.value, '$.status') AS status,
    TRY_CAST(json_extract(r.value, '$.findings') AS INTEGER) AS findings
FROM entries e, json_each(json_extract(e.record, '$.rules')) r
WHERE e.kind = 'report';

CREATE OR REPLACE TEMP VIEW report_waivers AS
SELECT
    e.digest,
    json_extract_string(w.value, '$.id') AS waiver_id,
    json_extract_string(w.value, '$.rule') AS rule,
    json_extract_string(w.value, '$.state') AS state,
    json_extract_string(w.value, '$.approved_by') AS approved_by,
    json_extract_string(w.value, '$.ticket') AS ticket,
    json_extract_string(w.value, '$.reason') AS reason,
    _ts(json_extract_string(w.value, '$.expires')) AS expires
FROM entries e, json_each(json_extract(e.record, '$.waivers')) w
WHERE e.kind = 'report';

CREATE OR REPLACE TEMP VIEW verifications AS
SELECT
    digest,
    _ts(json_extract_string(record, '$.time')) AS verified_at,
    coalesce(TRY_CAST(json_extract(record, '$.accepted') AS BOOLEAN), false) AS accepted,
    json_extract_string(record, '$.reasons') AS reasons,
    json_extract_string(record, '$.report_sha256') AS report_sha256,
    json_extract_string(record, '$.verdict') AS verdict,
    json_extract_string(record, '$.commit') AS commit_sha,
    json_extract_string(record, '$.policy_digest') AS policy_digest,
    json_extract_string(record, '$.subjects') AS subjects,
    json_extract_string(record, '$.signed_by') AS signed_by,
    coalesce(TRY_CAST(json_extract(record, '$.authentic') AS BOOLEAN), false) AS authentic
FROM entries WHERE kind = 'verification';
"""


def canonical(record: Mapping[str, Any]) -> str:
    # ASCII: a lone surrogate a forged report carries is escaped, not an encoding error.
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def chain_hash(prev_hash: str, seq: int, kind: str, digest: str, record: str) -> str:
    """An entry's hash: over the one before it and every column of its own
    (its place, its kind, its key and its canonical record)."""
    return hashlib.sha256(f"{prev_hash}\n{seq}\n{kind}\n{digest}\n{record}".encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Entry:
    seq: int
    kind: str
    digest: str
    record: str
    prev_hash: str
    entry_hash: str


class Ledger:
    """One ledger database, opened for reading or appending."""

    def __init__(self, path: Path, *, read_only: bool = False, trust_objects: bool = False) -> None:
        """Open (creating when writable). Unless ``trust_objects`` (verify,
        which reports them), a database holding anything checker does not
        create is refused: its answers could come from that object."""
        try:
            import duckdb
        except ImportError:
            raise InputError("the ledger needs DuckDB: pip install 'checker[ledger]'") from None
        if read_only and not path.is_file():
            raise InputError("no ledger database here (checker ledger ingest creates it)", path=str(path))
        try:
            self.db: duckdb.DuckDBPyConnection = duckdb.connect(str(path), read_only=read_only)
        except duckdb.Error as exc:
            raise InputError(f"cannot open the ledger database: {exc}", path=str(path)) from None
        self.path = path
        self._head: tuple[int, str] | None = None  # known while this connection appends
        if not read_only:
            self.db.execute(_SCHEMA)
        foreign = self.foreign_objects()
        if foreign and not trust_objects:
            self.db.close()
            raise InputError(
                f"the ledger database holds what checker never creates ({', '.join(foreign)}): "
                "it was changed outside checker; `checker ledger verify` lists it",
                path=str(path),
            )
        self.db.execute("SET TimeZone = 'UTC'")
        if self.db.execute("SELECT 1 FROM duckdb_tables() WHERE table_name = 'entries' AND NOT temporary").fetchone():
            self.db.execute(_VIEWS)

    def foreign_objects(self) -> list[str]:
        """Every object in the file but the ``entries`` table: views, macros,
        other tables, sequences, types, indexes someone added."""
        found = []
        here = "database_name NOT IN ('temp', 'system')"
        queries = (
            ("table", f"SELECT table_name FROM duckdb_tables() WHERE NOT internal AND {here}"),
            ("view", f"SELECT view_name FROM duckdb_views() WHERE NOT internal AND {here}"),
            ("macro", f"SELECT function_name FROM duckdb_functions() WHERE NOT internal AND {here}"),
            ("sequence", f"SELECT sequence_name FROM duckdb_sequences() WHERE {here}"),
            ("type", f"SELECT type_name FROM duckdb_types() WHERE NOT internal AND {here}"),
            ("index", f"SELECT index_name FROM duckdb_indexes() WHERE {here}"),
        )
        for kind, sql in queries:
            for (name,) in self.db.execute(sql).fetchall():
                if (kind, name) != ("table", "entries"):
                    found.append(f"{kind} {name}")
        return sorted(set(found))

    def close(self) -> None:
        self.db.close()

    def head(self) -> tuple[int, str]:
        """(entry count, hash of the last entry)."""
        if self._head is None:
            row = self.db.execute("SELECT seq, entry_hash FROM entries ORDER BY seq DESC LIMIT 1").fetchone()
            self._head = (int(row[0]), str(row[1])) if row else (0, GENESIS)
        return self._head

    def rollback(self) -> None:
        self.db.execute("ROLLBACK")
        self._head = None  # what was appended since BEGIN is gone

    def has(self, digest: str) -> bool:
        return self.db.execute("SELECT 1 FROM entries WHERE digest = ?", [digest]).fetchone() is not None

    def append(self, kind: str, digest: str, record: Mapping[str, Any]) -> Entry:
        """Add one entry at the head of the chain (the caller holds the transaction)."""
        seq, prev = self.head()
        text = canonical(record)
        entry = Entry(seq + 1, kind, digest, text, prev, chain_hash(prev, seq + 1, kind, digest, text))
        self.db.execute(
            "INSERT INTO entries VALUES (?, ?, ?, ?, ?, ?)",
            [entry.seq, entry.kind, entry.digest, entry.record, entry.prev_hash, entry.entry_hash],
        )
        self._head = (entry.seq, entry.entry_hash)
        return entry

    def entries(self) -> Iterator[Entry]:
        """Every entry in chain order, streamed."""
        cursor = self.db.execute("SELECT seq, kind, digest, record, prev_hash, entry_hash FROM entries ORDER BY seq")
        while rows := cursor.fetchmany(1000):
            for row in rows:
                yield Entry(int(row[0]), str(row[1]), str(row[2]), str(row[3]), str(row[4]), str(row[5]))
