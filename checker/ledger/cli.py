"""``checker ledger``: ingest, query and verify the central team's ledger."""

from __future__ import annotations

import argparse
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from checker.errors import InputError, UsageError
from checker.ledger.store import DEFAULT_DB

if TYPE_CHECKING:
    from checker.ledger.store import Ledger
    from checker.signing import Signer


def _as_of(value: str | None) -> datetime:
    from checker.times import parse_time

    if value is None:
        return datetime.now(UTC)
    moment = parse_time(value, date_is_end_of_day=True)
    if moment is None:
        raise UsageError(f"--as-of {value!r} is not a time (2026-11-30 or 2026-11-30T12:00:00Z)")
    return moment


def cmd_ingest(args: argparse.Namespace) -> int:
    from checker.ledger.chain import write_checkpoint
    from checker.ledger.expect import load_expectations
    from checker.ledger.ingest import IngestStats, ingest
    from checker.ledger.store import Ledger
    from checker.signing import load_signer

    expect = load_expectations(Path(args.expect))
    signer = load_signer(args.checkpoint_key, os.environ) if args.checkpoint_key else None
    if signer is None and args.checkpoint:
        raise UsageError("--checkpoint needs --checkpoint-key, the key that signs it")
    checkpoint_path = Path(args.checkpoint or f"{args.db}.checkpoint.json")
    tty = sys.stderr.isatty()

    def progress(stats: IngestStats) -> None:
        if tty:
            print(f"\ringested {stats.files} file(s): {stats.added} new", end="", file=sys.stderr, flush=True)

    ledger = Ledger(Path(args.db))
    try:
        if signer is not None:
            _refuse_unverified_chain(ledger, signer, checkpoint_path)
        try:
            stats = ingest(ledger, args.paths, expect, lambda: datetime.now(UTC), progress)
        finally:
            if signer is not None:
                # What was committed is judged and chained: the checkpoint covers
                # it even when the run stopped half way, so the next run can go on.
                checkpoint = write_checkpoint(ledger, signer, checkpoint_path, datetime.now(UTC))
        if tty:
            print(file=sys.stderr)
        print(
            f"{stats.added} new entries ({stats.reports} report(s), {stats.compliant} compliant; "
            f"{stats.verifications} verification(s), {stats.forged} not authentic; {stats.malformed} malformed); "
            f"{stats.already} already in the ledger; {stats.files} file(s) read"
        )
        if signer is not None:
            print(f"checkpoint: {checkpoint.count} entries, head {checkpoint.head}")
        for problem in stats.unreadable:
            print(f"not read: {problem}", file=sys.stderr)
    finally:
        ledger.close()
    return 1 if stats.unreadable else 0


def _refuse_unverified_chain(ledger: Ledger, signer: Signer, path: Path) -> None:
    """A new checkpoint must not bless a chain someone changed since the last one."""
    from checker.ledger.chain import read_checkpoint, verify_chain

    count, _ = ledger.head()
    if not path.exists():
        if count:
            raise InputError(
                f"the ledger has {count} entries and no checkpoint here: give the last ingest's --checkpoint",
                path=str(path),
            )
        return
    public = getattr(signer, "public_key", None)
    if public is None:
        raise UsageError("this signing key cannot check the previous checkpoint")
    problems = verify_chain(ledger, read_checkpoint(path, {signer.keyid: public}))
    if problems:
        listed = "; ".join(f"[{p.code}] {p.message}" for p in problems)
        raise InputError(f"the ledger does not verify against its last checkpoint, so it is not extended: {listed}")


def cmd_query(args: argparse.Namespace) -> int:
    from checker.ledger.query import Params, render, run, sql_of, translate
    from checker.ledger.store import Ledger

    if (args.name is None) == (args.sql is None):
        raise UsageError("name one question, or give --sql")
    if args.name == "rule-trend" and not args.rule and not args.print_sql:
        raise UsageError("rule-trend needs --rule ID")
    sql = args.sql if args.sql is not None else sql_of(args.name)
    if args.print_sql:
        sys.stdout.write(translate(sql, args.dialect))
        return 0
    if not 0 <= args.days <= 3660:
        raise UsageError("--days must be between 0 and 3660")
    params = Params(_as_of(args.as_of), args.days, args.rule)
    if args.parquet:
        import duckdb

        from checker.ledger.export import attach_parquet

        db = duckdb.connect()
        try:
            attach_parquet(db, Path(args.parquet))
            table = run(db, sql, params)
        finally:
            db.close()
    else:
        ledger = Ledger(Path(args.db), read_only=True)
        try:
            table = run(ledger.db, sql, params)
        finally:
            ledger.close()
    sys.stdout.write(render(table, args.format))
    return 0


