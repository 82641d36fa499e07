"""Release-side verification of a signed report, as a checklist.

``verify`` walks numbered steps and collects every reason to reject; the
payload is parsed only after a trusted signature checks out. Each reason has
a stable code (for machines and audit logs) and a sentence (for people).
``VerifyResult.accepted`` is true only when there is no reason at all.

    from checker.verify import Expectations, load_trust, verify
    result = verify(Path("report.dsse.json").read_bytes(),
                    Expectations(trust=load_trust(Path("keys.yaml")), subjects=[Path("app.zip")],
                                 policy_digest="sha256:...", max_age=timedelta(days=1)))
    if not result.accepted:
        raise SystemExit("\\n".join(r.message for r in result.reasons))
"""

from __future__ import annotations

import base64
import binascii
import fnmatch
import functools
import hashlib
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from checker.environments import ENVIRONMENTS
from checker.errors import CheckerError, InputError, UsageError
from checker.loaders import line_of, load_text, read_text
from checker.signing import PAYLOAD_TYPE, PublicKey, Signer, key_id, load_public_key, pae, verify_signature
from checker.times import outside_window, parse_time, utc_text

MAX_ENVELOPE_BYTES = 16 * 1024 * 1024
CLOCK_SKEW = timedelta(minutes=5)
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"


@dataclass(frozen=True, slots=True)
class TrustedKey:
    keyid: str
    public_key: PublicKey
    owner: str | None = None
    not_before: datetime | None = None
    not_after: datetime | None = None
    revoked: bool = False
    # Glob patterns (fnmatchcase) for the report's source.repository, host/owner/name; empty: any.
    repositories: tuple[str, ...] = ()

    def label(self) -> str:
        return self.keyid + (f" ({self.owner})" if self.owner else "")


@dataclass(frozen=True, slots=True)
class Rejection:
    code: str
    message: str


@dataclass(frozen=True, slots=True)
class Expectations:
    """What the release side requires of a report.

    A field left at its default checks nothing, except two that reject by
    default: a report from a dirty checkout (``allow_dirty``) or from outside
    git (``allow_no_git``), since then no commit names what was judged."""

    trust: Sequence[TrustedKey]
    subjects: Sequence[Path] = ()
    policy_digest: str | None = None
    max_age: timedelta | None = None
    commit: str | None = None
    threshold: int = 1
    allow_break_glass: bool = False
    allow_templates_only: bool = False
    allow_rule_folders: bool = False
    now: datetime | None = None
    env: str | None = None
    repository: str | None = None  # host/owner/name the report must be for
    policy_trust: Sequence[TrustedKey] = ()  # the organization's policy-bundle signing keys
    min_policy_version: str | None = None  # SemVer; needs policy_trust
    policy_name: str | None = None  # the bundle's name: another bundle the same key signed is not this policy
    allow_dirty: bool = False
    allow_no_git: bool = False
    templates: Sequence[Path] = ()
    # The paths the build must have checked (as given to `checker check`, relative to its root).
    checked_paths: Sequence[str] | None = None
    min_checker_version: str | None = None
    require_scans_run: bool = False
    reject_cached: bool = False
    require_builtin_rules: bool = False

    def __post_init__(self) -> None:
        # A threshold of 0 would accept an envelope with no valid signature at all.
        if isinstance(self.threshold, bool) or not isinstance(self.threshold, int) or self.threshold < 1:
            raise UsageError(f"--threshold must be 1 or more, not {self.threshold!r}")
        if (self.min_policy_version is not None or self.policy_name is not None) and not self.policy_trust:
            raise UsageError(
                "--min-policy-version and --policy-name need --policy-trust: a bundle's name and version count "
                "only if the organization signed it"
            )
        if self.min_policy_version is not None:
            from checker.bundle import semver_key

            semver_key(self.min_policy_version)
        if self.env is not None and self.env not in ENVIRONMENTS:
            raise UsageError(f"--env must be one of {', '.join(ENVIRONMENTS)}, not {self.env!r}")
        if self.min_checker_version is not None:
            try:
                from packaging.version import InvalidVersion, Version
            except ImportError:
                raise UsageError("--min-checker-version needs the 'packaging' package installed") from None
            try:
                Version(self.min_checker_version)
            except InvalidVersion:
                raise UsageError(
                    f"--min-checker-version {self.min_checker_version!r} is not a PEP 440 version"
                ) from None


