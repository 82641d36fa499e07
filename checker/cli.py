"""The command line. Each command is a function returning an exit code;
errors are mapped to exit codes here and nowhere else (0 pass, 1 fail,
2 usage, configuration or input error)."""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from checker import __version__
from checker.environments import ENVIRONMENTS
from checker.errors import CheckerError, UsageError
from checker.render import OutputFormat

if TYPE_CHECKING:  # imported lazily at run time, to keep `checker --version` instant
    from checker.bundle import Bundle
    from checker.registry import Registry
    from checker.report import Subject
    from checker.signing import Signer
    from checker.verify import TrustedKey


def _now() -> str:
    from checker.times import utc_text

    return utc_text(datetime.now(UTC))


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


def _registry(args: argparse.Namespace, bundle: Bundle | None = None) -> Registry:
    from checker.registry import load_registry

    labelled = [(bundle.rules, f"{bundle.label}/rules", bundle.rule_digests)] if bundle and bundle.rules else []
    return load_registry((Path(d) for d in args.rules), labelled)


def _policy_trust(given: Sequence[str]) -> list[TrustedKey]:
    """The organization's policy-signing keys: --policy-trust, else the file
    named by CHECKER_POLICY_TRUST (set once in the CI images)."""
    from checker.bundle import TRUST_ENV
    from checker.verify import load_trust

    files = list(given) or ([os.environ[TRUST_ENV]] if os.environ.get(TRUST_ENV) else [])
    return [key for path in files for key in load_trust(Path(path))]


def _bundle(args: argparse.Namespace) -> Bundle | None:
    """The verified policy bundle asked for with --policy-bundle, if any."""
    if not args.policy_bundle:
        return None
    from checker.bundle import BundleCache, default_cache, fetch_bundle

    folder = Path(args.bundle_cache) if args.bundle_cache else default_cache()
    cache = None if args.bundle_cache == "" else BundleCache(folder)
    return fetch_bundle(args.policy_bundle, _policy_trust(args.policy_trust), datetime.now(UTC), cache)


def _subjects(given: Sequence[str]) -> list[Subject]:
    from checker.report import Subject

    subjects = []
    for name in given:
        try:
            digest = hashlib.sha256(Path(name).read_bytes()).hexdigest()
        except OSError as exc:
            raise UsageError(f"cannot read subject {name}: {exc.strerror}") from None
        subjects.append(Subject(Path(name).as_posix(), {"sha256": digest}))
    return subjects


def _progress() -> Callable[[int], None]:
    """A one-line count on a terminal, refreshed at most ten times a second."""
    last = [0.0]

    def show(done: int) -> None:
        now = time.monotonic()
        if now - last[0] >= 0.1:
            last[0] = now
            sys.stderr.write(f"\rchecking templates: {done}")
            sys.stderr.flush()

    return show


def _status_line(text: str) -> None:
    """Progress of long steps (scanners) on a terminal, on one line."""
    sys.stderr.write(f"\r\033[K{text}")
    sys.stderr.flush()


def cmd_check(args: argparse.Namespace) -> int:
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
    signer = None
    if args.sign_key:
        from checker.signing import load_signer

        # Load the key before the run, so a wrong key fails fast and no
        # unsigned report is left behind.
        signer = load_signer(args.sign_key, os.environ)
    root = Path(args.root) if args.root else Path.cwd()
    if not root.is_dir():
        raise UsageError(f"--root {args.root} is not a directory")
    if args.cache:
        from checker.cache import CACHE_KEY_ENV, MIN_SECRET_BYTES, cache_secret

        if cache_secret(os.environ) is None:
            print(
                f"checker: --cache is not used: set {CACHE_KEY_ENV} to a secret of at least {MIN_SECRET_BYTES} "
                "bytes that only the CI holds (entries are authenticated with it)",
                file=sys.stderr,
            )
    bundle = _bundle(args)
    try:
        return _check(args, root, bundle, names, outputs, signer)
    finally:
        if bundle is not None:
            bundle.close()


