"""The central team's ledger: every signed report and verification, judged
at ingest against the organization's expectations, in one tamper-evident
chain, with named questions over it.

The store is DuckDB (one embedded file, columnar, reads and writes Parquet),
imported only on ``checker ledger`` paths. Its one table, ``entries``, holds
each entry's canonical JSON record and the hash chain over them; the tables
the questions read (``reports``, ``report_rules``, ``report_waivers``,
``verifications``) are views over those records, so a change to any row is
a change to a hashed record. See :mod:`checker.ledger.chain` for the chain
and the signed checkpoints, :mod:`checker.ledger.ingest` for what a record
holds, :mod:`checker.ledger.queries` for the questions.
"""