@dataclass(frozen=True, slots=True)
class VerifyResult:
    accepted: bool
    reasons: tuple[Rejection, ...]
    report_sha256: str
    keyids: tuple[str, ...] = ()
    statement: dict[str, Any] | None = field(default=None, repr=False)

    @property
    def verdict(self) -> str | None:
        if self.statement is None:
            return None
        return str(self.statement.get("predicate", {}).get("verdict"))

    def to_json(self) -> dict[str, Any]:
        predicate = (self.statement or {}).get("predicate", {})
        return {
            "accepted": self.accepted,
            "reasons": [{"code": r.code, "message": r.message} for r in self.reasons],
            "report_sha256": self.report_sha256,
            "keyids": list(self.keyids),
            "verdict": self.verdict,
            "subjects": (self.statement or {}).get("subject", []),
            "policy_digest": (predicate.get("policy") or {}).get("digest"),
            "commit": (predicate.get("source") or {}).get("commit"),
        }


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def _strict_json(data: bytes) -> Any:
    return json.loads(data, object_pairs_hook=_no_duplicates)


_DURATION = re.compile(r"^(\d+)([smhdw])$")


def parse_duration(text: str) -> timedelta:
    """``90s``, ``30m``, ``12h``, ``7d``, ``2w``."""
    match = _DURATION.match(text.strip())
    if not match:
        raise InputError(f"not a duration: {text!r} (use e.g. 30m, 12h, 7d)", field="--max-age")
    amount, unit = int(match.group(1)), match.group(2)
    seconds = amount * {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}[unit]
    if seconds > 100 * 365 * 86400:
        raise InputError(f"{text!r} is over a century: give a real maximum age", field="--max-age")
    return timedelta(seconds=seconds)


_PEM_BLOCK = re.compile(rb"\A\s*-----BEGIN PUBLIC KEY-----\r?\n[A-Za-z0-9+/=\r\n]+-----END PUBLIC KEY-----\s*\Z")
_KEY_FIELDS = frozenset(
    {"id", "owner", "public_key", "public_key_file", "not_before", "not_after", "revoked", "repositories"}
)


def _strict_pem(pem: bytes, display: str, line: int | None = None, where: str | None = None) -> PublicKey:
    """Exactly one ``PUBLIC KEY`` block and nothing else: the PEM parser would
    skip text around a block, so a keyring that embeds a key would pass as it."""
    if not _PEM_BLOCK.match(pem):
        raise InputError(
            "must be exactly one PEM 'PUBLIC KEY' block, with nothing but whitespace around it",
            path=display,
            line=line,
            field=where,
        )
    return load_public_key(pem, display if where is None else f"{display} {where}")


def load_trust(path: Path) -> list[TrustedKey]:
    """Trusted keys from a file, decided by its structure with no fallback.

    A file whose first non-blank bytes are ``-----BEGIN`` is a PEM file: one
    ``PUBLIC KEY`` block, no restrictions. Anything else is a keyring (YAML or
    JSON): a mapping whose only key is ``keys``, a non-empty list of keys with
    ``public_key`` (PEM) or ``public_key_file``, and optionally ``id``,
    ``owner``, ``not_before``, ``not_after``, ``revoked`` and ``repositories``
    (glob patterns for the reports' ``host/owner/name`` repository). Any other
    field is an error, so that a misspelt restriction never goes unenforced."""
    display = str(path)
    raw, text = read_text(path, display)
    if raw.lstrip().startswith(b"-----BEGIN"):
        key = _strict_pem(raw, display)
        return [TrustedKey(key_id(key), key)]
    data = load_text(text, display)
    if not isinstance(data, dict):
        raise InputError("a keyring must be a mapping with a 'keys' list", path=display, line=line_of(data) or 1)
    for name in data:
        if name != "keys":
            raise InputError(
                "unknown top-level field (a keyring has only 'keys')",
                path=display,
                line=line_of(data, name),
                field=str(name),
            )
    entries = data.get("keys")
    if not isinstance(entries, list) or not entries:
        raise InputError(
            "a keyring needs a non-empty 'keys' list", path=display, line=line_of(data, "keys") or 1, field="keys"
        )
    return [_trusted_key(path, entries, index) for index in range(len(entries))]