def _check(
    args: argparse.Namespace,
    root: Path,
    bundle: Bundle | None,
    names: Sequence[str],
    outputs: Sequence[str],
    signer: Signer | None,
) -> int:
    from checker.gate import CheckRequest, run_check
    registry = _registry(args, bundle)
    request = CheckRequest(
        bundle=bundle,
        paths=[Path(p) for p in (args.paths or ["."])],
        root=root,
        policies=[Path(p) for p in args.policy],
        excludes=args.exclude,
        env=args.env,
        baseline=Path(args.baseline) if args.baseline else None,
        break_glass=Path(args.break_glass) if args.break_glass else None,
        waiver_sets=[Path(p) for p in args.waivers],
        subjects=_subjects(args.subject),
        environ=dict(os.environ),
        templates_only=args.templates_only,
        jobs=args.jobs,
        cache_dir=Path(args.cache) if args.cache else None,
        rule_folders=[Path(d) for d in args.rules],
        progress=_progress() if sys.stderr.isatty() else None,
        evidence=[Path(p) for p in args.evidence],
        run_scans=args.run_scans,
        base_ref=args.base_ref,
        scan_progress=_status_line if sys.stderr.isatty() else None,
        record_source=any(name != "text" for name in names),
    )
    run = run_check(request, registry)
    if request.progress is not None:
        sys.stderr.write("\r\033[K")  # the progress line disappears once done
    metas = {rule_id: rule.meta for rule_id, rule in registry.items()}
    for index, name in enumerate(names):
        output = outputs[index] if index < len(outputs) else None
        if name == "dsse":
            from checker.signing import sign_envelope

            assert signer is not None
            payload = json.dumps(run.statement, ensure_ascii=False, separators=(",", ":")).encode()
            _write(json.dumps(sign_envelope(payload, signer), indent=2) + "\n", output)
        else:
            _write(OutputFormat(name).render(run.statement, metas, color=_color(output)), output)
    return 0 if run.evaluation.verdict == "pass" else 1


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
    from checker.bundle import is_bundle, read_digest

    trust = [key for path in args.trust for key in load_trust(Path(path))]
    pinned = args.policy_digest
    if args.policy:
        policy = Path(args.policy)
        if is_bundle(policy):
            pinned = read_digest(policy.read_bytes(), args.policy)
        else:
            pinned = policy_file_digest(policy, args.policy)
    repository = None
    if args.repository:
        from checker.provenance import normalize_repository

        repository = normalize_repository(args.repository)
        if repository is None:
            raise UsageError(f"--repository {args.repository}: not a repository (use host/owner/name or its URL)")
    expect = Expectations(
        trust=trust,
        subjects=[Path(p) for p in args.subject],
        policy_digest=pinned,
        max_age=parse_duration(args.max_age) if args.max_age else None,
        commit=args.commit,
        threshold=args.threshold,
        allow_break_glass=args.allow_break_glass,
        allow_templates_only=args.allow_templates_only,
        allow_rule_folders=args.allow_rule_folders,
        policy_trust=[key for path in args.policy_trust for key in load_trust(Path(path))],
        min_policy_version=args.min_policy_version,
        policy_name=args.policy_name,
        checked_paths=args.checked_path or None,
        env=args.env,
        repository=repository,
        allow_dirty=args.allow_dirty,
        allow_no_git=args.allow_no_git,
        templates=[Path(p) for p in args.template],
        min_checker_version=args.min_checker_version,
        require_scans_run=args.require_scans_run,
        reject_cached=args.reject_cached,
        require_builtin_rules=args.require_builtin_rules,
    )
    try:
        envelope = Path(args.report).read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read report {args.report}: {exc.strerror}") from None
    result = verify(envelope, expect)
    if args.audit_log:
        signer = None
        if args.audit_key:
            from checker.signing import load_signer

            signer = load_signer(args.audit_key, os.environ)
        append_audit_log(Path(args.audit_log), result, signer=signer)
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
    from checker.errors import suggest

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
    policy.approvers.public_keys()  # each approver's key must load, not only look like PEM
    enabled = sum(1 for s in policy.rules.values() if s.enforce != "off")
    _write(
        f"{', '.join(args.files)}: valid ({len(policy.rules)} rules, {enabled} enabled; {policy.digest})\n",
        None,
    )
    return 0


