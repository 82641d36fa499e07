"""The command line. Each command is a function returning an exit code;
errors are mapped to exit codes here and nowhere else (0 pass, 1 fail,
2 usage, configuration or input error)."""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from checker import __version__
from checker.errors import CheckerError, UsageError

if TYPE_CHECKING:  # imported lazily at run time, to keep `checker --version` instant
    from checker.engine import Evaluation
    from checker.provenance import SourceFacts
    from checker.registry import Registry
    from checker.report import Subject


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _write(text: str, output: str | None) -> None:
    if output is None or output == "-":
        sys.stdout.write(text)
        return
    try:
        Path(output).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write {output}: {exc.strerror}") from None


def _color(output: str | None) -> bool:
    return (
        output in (None, "-")
        and sys.stdout.isatty()
        and "NO_COLOR" not in os.environ
        and os.environ.get("TERM") != "dumb"
    )


def _registry(args: argparse.Namespace) -> Registry:
    from checker.registry import load_registry

    return load_registry(Path(d) for d in args.rules)


def _policy_paths(args: argparse.Namespace) -> tuple[list[Path], list[str]]:
    from checker.policy import default_policy_path

    if args.policy:
        return [Path(p) for p in args.policy], list(args.policy)
    return [default_policy_path()], ["(built-in) policies/baseline.yaml"]


def _subjects(
    args: argparse.Namespace, root: Path, source: SourceFacts | None, evaluation: Evaluation
) -> list[Subject]:
    from checker.report import Subject

    subjects = []
    for given in args.subject:
        path = Path(given)
        try:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError as exc:
            raise UsageError(f"cannot read subject {given}: {exc.strerror}") from None
        subjects.append(Subject(Path(given).as_posix(), {"sha256": digest}))
    if subjects:
        return subjects
    if source is not None:
        name = source.repository or root.name
        return [Subject(name, {"gitCommit": source.commit})]
    return [Subject(t.path, {"sha256": t.sha256}) for t in evaluation.templates if t.sha256]


def cmd_check(args: argparse.Namespace) -> int:
    from checker.discovery import discover
    from checker.engine import evaluate
    from checker.iam import catalogue_source
    from checker.policy import load_policy
    from checker.provenance import ci_facts, git_facts
    from checker.render import OutputFormat
    from checker.report import build_statement
    from checker.templates import load_template

    if args.sign_key:
        from checker.signing import load_signer, sign_envelope

    started = _now()
    names = list(args.format or (["dsse", "text"] if args.sign_key else ["text"]))
    if "dsse" in names and not args.sign_key:
        raise UsageError("--format dsse needs --sign-key (use --format json for the unsigned statement)")
    outputs = list(args.output or [])
    if args.sign_key and not outputs:
        raise UsageError("give --output for the signed report (for example --output report.dsse.json)")
    if len(outputs) > len(names):
        raise UsageError("more --output than --format options: give one --format per --output")
    if sum(1 for i in range(len(names)) if i >= len(outputs) or outputs[i] == "-") > 1:
        raise UsageError("only one format can go to standard output: give the others an --output")
    # Load the key before the run, so a wrong key fails fast and no unsigned
    # report is left behind.
    signer = load_signer(args.sign_key, os.environ) if args.sign_key else None
    root = Path(args.root) if args.root else Path.cwd()
    if not root.is_dir():
        raise UsageError(f"--root {args.root} is not a directory")
    registry = _registry(args)
    policy_paths, displays = _policy_paths(args)
    policy = load_policy(policy_paths, registry, displays)
    found = discover([Path(p) for p in (args.paths or ["."])], root, args.exclude)
    loaded = (load_template(c) for c in found.candidates)
    evaluation = evaluate((t for t in loaded if t is not None), registry, policy)
    source = git_facts(found.root)
    iam_active = any("iam" in registry[r].meta.tags for r, s in policy.rules.items() if s.enforce != "off")
    statement = build_statement(
        evaluation=evaluation,
        policy=policy,
        subjects=_subjects(args, found.root, source, evaluation),
        source=source,
        ci=ci_facts(os.environ),
        skipped=found.skipped,
        data_sources=[{"name": "iam-actions", **catalogue_source()}] if iam_active else [],
        started=started,
        finished=_now(),
    )
    metas = {rule_id: rule.meta for rule_id, rule in registry.items()}
    for index, name in enumerate(names):
        output = outputs[index] if index < len(outputs) else None
        if name == "dsse":
            assert signer is not None
            payload = json.dumps(statement, ensure_ascii=False, separators=(",", ":")).encode()
            _write(json.dumps(sign_envelope(payload, signer), indent=2) + "\n", output)
        else:
            _write(OutputFormat(name).render(statement, metas, color=_color(output)), output)
    return 0 if evaluation.verdict == "pass" else 1