def _trusted_key(path: Path, entries: list[Any], index: int) -> TrustedKey:
    display = str(path)
    entry = entries[index]
    where = f"keys[{index}]"
    line = line_of(entries, index)
    if not isinstance(entry, dict):
        raise InputError("each key must be a mapping", path=display, line=line, field=where)

    def fail(name: str, message: str) -> InputError:
        return InputError(message, path=display, line=line_of(entry, name) or line, field=f"{where}.{name}")

    for name in entry:
        if name not in _KEY_FIELDS:
            raise fail(str(name), f"unknown field (a key has {', '.join(sorted(_KEY_FIELDS))})")
    if ("public_key" in entry) == ("public_key_file" in entry):
        raise InputError("needs public_key (PEM) or public_key_file, one of them", path=display, line=line, field=where)
    if "public_key" in entry:
        if not isinstance(entry["public_key"], str):
            raise fail("public_key", "must be a PEM text")
        pem = entry["public_key"].encode()
        name = "public_key"
    else:
        if not isinstance(entry["public_key_file"], str):
            raise fail("public_key_file", "must be a file name")
        try:
            pem = (path.parent / entry["public_key_file"]).read_bytes()
        except OSError as exc:
            raise fail("public_key_file", f"cannot read {entry['public_key_file']}: {exc.strerror}") from None
        name = "public_key_file"
    key = _strict_pem(pem, display, line_of(entry, name) or line, f"{where}.{name}")
    computed = key_id(key)
    if entry.get("id") is not None and entry["id"] != computed:
        raise fail("id", f"id does not match the key (its id is {computed})")
    owner = entry.get("owner")
    if owner is not None and not isinstance(owner, str):
        raise fail("owner", "must be a string")
    times: dict[str, datetime | None] = {}
    for name in ("not_before", "not_after"):
        times[name] = None if entry.get(name) is None else parse_time(entry[name])
        if entry.get(name) is not None and times[name] is None:
            raise fail(name, "must be an ISO 8601 time")
    revoked = entry.get("revoked", False)
    if not isinstance(revoked, bool):
        raise fail("revoked", "must be true or false")
    repositories = entry.get("repositories")
    if repositories is not None and (
        not isinstance(repositories, list)
        or not repositories
        or not all(isinstance(r, str) and r.strip() for r in repositories)
    ):
        # An empty list would read as "no restriction": leave the field out for that.
        raise fail("repositories", "must be a non-empty list of glob patterns (host/owner/name)")
    return TrustedKey(
        computed,
        key,
        owner,
        times["not_before"],
        times["not_after"],
        revoked,
        tuple(repositories or ()),
    )


def _merge_trust(keys: Sequence[TrustedKey]) -> dict[str, tuple[TrustedKey, ...]]:
    """Every listing of each key, by key id. The key counts once toward the
    threshold, and every listing's restrictions apply: a key revoked, outside
    its window or scoped to repositories in one trust file is so in all."""
    merged: dict[str, tuple[TrustedKey, ...]] = {}
    for key in keys:
        merged[key.keyid] = (*merged.get(key.keyid, ()), key)
    return merged


def _validity_problem(listings: Sequence[TrustedKey], now: datetime) -> str | None:
    for key in listings:
        outside = outside_window(now, key.not_before, key.not_after)
        if outside is not None:
            return f"key {key.label()} {outside}"
    return None


def _is_glob(pattern: str) -> bool:
    return any(c in pattern for c in "*?[")


def _repository_problem(listings: Sequence[TrustedKey], repository: Any) -> str | None:
    for key in listings:
        if key.repositories and not (
            isinstance(repository, str) and any(fnmatch.fnmatchcase(repository, p) for p in key.repositories)
        ):
            named = repository if isinstance(repository, str) else "no repository"
            return f"key {key.label()} signs only for {', '.join(key.repositories)}; the report is for {named}"
    return None


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _input_sha256(path: Path, what: str) -> str:
    try:
        return _file_sha256(path)
    except OSError as exc:
        raise InputError(f"cannot read {what}: {exc.strerror}", path=str(path)) from None


def _builtin_rule_sha256(base: Path, source: str) -> str | None:
    """The digest of ``rules/<relative>`` in this installation's catalogue, or
    None when there is no such file (or the name tries to leave the folder)."""
    parts = source.removeprefix("rules/").split("/")
    if any(part in ("", ".", "..") or "\\" in part for part in parts):
        return None
    file = base.joinpath(*parts)
    try:
        if not file.resolve().is_relative_to(base) or not file.is_file():
            return None
        return _file_sha256(file)
    except OSError:
        return None