def cmd_policy_explain(args: argparse.Namespace) -> int:
    from checker.gate import policy_layers
    from checker.policy import explain, load_policy

    root = Path(args.root) if args.root else Path.cwd()
    paths, displays = policy_layers([Path(p) for p in args.policy], root)
    data = explain(load_policy(paths, _registry(args), displays, env=args.env))
    if args.format == "json":
        _write(json.dumps(data, indent=2) + "\n", None)
        return 0
    lines = [
        f"policy {data['name']} {data['version']} ({data['digest']})" + (f", env {data['env']}" if data["env"] else "")
    ]
    lines += [
        f"  {layer['role']}: {layer['path']} ({layer['name']} {layer['version']}, {layer['digest']})"
        for layer in data["layers"]
    ]
    lines.append("settings: " + ", ".join(f"{k}={json.dumps(v)}" for k, v in data["settings"].items()))
    lines += [f"exclude {e['glob']}  <- {e['source']}" for e in data["exclude"]]
    for rule_id, rule in data["rules"].items():
        origin = rule["origin"]
        lines.append(
            f"{rule_id}: {rule['enforce']} <- {origin.get('enforce', 'default')}; "
            f"severity {rule['severity']} <- {origin.get('severity', 'rule default')}"
        )
        for name, value in rule["params"].items():
            lines.append(f"    {name} = {json.dumps(value)}  <- {origin.get(f'params.{name}', 'rule default')}")
        if rule["scope"]:
            lines.append(f"    scope {json.dumps(rule['scope'])}  <- {origin.get('scope')}")
    lines += [
        f"waiver {w['id']} {w['rule']} {json.dumps(w['scope'])} until {w['expires']} "
        f"(approved by {w['approved_by']})  <- {w['source']}"
        for w in data["waivers"]
    ]
    _write("\n".join(lines) + "\n", None)
    return 0


def cmd_policy_test(args: argparse.Namespace) -> int:
    from checker.policytest import run_cases

    results = run_cases(Path(args.dir), [Path(p) for p in args.policy], _registry(args))
    for case in results:
        _write(f"{'ok  ' if case.passed else 'FAIL'} {case.name}\n", None)
        for problem in case.problems:
            _write(f"     {problem}\n", None)
    failed = sum(not c.passed for c in results)
    _write(f"{len(results) - failed} passed, {failed} failed\n", None)
    return 1 if failed else 0