def cmd_keygen(args: argparse.Namespace) -> int:
    from checker.signing import generate_key

    passphrase = None
    if args.passphrase_env:
        passphrase = os.environ.get(args.passphrase_env)
        if not passphrase:
            raise UsageError(f"environment variable {args.passphrase_env} is empty or not set")
    keyid = generate_key(Path(args.out), args.type, passphrase)
    _write(f"{keyid}\n", None)
    print(f"wrote {args.out}.key (private, keep it secret) and {args.out}.pub; key id above", file=sys.stderr)
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    from checker.policy import policy_file_digest
    from checker.verify import Expectations, append_audit_log, load_trust, parse_duration, verify

    if args.policy and args.policy_digest:
        raise UsageError("give --policy or --policy-digest, not both")
    trust = [key for path in args.trust for key in load_trust(Path(path))]
    pinned = policy_file_digest(Path(args.policy), args.policy) if args.policy else args.policy_digest
    expect = Expectations(
        trust=trust,
        subjects=[Path(p) for p in args.subject],
        policy_digest=pinned,
        max_age=parse_duration(args.max_age) if args.max_age else None,
        commit=args.commit,
        threshold=args.threshold,
        allow_break_glass=args.allow_break_glass,
    )
    try:
        envelope = Path(args.report).read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read report {args.report}: {exc.strerror}") from None
    result = verify(envelope, expect)
    if args.audit_log:
        append_audit_log(Path(args.audit_log), result)
    if args.format == "json":
        _write(json.dumps(result.to_json(), indent=2) + "\n", None)
    elif result.accepted:
        _write(f"verified: {args.report} passes, signed by {', '.join(result.keyids)}\n", None)
    else:
        _write("".join(f"rejected: {r.message} [{r.code}]\n" for r in result.reasons), None)
    if result.accepted:
        return 0
    # A report that is not even a well-formed envelope or statement is bad input.
    malformed = {"envelope-malformed", "statement-malformed"}
    return 2 if any(r.code in malformed for r in result.reasons) else 1


def cmd_rules_list(args: argparse.Namespace) -> int:
    from checker.docs import rule_summary

    registry = _registry(args)
    if args.format == "json":
        _write(json.dumps([rule_summary(r.meta) for r in registry.values()], indent=2) + "\n", None)
        return 0
    for rule in registry.values():
        meta = rule.meta
        params = ", ".join(f"{p.name}={json.dumps(p.default)}" for p in meta.params)
        line = f"{meta.id:<10} {meta.severity:<8} {','.join(meta.tags):<10} {meta.title}"
        _write(line + (f"  [{params}]" if params else "") + "\n", None)
    return 0


def cmd_rules_show(args: argparse.Namespace) -> int:
    from checker.docs import render_rule
    from checker.policy import suggest

    registry = _registry(args)
    rule = registry.get(args.id)
    if rule is None:
        raise UsageError(f"no rule with id {args.id!r}", hint=suggest(args.id, list(registry)))
    _write(render_rule(rule.meta), None)
    return 0


def cmd_rules_docs(args: argparse.Namespace) -> int:
    from checker.docs import render_catalogue

    _write(render_catalogue(_registry(args)), args.output)
    return 0


def cmd_policy_validate(args: argparse.Namespace) -> int:
    from checker.policy import load_policy

    policy = load_policy([Path(p) for p in args.files], _registry(args), list(args.files))
    enabled = sum(1 for s in policy.rules.values() if s.enforce != "off")
    _write(
        f"{', '.join(args.files)}: valid ({len(policy.rules)} rules, {enabled} enabled; {policy.digest})\n",
        None,
    )
    return 0


