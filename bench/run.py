"""Benchmark checker against its peers on the same templates.

Runs each tool as a separate process over the same directory and prints the
median wall time, peak memory (max RSS) and the ratio to checker. Peers are
used when installed (beside this Python, on PATH, or given with
--checkov/--cfn-lint).

    python bench/run.py                      # ../shared/corpus, 3 runs each
    python bench/run.py DIR --runs 5
    python bench/run.py --precommit          # one template, vs `python -c pass`

checkov runs only its IAM checks (the ones our IAM rules answer), so the
comparison is like for like.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = REPO.parent / "shared" / "corpus"
CHECKOV_IAM_CHECKS = (
    "CKV_AWS_60,CKV_AWS_61,CKV_AWS_62,CKV_AWS_63,CKV_AWS_107,CKV_AWS_108,CKV_AWS_109,CKV_AWS_110,CKV_AWS_111"
)
SUFFIXES = (".yaml", ".yml", ".json", ".template")
CHECKER = [sys.executable, "-m", "checker", "check", "--templates-only", "--format", "json", "--output", os.devnull]


def measure(argv: list[str], cwd: Path) -> tuple[float, int, int]:
    """(wall seconds, peak RSS in MiB, exit code) of one run of ``argv``."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    return wall, usage.ru_maxrss // 1024, proc.returncode


def _which(name: str) -> str | None:
    """A peer installed beside this Python (the same venv) first, then on PATH."""
    return shutil.which(name, path=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))


def tools(target: Path, args: argparse.Namespace, files: list[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {
        "checker": [
            sys.executable,
            "-m",
            "checker",
            "check",
            # The template rules: what the peers below check. Coverage and scan
            # rules read a build's evidence, which a corpus of templates has none of.
            "--templates-only",
            "--format",
            "json",
            "--output",
            os.devnull,
            *([str(target)] if target.is_file() else ["."]),
        ],
    }
    cfn_lint = args.cfn_lint or _which("cfn-lint")
    if cfn_lint:
        found["cfn-lint"] = [cfn_lint, "--format", "json", "--", *files]
    checkov = args.checkov or _which("checkov")
    if checkov:
        found["checkov (IAM checks)"] = [
            checkov,
            "--quiet",
            "--compact",
            "-o",
            "json",
            "--framework",
            "cloudformation",
            "--check",
            CHECKOV_IAM_CHECKS,
            *(["-f", str(target)] if target.is_file() else ["-d", "."]),
        ]
    return found


def report(rows: dict[str, tuple[float, int, int]]) -> None:
    base_wall, base_mem, _ = rows["checker"]
    print(f"{'tool':<24}{'wall s':>10}{'peak MiB':>10}{'x checker time':>16}{'x checker mem':>15}  exit")
    for name, (wall, mem, code) in rows.items():
        print(f"{name:<24}{wall:>10.3f}{mem:>10}{wall / base_wall:>16.1f}{mem / base_mem:>15.1f}  {code}")


def run(target: Path, args: argparse.Namespace) -> dict[str, tuple[float, int, int]]:
    cwd = target.parent if target.is_file() else target
    files = (
        [str(target)]
        if target.is_file()
        else sorted(str(p.relative_to(target)) for p in target.rglob("*") if p.suffix in SUFFIXES and p.is_file())
    )
    rows = {}
    for name, argv in tools(target, args, files).items():
        samples = [measure(argv, cwd) for _ in range(args.runs)]
        rows[name] = (statistics.median(s[0] for s in samples), max(s[1] for s in samples), samples[-1][2])
        print(f"  measured {name}", file=sys.stderr)
    return rows


def import_times(template: Path) -> None:
    """Where the pre-commit path's start-up goes (``python -X importtime``),
    by package, and that no scanner, SAM translator or crypto library is
    imported on it. Times include importtime's own overhead: read the shares."""
    argv = [sys.executable, "-X", "importtime", "-m", "checker", "check", "--templates-only", str(template)]
    done = subprocess.run(argv, cwd=REPO, capture_output=True, text=True)
    by_package: dict[str, int] = {}
    for line in done.stderr.splitlines():
        parts = line.removeprefix("import time:").split("|")
        if len(parts) == 3 and parts[0].strip().isdigit():
            package = parts[2].strip().split(".")[0]
            package = package if package in ("checker", "yaml", "jmespath") else "standard library and site"
            by_package[package] = by_package.get(package, 0) + int(parts[0])
    total = sum(by_package.values())
    print(f"imports on the pre-commit path: {total / 1000:.0f} ms (self time, with importtime's overhead)")
    for package, micros in sorted(by_package.items(), key=lambda item: -item[1]):
        print(f"  {micros / 1000:6.1f} ms  {100 * micros / total:4.0f}%  {package}")
    heavy = {"samtranslator", "cryptography", "checkov", "bandit", "coverage", "boto3"}
    loaded = sorted(heavy & {line.split("|")[-1].strip().split(".")[0] for line in done.stderr.splitlines()})
    print(f"heavy libraries imported: {', '.join(loaded) or 'none'}")


def scaled_copy(corpus: Path, count: int, into: Path) -> Path:
    """``count`` templates, cycling through the corpus (copy N of a file goes in folder copyN)."""
    files = [p for p in sorted(corpus.rglob("*")) if p.suffix in SUFFIXES and p.is_file()]
    for index in range(count):
        path = files[index % len(files)]
        dest = into / f"copy{index // len(files)}" / path.relative_to(corpus)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, dest)
    return into


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("target", nargs="?", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--precommit", action="store_true", help="one template: the pre-commit path")
    parser.add_argument("--scale", action="store_true", help="checker alone on 1x, 2x, 4x copies of the target")
    parser.add_argument("--checkov", help="path to a checkov executable")
    parser.add_argument("--cfn-lint", dest="cfn_lint", help="path to a cfn-lint executable")
    args = parser.parse_args()
    target = args.target.resolve()
    if not target.exists():
        print(f"bench: {target} not found (the shared corpus sits beside the checkout)", file=sys.stderr)
        return 2
    if args.precommit:
        one = REPO / "examples" / "app" / "template.yaml"
        rows = run(one, args)
        empty = statistics.median(measure([sys.executable, "-c", "pass"], REPO)[0] for _ in range(args.runs))
        rows["python -c pass"] = (empty, 0, 0)
        report({k: v for k, v in rows.items()})
        print(f"checker / python -c pass: {rows['checker'][0] / empty:.1f}x")
        import_times(one)
        return 0
    if args.scale:
        print(f"{'templates':>9}{'jobs':>6}{'wall s':>9}{'peak MiB':>10}{'ms/template':>13}")
        for count in (10, 100, 1_000, 10_000):
            with tempfile.TemporaryDirectory() as tmp:
                copy = scaled_copy(target, count, Path(tmp))
                for jobs in (1, 2):
                    wall, mem, _ = measure([*CHECKER, "--jobs", str(jobs), "."], copy)
                    print(f"{count:>9}{jobs:>6}{wall:>9.2f}{mem:>10}{1000 * wall / count:>13.2f}")
                cache = Path(tmp) / ".cache"
                measure([*CHECKER, "--cache", str(cache), "."], copy)
                wall, mem, _ = measure([*CHECKER, "--cache", str(cache), "."], copy)
                print(f"{count:>9}{'warm':>6}{wall:>9.2f}{mem:>10}{1000 * wall / count:>13.2f}")
        return 0
    print(f"target: {target}", file=sys.stderr)
    report(run(target, args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