def cmd_baseline(args: argparse.Namespace) -> int:
    import yaml

    from checker.gate import CheckRequest, baseline_document, run_check
    from checker.relax.sources import ADOPTION_FILE

    root = Path(args.root) if args.root else Path.cwd()
    now = datetime.now(UTC)
    request = CheckRequest(
        paths=[Path(p) for p in (args.paths or ["."])],
        root=root,
        policies=[Path(p) for p in args.policy],
        excludes=args.exclude,
        env=args.env,
        environ=dict(os.environ),
        now=now,
        use_baseline=False,
        record_source=False,
    )
    registry = _registry(args)
    run = run_check(request, registry)
    days = args.days if args.days is not None else run.policy.settings.max_waiver_days
    if not 0 < days <= run.policy.settings.max_waiver_days:
        raise UsageError(
            f"--days {days} is outside the 1 to {run.policy.settings.max_waiver_days}-day horizon "
            "the baseline policy allows"
        )
    document = baseline_document(run, args.reason, now + timedelta(days=days), now)
    header = (
        "# checker adoption baseline: today's findings, accepted until they expire.\n"
        "# It counts only once approved: an approver runs `checker approve .checker-baseline.yml --key ...`.\n"
        "# Only new findings fail. Refresh with `checker baseline` (and approve again) to drop fixed ones.\n"
    )
    output = Path(args.output or root / ADOPTION_FILE)
    try:
        output.write_text(header + yaml.safe_dump(document, sort_keys=False, width=120), encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write {output}: {exc.strerror}") from None
    print(
        f"wrote {output}: {len(document['entries'])} finding(s) accepted until {document['expires']}",
        file=sys.stderr,
    )
    return 0


def cmd_policy_digest(args: argparse.Namespace) -> int:
    from checker.bundle import is_bundle, read_digest
    from checker.policy import default_policy_path, policy_file_digest

    if args.file is None:
        _write(policy_file_digest(default_policy_path(), "(built-in) policies/baseline.yaml") + "\n", None)
    elif is_bundle(Path(args.file)):
        _write(read_digest(Path(args.file).read_bytes(), args.file) + "\n", None)
    else:
        _write(policy_file_digest(Path(args.file), args.file) + "\n", None)
    return 0


def cmd_policy_bundle(args: argparse.Namespace) -> int:
    from checker.bundle import BASELINE_NAME, RULES_DIR, build_bundle
    from checker.policy import load_policy
    from checker.registry import load_registry
    from checker.signing import load_signer
    from checker.times import parse_time, utc_text

    folder = Path(args.dir)
    created_text = args.created or (
        utc_text(datetime.fromtimestamp(int(os.environ["SOURCE_DATE_EPOCH"]), UTC))
        if os.environ.get("SOURCE_DATE_EPOCH", "").isdigit()
        else None
    )
    created = parse_time(created_text) if created_text else None
    if created is None:
        raise UsageError("give --created TIME (ISO 8601) or SOURCE_DATE_EPOCH: a bundle states when it was made")
    if not (folder / BASELINE_NAME).is_file():
        raise UsageError(f"{folder} has no {BASELINE_NAME}")
    # The baseline and rules must load exactly as a build will load them.
    rules = folder / RULES_DIR
    labelled = [(rules, f"bundle:{args.name or 'new'}@{args.version}/{RULES_DIR}", None)] if rules.is_dir() else []
    registry = load_registry(labelled=labelled)
    policy = load_policy([folder / BASELINE_NAME], registry, [f"{args.dir}/{BASELINE_NAME}"])
    policy.approvers.public_keys()
    signers = [load_signer(ref, os.environ) for ref in args.sign_key]
    data, digest = build_bundle(
        folder,
        version=args.version,
        created=created,
        signers=signers,
        name=args.name,
        baseline_digest=policy.digest,
        baseline_name=policy.name,
    )
    try:
        Path(args.output).write_bytes(data)
    except OSError as exc:
        raise UsageError(f"cannot write {args.output}: {exc.strerror}") from None
    _write(digest + "\n", None)
    name = args.name or policy.name
    print(f"wrote {args.output}: {name} {args.version}, signed by {len(signers)} key(s)", file=sys.stderr)
    return 0


def cmd_approve(args: argparse.Namespace) -> int:
    from checker.approve import approve

    root = Path(args.root) if args.root else Path.cwd()
    bundle = _bundle(args)
    try:
        summary = approve(
            Path(args.file),
            root=root,
            key=args.key,
            registry=_registry(args, bundle),
            policies=[bundle.baseline] if bundle is not None else [Path(p) for p in args.policy],
            repository=args.repository,
            commit=args.commit,
            environ=os.environ,
        )
    finally:
        if bundle is not None:
            bundle.close()
    print(summary, file=sys.stderr)
    return 0


def _bundle_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--policy-bundle",
        metavar="SRC",
        help="the organization's signed policy bundle: a file, https:// URL or s3://bucket/key, optionally "
        "pinned SRC@sha256:DIGEST; verified before use, its baseline is the baseline",
    )
    p.add_argument(
        "--policy-trust",
        action="append",
        default=[],
        metavar="FILE",
        help="the organization's policy-signing keys (PEM or keyring; default: the file named by "
        "CHECKER_POLICY_TRUST)",
    )
    p.add_argument(
        "--bundle-cache",
        metavar="DIR",
        help="where verified bundles are kept by digest, for offline reruns (default: ~/.cache/checker/bundles; "
        "'' for none)",
    )


def _rules_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--rules",
        action="append",
        default=[],
        metavar="DIR",
        help="load more rules from DIR (repeatable)",
    )