def _bundle_problems(predicate: dict[str, Any], expect: Expectations, now: datetime) -> list[Rejection]:
    """The bundle a report names is the one its baseline came from, signed by
    the release side's own policy keys (a team-signed "version 99" proves
    nothing), and at least the version required."""
    bundle = predicate["policy"].get("bundle")
    if bundle is None:
        if expect.min_policy_version is not None or expect.policy_name is not None:
            return [Rejection("policy-version", "the report's policy is not a signed policy bundle")]
        return []
    from checker.bundle import is_prerelease, label, semver_key, trusted_signers

    try:
        payload = base64.b64decode(bundle["envelope"]["payload"], validate=True)
        manifest = json.loads(payload)
    except (KeyError, TypeError, ValueError, binascii.Error, RecursionError):
        return [Rejection("bundle-mismatch", "the report's policy bundle envelope is malformed")]
    if (
        "sha256:" + hashlib.sha256(payload).hexdigest() != bundle["digest"]
        or manifest != bundle["manifest"]
        or manifest.get("baseline_digest") != predicate["policy"]["digest"]
        or (manifest.get("name"), manifest.get("version")) != (bundle["name"], bundle["version"])
    ):
        return [Rejection("bundle-mismatch", "the report's policy bundle does not match its manifest or baseline")]
    problems = []
    # The bundle's own rules are exactly the files its signed manifest lists.
    prefix = label(bundle["name"], bundle["version"]) + "/"
    files = manifest.get("files") if isinstance(manifest.get("files"), dict) else {}
    altered = [
        str(r.get("rule"))
        for r in predicate["results"]
        if str(r.get("source", "")).startswith(prefix)
        and files.get(str(r["source"]).removeprefix(prefix)) != r.get("source_sha256")
    ]
    if altered:
        problems.append(
            Rejection("rule-source", f"rules not as the policy bundle's manifest lists them: {', '.join(altered)}")
        )
    if expect.policy_name is not None and bundle["name"] != expect.policy_name:
        problems.append(
            Rejection("policy-name", f"the report's policy bundle is {bundle['name']}, not {expect.policy_name}")
        )
    if expect.policy_trust:
        try:
            trusted_signers(bundle["envelope"], payload, expect.policy_trust, now)
        except CheckerError as exc:
            problems.append(Rejection("bundle-untrusted", f"policy bundle {bundle['name']}: {exc.message}"))
    if expect.min_policy_version is not None:
        try:
            older = semver_key(bundle["version"]) < semver_key(expect.min_policy_version)
            # A pre-release (1.2.0-rc.1) is no release: it counts only against a pre-release minimum.
            older = older or (is_prerelease(bundle["version"]) and not is_prerelease(expect.min_policy_version))
        except CheckerError:
            older = True
        if older:
            problems.append(
                Rejection(
                    "policy-version",
                    f"policy bundle {bundle['name']} {bundle['version']} is older than {expect.min_policy_version}",
                )
            )
    return problems


def _foreign_rules(results: Sequence[dict[str, Any]], bundle: Mapping[str, Any] | None = None) -> list[str]:
    """Each result whose rule is not, byte for byte, a file of this
    installation's built-in catalogue, as ``ID (why)``; the report's policy
    bundle's own rules are held to its manifest in step 8 whatever is asked."""
    from checker.bundle import label
    from checker.registry import builtin_rules_dir

    base = builtin_rules_dir().resolve()
    digests: dict[str, str | None] = {}
    foreign = []
    prefix = label(bundle["name"], bundle["version"]) + "/" if bundle else None
    for result in results:
        rule, source = result.get("rule"), result.get("source")
        if not isinstance(source, str):
            foreign.append(f"{rule} (no source)")
            continue
        if prefix is not None and source.startswith(prefix):
            continue
        if not source.startswith("rules/"):
            foreign.append(f"{rule} (from {source})")
            continue
        if source not in digests:
            digests[source] = _builtin_rule_sha256(base, source)
        if digests[source] is None:
            foreign.append(f"{rule} ({source} is not in the built-in catalogue)")
        elif result.get("source_sha256") != digests[source]:
            foreign.append(f"{rule} ({source} differs from the built-in file)")
    return foreign


def _listed(items: Sequence[str], limit: int) -> str:
    shown = "; ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def _relaxation_problems(predicate: dict[str, Any], now: datetime) -> list[Rejection]:
    """Each relaxation the report says was approved, decided again by the same
    function the check used, against the approvers of the report's baseline
    (whose digest is the one pinned), at verification time."""
    from checker.canonical import digest_of
    from checker.errors import PolicyError
    from checker.relax.approvers import parse_approvers
    from checker.relax.decide import Context, decide
    from checker.relax.model import Relaxation

    policy = predicate["policy"]
    document = policy.get("document")
    if not isinstance(document, dict) or digest_of(document) != policy["digest"]:
        return [Rejection("policy-document", "the report's baseline does not match its policy digest")]
    try:
        approvers = parse_approvers(document.get("approvers") or {}, "the report's baseline")
    except PolicyError as exc:
        return [Rejection("policy-document", f"the report's baseline has malformed approvers: {exc}")]
    settings = document.get("settings") or {}
    source = predicate.get("source") or {}
    context = Context(
        now, source.get("repository"), source.get("commit"), bool(settings.get("inline_suppressions", False))
    )
    problems = []
    approved = set()
    for record in predicate["relaxations"]:
        if record["status"] != "approved":
            continue
        relaxation = Relaxation(
            record["kind"],
            record["source"],
            Path(record["source"]),
            record["digest"],
            tuple(record["rules"]),
            envelope=record["envelope"],
        )
        decision = decide(relaxation, approvers, context)
        if decision.approved:
            approved.add(record["source"])
        else:
            problems.append(
                Rejection("relaxation-unapproved", f"{record['kind']} {record['source']}: {decision.why}")
            )
    for waiver in predicate["waivers"]["applied"]:
        carrier = waiver.get("relaxation")
        if waiver["kind"] != "policy" and carrier not in approved:
            problems.append(
                Rejection(
                    "relaxation-unapproved",
                    f"waiver {waiver['id']} ({waiver['kind']}, {waiver['rule']}) was applied without an approval "
                    "that holds now",
                )
            )
    glass = predicate.get("break_glass")
    if glass and glass.get("active") and glass.get("source") not in approved:
        why = f"break-glass {glass.get('source')} is not approved by the baseline's approvers"
        problems.append(Rejection("relaxation-unapproved", why))
    return problems


