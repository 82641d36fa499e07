"""Benchmark the ledger: ingest signed reports, then ask every question.

Generates COUNT signed reports from the bundled example's own report (checker
runs once on examples/app), varied as a fleet of builds would be: 200
repositories, two environments, a verdict that fails one build in seven,
waivers with tickets and expiry dates, the odd break-glass, twelve weeks of
times. Each is signed with a fresh Ed25519 build key. Then it times
`checker ledger ingest` (signature and every verify check included) in a
separate process and reads its peak memory, at a quarter, half and all of
the reports (memory should stay flat as the count grows), and times each
named question on the full ledger.

    python bench/ledger.py                    # 10,000 reports
    python bench/ledger.py --count 2000 --keep /tmp/ledger-bench
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

T0 = datetime(2026, 9, 7, tzinfo=UTC)


def base_statement() -> dict[str, Any]:
    from checker.gate import CheckRequest, run_check
    from checker.registry import load_registry

    app = REPO / "examples" / "app"
    run = run_check(CheckRequest(paths=[app], root=app, environ={}, templates_only=True), load_registry())
    return run.statement


def vary(base: dict[str, Any], index: int, rng: random.Random) -> dict[str, Any]:
    statement = json.loads(json.dumps(base))
    predicate = statement["predicate"]
    repository = f"github.com/org/service-{index % 200:03d}"
    finished = T0 + timedelta(minutes=rng.randrange(12 * 7 * 24 * 60))
    predicate["source"] = {
        "repository": repository,
        "commit": f"{rng.getrandbits(160):040x}",
        "branch": "main",
        "dirty": False,
        "dirty_reasons": [],
        "untracked_inputs": [],
    }
    predicate["vcs"] = "git"
    predicate["env"] = "prod" if index % 3 else "staging"
    predicate["timestamps"] = {"started": _utc(finished - timedelta(seconds=20)), "finished": _utc(finished)}
    failing = rng.random() < 1 / 7
    predicate["verdict"] = "fail" if failing else "pass"
    predicate["summary"]["blocking"] = ["IAM006"] if failing else []
    for result in predicate["results"]:
        if result["rule"] == "IAM006":
            result["status"] = "fail" if failing else "pass"
            finding = {
                "message": "'dynamodb:PutItem' on Resource '*' grants writes that can be scoped to resources",
                "location": {"path": "template.yaml", "line": 12, "resource": "Writer"},
                "element": "dynamodb:PutItem on *",
            }
            result["findings"] = [finding] if failing else []
    if rng.random() < 0.2:
        expires = finished + timedelta(days=rng.randrange(1, 60))
        predicate["waivers"]["applied"] = [
            {
                "id": f"w-{index}",
                "kind": "policy",
                "rule": "NAME001",
                "reason": "fixed name for the SIEM",
                "ticket": f"SEC-{index}",
                "approved_by": "security@org.example",
                "expires": _utc(expires),
                "source": "baseline",
                "scope": {},
                "matched": 1,
            }
        ]
    if rng.random() < 0.01:
        predicate["break_glass"] = {
            "incident": f"INC-{index}",
            "approved_by": "oncall@org.example",
            "reason": "outage",
            "expires": _utc(finished + timedelta(hours=4)),
            "source": "glass.yaml",
            "active": True,
            "overridden": ["IAM006"],
        }
    return statement


def _utc(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def generate(folder: Path, count: int, seed: int = 7) -> Path:
    """COUNT signed reports under folder/reports/, and the expectations file."""
    from checker.signing import KeySigner, generate_key, load_signer, sign_envelope

    generate_key(folder / "build", "ed25519", None)
    generate_key(folder / "checkpoint", "ed25519", None)
    signer = load_signer(str(folder / "build.key"), {})
    assert isinstance(signer, KeySigner)
    base = base_statement()
    rng = random.Random(seed)
    reports = folder / "reports"
    for index in range(count):
        statement = vary(base, index, rng)
        payload = json.dumps(statement, separators=(",", ":")).encode()
        target = reports / f"{index // 1000:03d}" / f"{index:06d}.dsse.json"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(sign_envelope(payload, signer)))
    pem = (folder / "build.pub").read_text().strip().replace("\n", "\n      ")
    (folder / "keys.yaml").write_text(
        f"keys:\n  - owner: ci\n    repositories: ['github.com/org/*']\n    public_key: |\n      {pem}\n"
    )
    expect = folder / "expect.yaml"
    policy_digest = base["predicate"]["policy"]["digest"]
    expect.write_text(
        f"trust: keys.yaml\npolicy:\n  digest: {policy_digest}\nenvironments: [prod, staging]\n"
        "allow_templates_only: true\n"
    )
    return expect


def measure(argv: list[str]) -> tuple[float, int]:
    """(wall seconds, peak RSS in MiB) of one process."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {' '.join(argv)}")
    return wall, usage.ru_maxrss // 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="checker-ledger-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    expect = generate(folder, args.count)
    print(f"generated {args.count} signed reports in {time.perf_counter() - started:.1f} s")
    checker = [sys.executable, "-m", "checker", "ledger"]
    reports = sorted((folder / "reports").iterdir())
    print(f"{'reports':>8}  {'ingest s':>8}  {'reports/s':>9}  {'peak MiB':>8}")
    for share in (4, 2, 1):
        chosen = reports[: max(1, len(reports) // share)]
        count = sum(1 for folder_ in chosen for _ in folder_.iterdir())
        db = folder / f"ledger-{share}.duckdb"
        db.unlink(missing_ok=True)
        argv = [*checker, "ingest", *map(str, chosen), "--db", str(db), "--expect", str(expect)]
        argv += ["--checkpoint-key", str(folder / "checkpoint.key")]
        wall, peak = measure(argv)
        print(f"{count:>8}  {wall:>8.2f}  {count / wall:>9.0f}  {peak:>8}")
    db = folder / "ledger-1.duckdb"
    as_of = _utc(T0 + timedelta(weeks=12))
    print(f"\n{'question':<18}  {'seconds':>7}  (in process, on {len(reports)} folder(s) of reports)")
    from checker.ledger.query import NAMES, Params, run, sql_of
    from checker.ledger.store import Ledger
    from checker.times import parse_time

    moment = parse_time(as_of)
    assert moment is not None
    ledger = Ledger(db, read_only=True)
    try:
        for name in NAMES:
            params = Params(moment, 14, "IAM006" if name == "rule-trend" else None)
            start = time.perf_counter()
            table = run(ledger.db, sql_of(name), params)
            print(f"{name:<18}  {time.perf_counter() - start:>7.3f}  {len(table.rows)} rows")
    finally:
        ledger.close()
    if args.keep is None:
        import shutil

        shutil.rmtree(folder)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