def _add_check(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    check = commands.add_parser(
        "check",
        help="check templates and build evidence against the policy",
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
    _rules_option(check)
    check.add_argument(
        "--format",
        action="append",
        choices=[*(f.value for f in OutputFormat), "dsse"],
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
    check.add_argument("--jobs", type=int, metavar="N", help="worker processes (default: one per core)")
    check.add_argument(
        "--cache", metavar="DIR", help="reuse results for unchanged files (keyed by content, rules and policy) from DIR"
    )
    check.add_argument(
        "--templates-only",
        action="store_true",
        help="check templates only: skip named files that are not templates, and the repository rules "
        "(coverage, scans, repository files); for hooks handed every changed file",
    )
    check.add_argument(
        "--evidence",
        action="append",
        default=[],
        metavar="FILE",
        help="a coverage report or scan result to judge, besides those found by name (repeatable)",
    )
    check.add_argument(
        "--run-scans",
        action="store_true",
        help="run the scans the policy requires (bandit, cfn-lint, checkov) instead of only reading their results",
    )
    check.add_argument(
        "--base-ref",
        metavar="REF",
        help="git ref new code is measured against, for coverage of changed lines "
        "(default: the target branch of the pull/merge request, from CI)",
    )
    check.add_argument(
        "--env",
        choices=ENVIRONMENTS,
        help="the environment the stacks are for; policies may be stricter for some",
    )
    check.add_argument(
        "--baseline",
        metavar="FILE",
        help=f"adoption baseline of accepted findings (default: {'.checker-baseline.yml'} at the root)",
    )
    check.add_argument(
        "--break-glass",
        metavar="FILE",
        help="emergency override for an incident (incident, reason, expires); applies only when approved",
    )
    _bundle_options(check)
    check.add_argument(
        "--waivers",
        action="append",
        default=[],
        metavar="FILE",
        help="a waiver set (kind: checker-waivers) to apply when approved (default: .checker-waivers.yml at the root)",
    )
    check.add_argument(
        "--sign-key",
        metavar="REF",
        help="sign the report (format dsse): a PEM key file, env:NAME, or awskms:KEY",
    )
    check.set_defaults(func=cmd_check)


def _add_keygen(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    keygen = commands.add_parser(
        "keygen",
        help="create a signing key pair",
        description="Write PREFIX.key (PKCS#8 PEM, mode 0600) and PREFIX.pub "
        "(SPKI PEM) and print the key id (sha256 of the public key's DER).",
    )
    keygen.add_argument("--out", required=True, metavar="PREFIX")
    keygen.add_argument("--type", choices=["ed25519", "ecdsa-p256"], default="ed25519")  # signing.KEY_TYPES
    keygen.add_argument(
        "--passphrase-env",
        metavar="NAME",
        help="encrypt the private key with the passphrase in environment variable NAME",
    )
    keygen.set_defaults(func=cmd_keygen)


def _add_verify(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
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
    ver.add_argument(
        "--policy", metavar="FILE", help="the baseline, or the policy bundle, whose digest the report must carry"
    )
    ver.add_argument(
        "--policy-trust",
        action="append",
        default=[],
        metavar="FILE",
        help="the organization's policy-signing keys: a report's policy bundle must be signed by one (repeatable)",
    )
    ver.add_argument(
        "--min-policy-version",
        metavar="SEMVER",
        help="the oldest policy bundle version accepted (needs --policy-trust)",
    )
    ver.add_argument(
        "--policy-name",
        metavar="NAME",
        help="the policy bundle's name: another bundle the same policy key signed is not accepted",
    )
    ver.add_argument("--policy-digest", metavar="sha256:HEX", help="the pinned policy digest")
    ver.add_argument("--max-age", metavar="DURATION", help="reject reports older than this (30m, 12h, 7d)")
    ver.add_argument("--commit", metavar="SHA", help="the commit the report must be for")
    ver.add_argument("--threshold", type=int, default=1, help="distinct trusted signatures needed")
    ver.add_argument(
        "--allow-break-glass",
        action="store_true",
        help="accept a report that passed only through a break-glass override",
    )
    ver.add_argument(
        "--allow-templates-only",
        action="store_true",
        help="accept a report of a --templates-only check (no coverage, scan or repository rules)",
    )
    ver.add_argument(
        "--allow-rule-folders",
        action="store_true",
        help="accept a report made with --rules folders (their Python files ran inside the check)",
    )
    ver.add_argument("--env", choices=ENVIRONMENTS, help="the environment the report must be for")
    ver.add_argument(
        "--repository",
        metavar="HOST/OWNER/NAME",
        help="the repository the report must be for (any spelling of its URL)",
    )
    ver.add_argument("--allow-dirty", action="store_true", help="accept a report of a checkout with changes")
    ver.add_argument("--allow-no-git", action="store_true", help="accept a report of a check outside a git checkout")
    ver.add_argument(
        "--template",
        action="append",
        default=[],
        metavar="FILE",
        help="template (as deployed) that the report must have judged without error (repeatable)",
    )
    ver.add_argument("--min-checker-version", metavar="V", help="the oldest checker version accepted (PEP 440)")
    ver.add_argument(
        "--checked-path",
        action="append",
        metavar="PATH",
        help="a path the build must have checked, as given to checker check (repeatable; e.g. . for the root)",
    )
    ver.add_argument(
        "--require-scans-run",
        action="store_true",
        help="reject scan results that checker did not produce by running the scanner itself",
    )
    ver.add_argument("--reject-cached", action="store_true", help="reject results reused from a cache")
    ver.add_argument(
        "--require-builtin-rules",
        action="store_true",
        help="reject a report judged by any rule that is not byte for byte this installation's built-in rule",
    )
    ver.add_argument("--format", choices=["text", "json"], default="text")
    ver.add_argument("--audit-log", metavar="FILE", help="append one JSON line per verification")
    ver.add_argument(
        "--audit-key",
        metavar="KEY",
        help="sign each audit line with the release side's key (PEM file, env:NAME or awskms:ID), for `checker ledger`",
    )
    ver.set_defaults(func=cmd_verify)


def _add_baseline(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    base = commands.add_parser(
        "baseline",
        help="record today's findings so that only new ones fail",
        description="Write an adoption baseline (default .checker-baseline.yml): "
        "today's findings by fingerprint, accepted until they expire. Rerun to "
        "refresh: fixed findings drop out.",
    )
    base.add_argument("paths", nargs="*", metavar="PATH")
    base.add_argument("--policy", action="append", default=[], metavar="FILE")
    base.add_argument("--env", choices=ENVIRONMENTS)
    base.add_argument("--exclude", action="append", default=[], metavar="GLOB")
    base.add_argument("--root", metavar="DIR")
    base.add_argument("--reason", default="adoption baseline: findings that predate the gate")
    base.add_argument("--days", type=int, help="days until the baseline expires (default: the policy's maximum)")
    base.add_argument("--output", metavar="FILE")
    _rules_option(base)
    base.set_defaults(func=cmd_baseline)


def _add_approve(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    approve = commands.add_parser(
        "approve",
        help="sign a relaxation (waiver set, a template's inline waivers, adoption baseline, break-glass) as approver",
        description="Sign FILE as an approver: writes or extends FILE.approval.dsse.json with this key's "
        "signature over the file's canonical digest, its kind, the rules it relaxes and the repository "
        "(and, for break-glass, the commit). It counts when the baseline names this key among its approvers.",
    )
    approve.add_argument("file", metavar="FILE")
    approve.add_argument(
        "--key", required=True, metavar="REF", help="the approver's key: a PEM file, env:NAME or awskms:KEY"
    )
    approve.add_argument(
        "--repository",
        metavar="HOST/OWNER/NAME",
        help="the repository it applies to (default: the origin remote of the checkout at the root)",
    )
    approve.add_argument("--commit", metavar="SHA", help="break-glass: the commit it lets through (default: HEAD)")
    approve.add_argument("--root", metavar="DIR", help="the repository root FILE is named from (default: .)")
    approve.add_argument(
        "--policy",
        action="append",
        default=[],
        metavar="FILE",
        help="the baseline whose limits (waiver horizon) the file must meet (default: the built-in one, "
        "or --policy-bundle's)",
    )
    _rules_option(approve)
    _bundle_options(approve)
    approve.set_defaults(func=cmd_approve)


def _add_rules(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    rules = commands.add_parser("rules", help="list and explain rules")
    rules_commands = rules.add_subparsers(dest="rules_command", metavar="COMMAND", required=True)
    listing = rules_commands.add_parser("list", help="list rules with their parameters")
    listing.add_argument("--format", choices=["text", "json"], default="text")
    _rules_option(listing)
    listing.set_defaults(func=cmd_rules_list)
    show = rules_commands.add_parser("show", help="explain one rule")
    show.add_argument("id")
    _rules_option(show)
    show.set_defaults(func=cmd_rules_show)
    docs = rules_commands.add_parser("docs", help="write the rule catalogue as Markdown")
    docs.add_argument("--output", metavar="FILE")
    _rules_option(docs)
    docs.set_defaults(func=cmd_rules_docs)


def _add_policy(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    policy = commands.add_parser("policy", help="validate policies and compute their digests")
    policy_commands = policy.add_subparsers(dest="policy_command", metavar="COMMAND", required=True)
    validate = policy_commands.add_parser("validate", help="validate policy files (baseline first)")
    validate.add_argument("files", nargs="+", metavar="FILE")
    _rules_option(validate)
    validate.set_defaults(func=cmd_policy_validate)
    explain = policy_commands.add_parser("explain", help="show the effective policy and where each setting came from")
    explain.add_argument(
        "--policy",
        action="append",
        default=[],
        metavar="FILE",
        help="baseline, then overlays (default: built-in baseline and ./.checker.yml)",
    )
    explain.add_argument("--env", choices=ENVIRONMENTS)
    explain.add_argument("--root", metavar="DIR", help="where to look for .checker.yml (default: .)")
    explain.add_argument("--format", choices=["text", "json"], default="text")
    _rules_option(explain)
    explain.set_defaults(func=cmd_policy_explain)
    ptest = policy_commands.add_parser("test", help="run policy unit tests (folders with case.yaml)")
    ptest.add_argument("dir", metavar="DIR")
    ptest.add_argument("--policy", action="append", default=[], metavar="FILE")
    _rules_option(ptest)
    ptest.set_defaults(func=cmd_policy_test)
    digest = policy_commands.add_parser("digest", help="print the digest the release side pins")
    digest.add_argument(
        "file", metavar="FILE", nargs="?", help="the baseline, or a policy bundle (default: the built-in baseline)"
    )
    digest.set_defaults(func=cmd_policy_digest)
    bundle = policy_commands.add_parser(
        "bundle",
        help="build and sign a policy bundle from a folder (baseline.yaml, rules/, data)",
        description="Write one signed archive of DIR's baseline.yaml, rules/ and other files, with a manifest of "
        "every file's digest; print the bundle's digest (what builds and the release side pin).",
    )
    bundle.add_argument("dir", metavar="DIR")
    bundle.add_argument("--version", required=True, metavar="SEMVER", help="the bundle's version, e.g. 1.1.0")
    bundle.add_argument(
        "--sign-key", action="append", required=True, metavar="REF", help="a PEM file, env:NAME or awskms:KEY"
    )
    bundle.add_argument("--output", required=True, metavar="FILE")
    bundle.add_argument("--name", help="the bundle's name (default: the baseline's name)")
    bundle.add_argument(
        "--created", metavar="TIME", help="creation time, ISO 8601 (default: SOURCE_DATE_EPOCH), for reproducibility"
    )
    bundle.set_defaults(func=cmd_policy_bundle)


# Each command's parser, built only when needed: a hook runs `check` on
# every commit, and building every parser costs it time.
def _add_ledger(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from checker.ledger.cli import add_ledger  # the hook and `check` never load the ledger

    add_ledger(commands)


_COMMANDS: dict[str, Callable[[argparse._SubParsersAction[argparse.ArgumentParser]], None]] = {
    "check": _add_check,
    "keygen": _add_keygen,
    "verify": _add_verify,
    "baseline": _add_baseline,
    "approve": _add_approve,
    "rules": _add_rules,
    "policy": _add_policy,
    "ledger": _add_ledger,
}


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The command-line parser; with ``only``, just that command's (and the
    top level's) arguments."""
    parser = argparse.ArgumentParser(
        prog="checker",
        description="Apply an organization's compliance policy to a repository and its "
        "infrastructure templates, and write a pass/fail report.",
    )
    parser.add_argument("--version", action="version", version=f"checker {__version__}")
    parser.add_argument("--debug", action="store_true", help="show a traceback on internal errors")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, add in _COMMANDS.items():
        if only is None or only == name:
            add(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    given = list(sys.argv[1:] if argv is None else argv)
    first = next((a for a in given if not a.startswith("-")), None)
    parser = build_parser(first if first in _COMMANDS else None)
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
    except BrokenPipeError:  # output piped into `head`: the reader has what it wanted
        # Point stdout at /dev/null so the interpreter's final flush is quiet.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except Exception as exc:  # never a traceback at a user, never a pass
        if args.debug:
            import traceback

            traceback.print_exc()
        print(
            f"checker: internal error: {type(exc).__name__}: {exc} (rerun with --debug for details)",
            file=sys.stderr,
        )
        return 2