@functools.cache
def _validators() -> tuple[Callable[[Any], Any], Any]:
    """(fast check, reference validator) of the report schema, built once.

    The schema uses only keywords both engines read alike (type, properties,
    required, additionalProperties, items, enum, const, pattern, oneOf, $ref
    into $defs, minimum/minItems/minLength/minProperties): fastjsonschema's
    compiled check answers "valid?" about ten times faster, which a ledger
    ingesting thousands of reports needs; jsonschema, the reference, gives
    the messages when it says no. tests/verify_test.py holds the two to the
    same answers."""
    import fastjsonschema
    import jsonschema

    from checker.report import report_schema

    schema = report_schema()
    return fastjsonschema.compile(schema, use_formats=False), jsonschema.Draft202012Validator(schema)


def _statement_problems(statement: Any) -> list[str]:
    import fastjsonschema  # only on the verify path

    fast, validator = _validators()
    try:
        fast(statement)
        return []
    except fastjsonschema.JsonSchemaException:
        pass
    problems = []
    for error in sorted(validator.iter_errors(statement), key=lambda e: list(e.absolute_path)):
        where = "/".join(str(p) for p in error.absolute_path) or "(top)"
        problems.append(f"{where}: {error.message}")
    return problems


def verify(envelope_bytes: bytes, expect: Expectations) -> VerifyResult:
    """Check a DSSE envelope against what the release side expects."""
    now = expect.now or datetime.now(UTC)
    report_sha256 = hashlib.sha256(envelope_bytes).hexdigest()
    reasons: list[Rejection] = []

    def reject(code: str, message: str) -> VerifyResult:
        reasons.append(Rejection(code, message))
        return VerifyResult(False, tuple(reasons), report_sha256)

    if not expect.trust:
        raise InputError("no trusted keys given: verification without a key proves nothing")

    # 1. The envelope: bounded, strict JSON of the DSSE shape.
    if len(envelope_bytes) > MAX_ENVELOPE_BYTES:
        return reject("envelope-malformed", f"report is over {MAX_ENVELOPE_BYTES} bytes")
    try:
        envelope = _strict_json(envelope_bytes)
    except (ValueError, UnicodeDecodeError) as exc:
        return reject("envelope-malformed", f"report is not a JSON DSSE envelope: {exc}")
    if (
        not isinstance(envelope, dict)
        or not isinstance(envelope.get("payload"), str)
        or not isinstance(envelope.get("payloadType"), str)
    ):
        return reject("envelope-malformed", "report is not a DSSE envelope (payloadType, payload, signatures)")
    signatures = envelope.get("signatures")
    if not isinstance(signatures, list) or not signatures:
        return reject("signature-missing", "report is not signed (no signatures)")
    try:
        payload = base64.b64decode(envelope["payload"], validate=True)
    except (binascii.Error, ValueError):
        return reject("envelope-malformed", "payload is not valid base64")

    # 2. The payload type is signed too; a wrong one is its own reason.
    if envelope["payloadType"] != PAYLOAD_TYPE:
        reasons.append(Rejection("payload-type", f"payload type is {envelope['payloadType']!r}, not {PAYLOAD_TYPE!r}"))

    # 3. Signatures by trusted keys, each key counted once; a revoked key, or
    # one outside its validity window *now*, does not count. The window is
    # judged at verification time: the report's own dates are the signer's
    # claim, and a retired key could backdate a report into its window.
    trust = _merge_trust(expect.trust)
    message = pae(envelope["payloadType"], payload)
    good: dict[str, tuple[TrustedKey, ...]] = {}
    refused: set[str] = set()
    saw_unknown = saw_bad = False
    for entry in signatures:
        if not isinstance(entry, dict) or not isinstance(entry.get("sig"), str):
            saw_bad = True
            continue
        try:
            signature = base64.b64decode(entry["sig"], validate=True)
        except (binascii.Error, ValueError):
            saw_bad = True
            continue
        keyid = entry.get("keyid")
        candidates = (
            [trust[keyid]] if isinstance(keyid, str) and keyid in trust else (list(trust.values()) if not keyid else [])
        )
        if not candidates:
            saw_unknown = True
            continue
        matched = next((k for k in candidates if verify_signature(k[0].public_key, signature, message)), None)
        if matched is None:
            saw_bad = True
            continue
        matched_id = matched[0].keyid
        if matched_id in good or matched_id in refused:
            continue
        revoked = next((k for k in matched if k.revoked), None)
        outside = _validity_problem(matched, now)
        if revoked is not None:
            refused.add(matched_id)
            reasons.append(Rejection("key-revoked", f"signed by revoked key {revoked.label()}"))
        elif outside is not None:
            refused.add(matched_id)
            why = f"{outside}; keys are judged at verification time ({utc_text(now)})"
            reasons.append(Rejection("key-expired", why))
        else:
            good[matched_id] = matched
    if len(good) < expect.threshold:
        if saw_bad:
            reasons.append(
                Rejection(
                    "signature-invalid",
                    "signature does not verify: the report was altered or signed with another key",
                )
            )
        if saw_unknown:
            reasons.append(Rejection("key-unknown", "signed by a key that is not in the trusted keys"))
        if expect.threshold > 1 and good:
            reasons.append(Rejection("threshold", f"{len(good)} trusted signature(s), {expect.threshold} needed"))
        if not reasons:
            reasons.append(Rejection("signature-invalid", "no valid signature by a trusted key"))
        return VerifyResult(False, tuple(reasons), report_sha256)

    # 4. Only now parse what was signed.
    try:
        statement = _strict_json(payload)
    except (ValueError, UnicodeDecodeError) as exc:
        return reject("statement-malformed", f"payload is not JSON: {exc}")
    if not isinstance(statement, dict) or statement.get("_type") != STATEMENT_TYPE:
        return reject("statement-malformed", "payload is not an in-toto Statement v1")
    problems = _statement_problems(statement)
    if problems:
        shown = "; ".join(problems[:3]) + (f" (and {len(problems) - 3} more)" if len(problems) > 3 else "")
        return reject("statement-malformed", f"statement does not match the report schema: {shown}")
    predicate = statement["predicate"]
    source = predicate.get("source")
    keyids = tuple(sorted(good))
    finished = parse_time(predicate["timestamps"]["finished"])
    if finished is None:  # the schema's pattern admits 2026-02-30
        return reject("statement-malformed", "timestamps.finished is not a valid time")

    # 5. A key scoped to repositories signs only for them; and the repository expected.
    repository = source.get("repository") if isinstance(source, dict) else None
    for listings in good.values():
        scope = _repository_problem(listings, repository)
        if scope is not None:
            reasons.append(Rejection("key-repository", scope))
    if expect.repository is not None and repository != expect.repository:
        reasons.append(
            Rejection("repository-mismatch", f"report is for repository {repository}, not {expect.repository}")
        )

    # 6. Bound to the artifacts given.
    digests = {d.get("sha256") for s in statement["subject"] for d in [s.get("digest", {})]}
    for path in expect.subjects:
        actual = _input_sha256(path, "subject")
        if actual not in digests:
            reasons.append(
                Rejection("subject-mismatch", f"{path} (sha256:{actual[:12]}…) is not a subject of this report")
            )

    # 6b. The check covered what the release side expects, not a folder of the team's choosing.
    if expect.checked_paths is not None:
        expected_paths = sorted({p.strip("/") or "." for p in expect.checked_paths})
        covered = sorted({str(p).strip("/") or "." for p in predicate["inputs"]["paths"]})
        if covered != expected_paths:
            why = f"the check covered {', '.join(covered)}, not {', '.join(expected_paths)}"
            reasons.append(Rejection("paths-mismatch", why))

    # 7. The templates given were judged, and loaded without error.
    judged = {t["sha256"] for t in predicate["templates"] if t["status"] == "ok"}
    for path in expect.templates:
        actual = _input_sha256(path, "template")
        if actual not in judged:
            reasons.append(
                Rejection(
                    "template-not-judged",
                    f"template {path} (sha256:{actual[:12]}…) is not one this report judged (with status ok)",
                )
            )

    # 8. The pinned policy: the bundle's digest when the report was made with
    # one, the baseline's otherwise; a bundle signed by the organization's
    # policy keys, recent enough.
    bundle = predicate["policy"].get("bundle")
    pinned_against = bundle["digest"] if bundle else predicate["policy"]["digest"]
    if expect.policy_digest and pinned_against != expect.policy_digest:
        what = "policy bundle" if bundle else "policy"
        reasons.append(
            Rejection("policy-mismatch", f"{what} digest {pinned_against} is not the pinned {expect.policy_digest}")
        )
    reasons += _bundle_problems(predicate, expect, now)

    # 8b. Every relaxation the report applied, approved by the approvers of
    # the baseline it carries (held to the digest above), judged now.
    reasons += _relaxation_problems(predicate, now)
    # An approval names the repository it is for, and the report's repository
    # is only what the build says (its origin remote): only a build key limited
    # to repositories vouches for it. Otherwise an approval made for one
    # repository could be replayed in another that names itself the same.
    approved = [r["source"] for r in predicate["relaxations"] if r["status"] == "approved"]
    unscoped = [
        key.label()
        for listings in good.values()
        for key in listings
        if not key.repositories or any(_is_glob(p) for p in key.repositories)
    ]
    if approved and unscoped and expect.repository is None:
        reasons.append(
            Rejection(
                "relaxation-unbound",
                f"the report applies approved relaxations ({_listed(approved, 3)}) but is signed by "
                f"{', '.join(unscoped)}, which the keyring does not limit to one repository: the repository "
                "the approvals are bound to is unproven (list the key's repositories without globs, or pin "
                "the repository with --repository)",
            )
        )

    # 9. The rules that judged are this installation's built-in ones, byte for byte.
    if expect.require_builtin_rules:
        foreign = _foreign_rules(predicate["results"], predicate["policy"].get("bundle"))
        # A rules folder runs its Python files inside the check: whatever it
        # did, the results cannot be taken for the built-in rules' alone.
        folders = predicate["inputs"]["rule_folders"]
        foreign += [f"rules folder {f['path']} (its code ran in the check)" for f in folders]
        if foreign:
            reasons.append(
                Rejection(
                    "rule-source",
                    f"rules not from this installation's built-in catalogue: {_listed(foreign, 10)}",
                )
            )

    # 9b. A rules folder's Python files ran inside the check (and could have
    # changed anything in it): only a release side that trusts them accepts it.
    folders = predicate["inputs"]["rule_folders"]
    if folders and not expect.allow_rule_folders:
        reasons.append(
            Rejection(
                "rule-folder",
                f"the check loaded rules from {_listed([str(f['path']) for f in folders], 3)}, whose code ran in "
                "it; rerun verify with --allow-rule-folders to accept rules from outside checker",
            )
        )

    # 10. A recent enough checker made the report.
    if expect.min_checker_version is not None:
        from packaging.version import InvalidVersion, Version

        version = predicate["tool"]["version"]
        try:
            too_old = Version(version) < Version(expect.min_checker_version)
        except InvalidVersion:
            reasons.append(Rejection("checker-version", f"the report's checker version {version!r} is not PEP 440"))
        else:
            if too_old:
                reasons.append(
                    Rejection(
                        "checker-version",
                        f"the report was made by checker {version}, older than the required "
                        f"{expect.min_checker_version}",
                    )
                )

    # 11. Fresh, and not from the future.
    if finished > now + CLOCK_SKEW:
        reasons.append(Rejection("report-future", f"report is dated {utc_text(finished)}, in the future"))
    elif expect.max_age is not None and now - finished > expect.max_age:
        reasons.append(
            Rejection(
                "report-too-old",
                f"report is from {utc_text(finished)}, older than the allowed {expect.max_age}",
            )
        )

    # 12. The expected environment: a check without --env judged no env's rules.
    if expect.env is not None and predicate["env"] != expect.env:
        found = predicate["env"] or "no env (the check ran without --env)"
        reasons.append(Rejection("env-mismatch", f"report is for {found}, not {expect.env}"))

    # 13. The expected commit.
    if expect.commit:
        commits = {(source or {}).get("commit")} | {s["digest"].get("gitCommit") for s in statement["subject"]}
        commits.discard(None)
        wanted = expect.commit.lower()
        if len(wanted) < 7 or not any(isinstance(c, str) and c.startswith(wanted) for c in commits):
            found = ", ".join(sorted(str(c) for c in commits)) or "none"
            reasons.append(Rejection("commit-mismatch", f"report is for commit {found}, not {expect.commit}"))

    # 14. A git checkout, and a clean one: otherwise no commit names what was judged.
    if (predicate.get("vcs") != "git" or not isinstance(source, dict)) and not expect.allow_no_git:
        reasons.append(
            Rejection(
                "no-git",
                "the check ran outside a git checkout, so no commit names what was judged; "
                "rerun verify with --allow-no-git to accept it",
            )
        )
    if isinstance(source, dict) and source.get("dirty") is not False and not expect.allow_dirty:
        dirty_reasons = [str(r) for r in source.get("dirty_reasons") or []]
        reasons.append(
            Rejection(
                "dirty",
                f"the checkout was dirty ({_listed(dirty_reasons, 5) or 'no reason given'}), so commit "
                f"{source.get('commit')} is not what was judged; rerun verify with --allow-dirty to accept it",
            )
        )

    # 15. Results reused from a cache were judged by an earlier run, not this one.
    if expect.reject_cached:
        cache = predicate["inputs"]["cache"]
        if cache["authenticated"] or cache["template_hits"] > 0 or cache["scan_hits"] > 0:
            reasons.append(
                Rejection(
                    "cached-results",
                    f"{cache['template_hits']} template and {cache['scan_hits']} scan result(s) came from "
                    "the cache, not from this run",
                )
            )

    # 16. Scanner results produced by checker running the scanner, not files the build handed in.
    if expect.require_scans_run:
        ingested = []
        for entry in predicate["evidence"]:
            if entry.get("kind") != "scan":
                continue
            obtained = entry.get("obtained")
            ways = [obtained] if isinstance(obtained, str) else obtained if isinstance(obtained, list) else []
            if not ways or any(way != "ran" for way in ways):
                ingested.append(f"{entry.get('tool')} ({', '.join(map(str, ways)) or 'not obtained'})")
        if ingested:
            reasons.append(
                Rejection(
                    "scan-ingested",
                    f"scan results that checker did not produce by running the scanner (--run-scans): "
                    f"{_listed(ingested, 10)}",
                )
            )

    # 17. Break-glass lets a blocked build through; the release side must opt in.
    glass = predicate.get("break_glass")
    if glass and glass.get("active") and not expect.allow_break_glass:
        reasons.append(
            Rejection(
                "break-glass",
                f"report passed only by break-glass for incident "
                f"{glass['incident']} (approved by {glass['approved_by']}); "
                "rerun verify with --allow-break-glass to accept it",
            )
        )

    # 18. A templates-only check (a pre-commit hook's) never judged coverage,
    # scans or the repository: its pass says nothing about them.
    if predicate.get("checked") == "templates-only" and not expect.allow_templates_only:
        reasons.append(
            Rejection(
                "templates-only",
                "the report checked templates only (--templates-only): coverage, scan and repository rules "
                "did not run; rerun verify with --allow-templates-only to accept it",
            )
        )

    # 19. The verdict itself.
    if predicate["verdict"] != "pass":
        failed = ", ".join(predicate["summary"]["blocking"]) or "unknown rules"
        reasons.append(Rejection("verdict-fail", f"the report's verdict is fail ({failed})"))

    return VerifyResult(not reasons, tuple(reasons), report_sha256, keyids, statement)