def cmd_dashboard(args: argparse.Namespace) -> int:
    from checker.ledger.dashboard import build
    from checker.ledger.store import Ledger

    if not 0 <= args.days <= 3660:
        raise UsageError("--days must be between 0 and 3660")
    ledger = Ledger(Path(args.db), read_only=True)
    try:
        site = build(ledger.db, Path(args.output), _as_of(args.as_of), args.days)
    finally:
        ledger.close()
    print(f"{len(site.pages)} page(s) written to {args.output} (open {Path(args.output) / 'index.html'})")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from checker.ledger.export import export
    from checker.ledger.store import Ledger

    ledger = Ledger(Path(args.db), read_only=True)
    try:
        files = export(ledger, args.parquet)
    finally:
        ledger.close()
    print(f"{len(files)} Parquet file(s) written to {args.parquet}")
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    from checker.ledger.chain import Problem, read_checkpoint, verify_chain
    from checker.ledger.store import Ledger
    from checker.verify import load_trust

    keys = {k.keyid: k.public_key for k in load_trust(Path(args.key))}
    checkpoint = read_checkpoint(Path(args.checkpoint), keys)
    ledger = Ledger(Path(args.db), read_only=True, trust_objects=True)
    try:
        problems = verify_chain(ledger, checkpoint)
    finally:
        ledger.close()
    if args.max_age:
        from checker.times import parse_time
        from checker.verify import parse_duration

        signed = parse_time(checkpoint.time)
        if signed is None or datetime.now(UTC) - signed > parse_duration(args.max_age):
            problems.append(
                Problem(
                    "stale-checkpoint",
                    f"the checkpoint was signed at {checkpoint.time}, more than {args.max_age} ago: an older "
                    "checkpoint with a ledger cut back to it would verify; use the latest one",
                )
            )
    if problems:
        for problem in problems:
            print(f"FAIL [{problem.code}] {problem.message}")
        return 1
    print(f"OK: {checkpoint.count} entries, chain intact, head {checkpoint.head} as signed at {checkpoint.time}")
    return 0


def add_ledger(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    ledger = commands.add_parser("ledger", help="the central team's ledger of reports and verifications")
    sub = ledger.add_subparsers(dest="ledger_command", metavar="COMMAND", required=True)

    def db(parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--db", default=DEFAULT_DB, metavar="FILE", help=f"the ledger database (default {DEFAULT_DB})"
        )

    ingest = sub.add_parser(
        "ingest", help="add signed reports and verification records (files, folders or s3://bucket/prefix)"
    )
    ingest.add_argument("paths", nargs="+", metavar="PATH")
    ingest.add_argument(
        "--expect", required=True, metavar="FILE", help="the organization's expectations (trusted keys, policy)"
    )
    ingest.add_argument(
        "--checkpoint-key", metavar="KEY", help="sign a checkpoint after ingesting (PEM, env:, awskms:)"
    )
    ingest.add_argument("--checkpoint", metavar="FILE", help="where to write it (default DB.checkpoint.json)")
    db(ingest)
    ingest.set_defaults(func=cmd_ingest)

    query = sub.add_parser("query", help="answer a named question, or run SQL over the ledger's views")
    query.add_argument(
        "name", nargs="?", help="compliance, failing, waivers-expiring, break-glass, releases, rule-trend, unverified"
    )
    query.add_argument("--sql", help="a custom query over reports, report_rules, report_waivers, verifications")
    query.add_argument("--as-of", metavar="TIME", help="the question's now, UTC (default: now)")
    query.add_argument("--days", type=int, default=7, help="waivers-expiring: how many days ahead (default 7)")
    query.add_argument("--rule", metavar="ID", help="rule-trend: the rule")
    query.add_argument("--format", choices=["text", "json", "csv"], default="text")
    query.add_argument("--parquet", metavar="DIR", help="ask an exported dataset (checker ledger export) instead")
    query.add_argument("--print-sql", action="store_true", help="print the question's SQL instead of running it")
    query.add_argument("--dialect", default="duckdb", help="--print-sql for this engine: spark, trino, athena ...")
    db(query)
    query.set_defaults(func=cmd_query)

    dashboard = sub.add_parser("dashboard", help="write the questions as a static, self-contained site")
    dashboard.add_argument("--output", required=True, metavar="DIR")
    dashboard.add_argument("--as-of", metavar="TIME", help="the site's now, UTC (default: now)")
    dashboard.add_argument("--days", type=int, default=14, help="how far ahead expiring waivers are shown")
    db(dashboard)
    dashboard.set_defaults(func=cmd_dashboard)

    export = sub.add_parser("export", help="write the ledger as a Parquet dataset partitioned by day")
    export.add_argument("--parquet", required=True, metavar="DIR|s3://BUCKET/PREFIX")
    db(export)
    export.set_defaults(func=cmd_export)

    verify = sub.add_parser("verify", help="check the ledger's hash chain against a signed checkpoint")
    verify.add_argument("--checkpoint", required=True, metavar="FILE")
    verify.add_argument("--key", required=True, metavar="FILE", help="the checkpoint signer's public key or keyring")
    verify.add_argument(
        "--max-age", metavar="DURATION", help="refuse a checkpoint signed longer ago than this (8d, 36h)"
    )
    db(verify)
    verify.set_defaults(func=cmd_verify)