def cmd_policy_digest(args: argparse.Namespace) -> int:
    from checker.policy import policy_file_digest

    _write(policy_file_digest(Path(args.file), args.file) + "\n", None)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="checker",
        description="Apply an organization's compliance policy to a repository and its "
        "infrastructure templates, and write a pass/fail report.",
    )
    parser.add_argument("--version", action="version", version=f"checker {__version__}")
    parser.add_argument("--debug", action="store_true", help="show a traceback on internal errors")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    def rules_option(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--rules",
            action="append",
            default=[],
            metavar="DIR",
            help="load more rules from DIR (repeatable)",
        )

    check = commands.add_parser(
        "check",
        help="check templates against the policy",
        description="Find templates under PATH (default: .), apply the policy, "
        "print findings and exit 0 on pass, 1 on fail, 2 on bad input.",
    )
    check.add_argument("paths", nargs="*", metavar="PATH", help="files or directories to check")
    check.add_argument(
        "--policy",
        action="append",
        default=[],
        metavar="FILE",
        help="policy file; repeat to layer a team overlay on the baseline (default: the built-in baseline)",
    )
    rules_option(check)
    check.add_argument(
        "--format",
        action="append",
        choices=["text", "json", "dsse"],
        help="output format (repeatable, each paired with an --output)",
    )
    check.add_argument("--output", action="append", metavar="FILE", help="write the output to FILE")
    check.add_argument(
        "--subject",
        action="append",
        default=[],
        metavar="FILE",
        help="artifact the report is bound to (repeatable; default: the git commit)",
    )
    check.add_argument(
        "--exclude",
        action="append",
        default=[],
        metavar="GLOB",
        help="skip paths matching GLOB, relative to the root (repeatable)",
    )
    check.add_argument("--root", metavar="DIR", help="paths in findings are relative to DIR (default: .)")
    check.add_argument(
        "--sign-key",
        metavar="REF",
        help="sign the report (format dsse): a PEM key file, env:NAME, or awskms:KEY",
    )
    check.set_defaults(func=cmd_check)

    keygen = commands.add_parser(
        "keygen",
        help="create a signing key pair",
        description="Write PREFIX.key (PKCS#8 PEM, mode 0600) and PREFIX.pub "
        "(SPKI PEM) and print the key id (sha256 of the public key's DER).",
    )
    keygen.add_argument("--out", required=True, metavar="PREFIX")
    keygen.add_argument("--type", choices=["ed25519", "ecdsa-p256"], default="ed25519")
    keygen.add_argument(
        "--passphrase-env",
        metavar="NAME",
        help="encrypt the private key with the passphrase in environment variable NAME",
    )
    keygen.set_defaults(func=cmd_keygen)

    ver = commands.add_parser(
        "verify",
        help="verify a signed report before promotion",
        description="Exit 0 only if the report is signed by a trusted key and passes "
        "every check given; otherwise print one line per reason and exit 1 "
        "(2 for an unreadable or malformed report).",
    )
    ver.add_argument("report", metavar="REPORT", help="the DSSE envelope written by check --sign-key")
    ver.add_argument(
        "--trust",
        action="append",
        required=True,
        metavar="FILE",
        help="public key PEM, or keyring YAML/JSON (repeatable)",
    )
    ver.add_argument(
        "--subject",
        action="append",
        default=[],
        metavar="FILE",
        help="artifact that must be a subject of the report (repeatable)",
    )
    ver.add_argument("--policy", metavar="FILE", help="the policy whose digest the report must carry")
    ver.add_argument("--policy-digest", metavar="sha256:HEX", help="the pinned policy digest")
    ver.add_argument("--max-age", metavar="DURATION", help="reject reports older than this (30m, 12h, 7d)")
    ver.add_argument("--commit", metavar="SHA", help="the commit the report must be for")
    ver.add_argument("--threshold", type=int, default=1, help="distinct trusted signatures needed")
    ver.add_argument("--allow-break-glass", action="store_true", help=argparse.SUPPRESS)
    ver.add_argument("--format", choices=["text", "json"], default="text")
    ver.add_argument("--audit-log", metavar="FILE", help="append one JSON line per verification")
    ver.set_defaults(func=cmd_verify)

    rules = commands.add_parser("rules", help="list and explain rules")
    rules_commands = rules.add_subparsers(dest="rules_command", metavar="COMMAND", required=True)
    listing = rules_commands.add_parser("list", help="list rules with their parameters")
    listing.add_argument("--format", choices=["text", "json"], default="text")
    rules_option(listing)
    listing.set_defaults(func=cmd_rules_list)
    show = rules_commands.add_parser("show", help="explain one rule")
    show.add_argument("id")
    rules_option(show)
    show.set_defaults(func=cmd_rules_show)
    docs = rules_commands.add_parser("docs", help="write the rule catalogue as Markdown")
    docs.add_argument("--output", metavar="FILE")
    rules_option(docs)
    docs.set_defaults(func=cmd_rules_docs)

    policy = commands.add_parser("policy", help="validate policies and compute their digests")
    policy_commands = policy.add_subparsers(dest="policy_command", metavar="COMMAND", required=True)
    validate = policy_commands.add_parser("validate", help="validate policy files (baseline first)")
    validate.add_argument("files", nargs="+", metavar="FILE")
    rules_option(validate)
    validate.set_defaults(func=cmd_policy_validate)
    digest = policy_commands.add_parser("digest", help="print the digest the release side pins")
    digest.add_argument("file", metavar="FILE")
    digest.set_defaults(func=cmd_policy_digest)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func: Callable[[argparse.Namespace], int] | None = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 2
    try:
        return func(args)
    except CheckerError as exc:
        print(f"checker: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("checker: interrupted", file=sys.stderr)
        return 2
    except Exception as exc:  # never a traceback at a user, never a pass
        if args.debug:
            traceback.print_exc()
        print(
            f"checker: internal error: {type(exc).__name__}: {exc} (rerun with --debug for details)",
            file=sys.stderr,
        )
        return 2