# A verification record signed by the release side: the ledger tells it from a forgery.
VERIFICATION_PAYLOAD_TYPE = "application/vnd.checker.verification+json"


def append_audit_log(
    path: Path, result: VerifyResult, now: datetime | None = None, signer: Signer | None = None
) -> None:
    """One JSON line per verification, appended (O_APPEND) for an audit trail;
    with ``signer``, the line is a DSSE envelope of the record."""
    entry = {"time": utc_text(now or datetime.now(UTC)), **result.to_json()}
    if signer is not None:
        from checker.signing import sign_typed

        payload = json.dumps(entry, sort_keys=True, separators=(",", ":")).encode()
        line = json.dumps(sign_typed(payload, VERIFICATION_PAYLOAD_TYPE, signer), sort_keys=True) + "\n"
    else:
        line = json.dumps(entry, sort_keys=True) + "\n"
    try:
        with path.open("a", encoding="utf-8") as handle:
            handle.write(line)
    except OSError as exc:
        raise InputError(f"cannot append to audit log: {exc.strerror}", path=str(path)) from None


# The rejections that say the report is not authentic (not signed as it
# should be by a key trusted for its repository, or not a report at all), as
# opposed to an authentic report that does not meet the expectations.
NOT_AUTHENTIC = frozenset(
    {
        "envelope-malformed",
        "payload-type",
        "signature-missing",
        "signature-invalid",
        "key-unknown",
        "key-expired",
        "key-revoked",
        "key-repository",
        "threshold",
        "statement-malformed",
    }
)

__all__ = [
    "NOT_AUTHENTIC",
    "VERIFICATION_PAYLOAD_TYPE",
    "Expectations",
    "Rejection",
    "TrustedKey",
    "VerifyResult",
    "append_audit_log",
    "load_trust",
    "parse_duration",
    "verify",
]
