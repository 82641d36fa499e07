"""Policy bundles: the organization's policy as one signed, versioned archive.

A bundle is built from a folder (``checker policy bundle DIR``) holding
``baseline.yaml`` (its ``approvers`` and per-environment settings inside),
optionally ``rules/`` (the organization's own rules, YAML and Python) and
``data/`` (any data the organization pins with it); nothing else of the
folder goes in. The archive is a
deterministic ``.tar.gz`` of:

- ``bundle.dsse.json``: a DSSE envelope (payload type
  ``application/vnd.checker.policy-bundle+json``) whose payload is the
  canonical manifest: ``name``, ``version`` (SemVer), ``created`` (given, so
  a rebuild is byte-identical), every file with its sha256, and the
  baseline's policy digest. Signatures sit outside the manifest, so the
  bundle's digest (sha256 of the manifest) is the same whoever signs.
- ``files/...``: exactly the files the manifest names.

Reading one (:func:`open_bundle`) checks, before anything in it is parsed or
imported: the archive's shape (regular files only, no path escapes, bounded
sizes), signatures by keys of the policy trust keyring (valid now, not
revoked), the pin when one is given, and that the files are exactly those of
the manifest with their digests. Any failure is an input error naming the
part; nothing falls back to the built-in policy.

Fetching (:func:`fetch_bundle`): a file, an ``https://`` URL or
``s3://bucket/key`` (boto3, imported only then), optionally pinned
``SRC@sha256:DIGEST``. Verified archives are cached by digest; without
network, the last bundle verified for that source (or the pinned one) is
used, verified again. A version lower than one this cache has used for the
same name is refused.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import hashlib
import io
import json
import os
import re
import tarfile
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from checker.canonical import canonical_json
from checker.errors import InputError, UsageError
from checker.times import outside_window, parse_time, utc_text

if TYPE_CHECKING:
    from checker.signing import Signer
    from checker.verify import TrustedKey

BUNDLE_PAYLOAD_TYPE = "application/vnd.checker.policy-bundle+json"
MANIFEST_TYPE = "https://checker.dev/policy-bundle/v1"
ENVELOPE_NAME = "bundle.dsse.json"
BASELINE_NAME = "baseline.yaml"
RULES_DIR = "rules"
TRUST_ENV = "CHECKER_POLICY_TRUST"
MAX_BUNDLE_BYTES = 32 * 1024 * 1024
MAX_FILES = 2000
_SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*)(?:\.(?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*))*))?"
    r"(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$"
)


def label(name: str, version: str) -> str:
    """How the report names a bundle's files: ``bundle:NAME@VERSION/...``."""
    return f"bundle:{name}@{version}"


def is_prerelease(version: str) -> bool:
    return bool(semver_key(version)[3] == 0)


def semver_key(version: str) -> tuple[Any, ...]:
    """A sort key in SemVer 2.0.0 precedence (build metadata ignored); a
    version that is not SemVer is a usage error."""
    match = _SEMVER.match(version)
    if match is None:
        raise UsageError(f"{version!r} is not a SemVer version (MAJOR.MINOR.PATCH[-PRERELEASE])")
    core = tuple(int(match.group(i)) for i in (1, 2, 3))
    if match.group(4) is None:
        return (*core, 1, ())  # a release sorts after its pre-releases
    parts = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in match.group(4).split("."))
    return (*core, 0, parts)


@dataclass(frozen=True, slots=True)
class Bundle:
    """A verified bundle, its files unpacked in ``folder`` (a fresh temporary
    folder the caller removes with :meth:`close`)."""

    name: str
    version: str
    digest: str
    created: str
    manifest: Mapping[str, Any]
    envelope: Mapping[str, Any]
    signers: tuple[str, ...]  # "keyid (owner)"
    source: str
    folder: Path

    @property
    def baseline(self) -> Path:
        return self.folder / BASELINE_NAME

    @property
    def rules(self) -> Path | None:
        rules = self.folder / RULES_DIR
        return rules if rules.is_dir() else None

    @property
    def rule_digests(self) -> dict[str, str]:
        """The manifest's digest of each file under ``rules/``, by its path there."""
        files = self.manifest.get("files", {})
        return {p.removeprefix(f"{RULES_DIR}/"): d for p, d in files.items() if p.startswith(f"{RULES_DIR}/")}

    @property
    def label(self) -> str:
        return label(self.name, self.version)

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "digest": self.digest,
            "created": self.created,
            "source": self.source,
            "signers": list(self.signers),
            "manifest": dict(self.manifest),
            "envelope": dict(self.envelope),
        }

    def close(self) -> None:
        import shutil

        shutil.rmtree(self.folder, ignore_errors=True)


# Building.


DATA_DIR = "data"


def _bundle_files(folder: Path) -> dict[str, bytes]:
    """``baseline.yaml``, ``rules/`` and ``data/``: nothing else of the folder
    (a signing key kept beside them stays out)."""
    files: dict[str, bytes] = {}
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if any(part.startswith(".") or part == "__pycache__" for part in relative.parts):
            continue
        if relative.as_posix() != BASELINE_NAME and relative.parts[0] not in (RULES_DIR, DATA_DIR):
            continue
        if path.is_symlink():
            raise UsageError(f"{path} is a symbolic link: a bundle holds files only")
        if path.is_file():
            files[relative.as_posix()] = path.read_bytes()
    if BASELINE_NAME not in files:
        raise UsageError(f"{folder} has no {BASELINE_NAME}: a bundle is built from the baseline and its rules")
    return files


def build_bundle(
    folder: Path,
    *,
    version: str,
    created: datetime,
    signers: Sequence[Signer],
    name: str | None,
    baseline_digest: str,
    baseline_name: str,
) -> tuple[bytes, str]:
    """The archive's bytes and the bundle's digest; the same inputs give the
    same bytes whoever signs (apart from the signatures themselves)."""
    from checker.signing import pae

    semver_key(version)
    files = _bundle_files(folder)
    manifest = {
        "_type": MANIFEST_TYPE,
        "name": name or baseline_name,
        "version": version,
        "created": utc_text(created),
        "baseline_digest": baseline_digest,
        "files": {path: hashlib.sha256(data).hexdigest() for path, data in files.items()},
    }
    payload = canonical_json(manifest)
    envelope = {
        "payloadType": BUNDLE_PAYLOAD_TYPE,
        "payload": base64.b64encode(payload).decode(),
        "signatures": [
            {"keyid": s.keyid, "sig": base64.b64encode(s.sign(pae(BUNDLE_PAYLOAD_TYPE, payload))).decode()}
            for s in signers
        ],
    }
    members = {ENVELOPE_NAME: json.dumps(envelope, indent=2).encode() + b"\n"}
    members |= {f"files/{path}": data for path, data in files.items()}
    return _tar(members), "sha256:" + hashlib.sha256(payload).hexdigest()


def _tar(members: Mapping[str, bytes]) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for name in sorted(members):
            info = tarfile.TarInfo(name)
            info.size = len(members[name])
            info.mode = 0o644
            info.mtime = 0
            archive.addfile(info, io.BytesIO(members[name]))
    return gzip.compress(raw.getvalue(), mtime=0)


# Reading and verifying.


def _members(data: bytes, source: str) -> dict[str, bytes]:
    """The archive's files, refusing anything but plain files at plain paths."""
    if len(data) > MAX_BUNDLE_BYTES:
        raise InputError(f"the bundle is over {MAX_BUNDLE_BYTES} bytes", path=source)
    try:
        # Read at most the limit (and one byte to tell): a gzip bomb stops here.
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as unzipped:
            raw = unzipped.read(4 * MAX_BUNDLE_BYTES + 1)
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise InputError(f"not a policy bundle (gzip): {exc}", path=source) from None
    if len(raw) > 4 * MAX_BUNDLE_BYTES:
        raise InputError("the bundle unpacks to too much", path=source)
    members: dict[str, bytes] = {}
    try:
        with tarfile.open(fileobj=io.BytesIO(raw), mode="r:") as archive:
            for info in archive:
                name = info.name
                pure = PurePosixPath(name)
                if not info.isfile():
                    raise InputError(f"{name}: a bundle holds plain files only", path=source)
                if pure.is_absolute() or ".." in pure.parts or name in members or name != pure.as_posix():
                    raise InputError(f"{name}: not a plain path inside the bundle", path=source)
                if len(members) >= MAX_FILES:
                    raise InputError(f"more than {MAX_FILES} files", path=source)
                handle = archive.extractfile(info)
                members[name] = handle.read() if handle is not None else b""
    except tarfile.TarError as exc:
        raise InputError(f"not a policy bundle (tar): {exc}", path=source) from None
    return members


def trusted_signers(
    envelope: Mapping[str, Any], payload: bytes, trust: Sequence[TrustedKey], now: datetime
) -> list[str]:
    """The trusted keys (valid now, not revoked) that signed ``payload``."""
    from checker.signing import pae, verify_signature

    message = pae(BUNDLE_PAYLOAD_TYPE, payload)
    good: dict[str, str] = {}
    refused: list[str] = []
    signatures = envelope.get("signatures")
    for entry in signatures if isinstance(signatures, list) else []:
        if not isinstance(entry, dict):
            continue
        try:
            signature = base64.b64decode(str(entry.get("sig", "")), validate=True)
        except (binascii.Error, ValueError):
            continue
        for key in trust:
            if not verify_signature(key.public_key, signature, message):
                continue
            why = "is revoked" if key.revoked else outside_window(now, key.not_before, key.not_after)
            if why is None:
                good[key.keyid] = key.label()
            else:
                refused.append(f"{key.label()} {why}")
    if not good:
        detail = f" ({'; '.join(sorted(set(refused)))})" if refused else ""
        raise InputError(f"{ENVELOPE_NAME}: not signed by a trusted policy key{detail}")
    return sorted(good.values())


def open_bundle(
    data: bytes, source: str, trust: Sequence[TrustedKey], now: datetime, pin: str | None = None
) -> Bundle:
    """Verify an archive and unpack it into a fresh temporary folder."""
    members = _members(data, source)
    raw_envelope = members.pop(ENVELOPE_NAME, None)
    if raw_envelope is None:
        raise InputError(f"{ENVELOPE_NAME} is missing: an unsigned bundle is not a policy", path=source)
    try:
        envelope = json.loads(raw_envelope)
        payload = base64.b64decode(envelope["payload"], validate=True)
    except (ValueError, KeyError, TypeError, binascii.Error, RecursionError):
        raise InputError(f"{ENVELOPE_NAME} is not a DSSE envelope", path=source) from None
    if not isinstance(envelope, dict) or envelope.get("payloadType") != BUNDLE_PAYLOAD_TYPE:
        raise InputError(f"{ENVELOPE_NAME}: payload type is not {BUNDLE_PAYLOAD_TYPE}", path=source)
    try:
        signers = trusted_signers(envelope, payload, trust, now)
    except InputError as exc:
        raise InputError(exc.message, path=source) from None
    digest = "sha256:" + hashlib.sha256(payload).hexdigest()
    if pin is not None and digest != pin:
        raise InputError(f"the bundle's digest is {digest}, not the pinned {pin}", path=source)
    try:
        manifest = json.loads(payload)
    except (ValueError, RecursionError):
        raise InputError("the manifest is not JSON", path=source) from None
    if canonical_json(manifest) != payload:
        raise InputError("the manifest is not in canonical form, so its digest would be ambiguous", path=source)
    files = _check_manifest(manifest, members, source)
    folder = Path(tempfile.mkdtemp(prefix="checker-bundle-"))
    for relpath, content in files.items():
        target = folder / relpath
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
    return Bundle(
        manifest["name"], manifest["version"], digest, manifest["created"], manifest, envelope, tuple(signers), source,
        folder,
    )


def _check_manifest(manifest: Any, members: Mapping[str, bytes], source: str) -> dict[str, bytes]:
    if not isinstance(manifest, dict) or manifest.get("_type") != MANIFEST_TYPE:
        raise InputError(f"the manifest is not a {MANIFEST_TYPE} manifest", path=source)
    for key in ("name", "version", "created", "baseline_digest"):
        if not isinstance(manifest.get(key), str) or not manifest[key]:
            raise InputError(f"the manifest has no {key}", path=source, field=key)
    if _SEMVER.match(manifest["version"]) is None or parse_time(manifest["created"]) is None:
        raise InputError("the manifest's version or creation time is malformed", path=source, field="version")
    listed = manifest.get("files")
    if not isinstance(listed, dict) or BASELINE_NAME not in listed:
        raise InputError(f"the manifest lists no {BASELINE_NAME}", path=source, field="files")
    files = {}
    for name, content in members.items():
        relpath = name.removeprefix("files/")
        if not name.startswith("files/") or relpath not in listed:
            raise InputError(f"{name} is in the bundle but not in its manifest", path=source)
        if hashlib.sha256(content).hexdigest() != listed[relpath]:
            raise InputError(f"{name} does not match its digest in the manifest", path=source)
        files[relpath] = content
    missing = sorted(set(listed) - set(files))
    if missing:
        raise InputError(f"files/{missing[0]} is in the manifest but not in the bundle", path=source)
    return files


def check_baseline(bundle: Bundle, baseline_digest: str) -> None:
    """The baseline unpacked is the one the manifest vouches for (by policy digest)."""
    if baseline_digest != bundle.manifest["baseline_digest"]:
        raise InputError(
            f"{BASELINE_NAME}'s policy digest {baseline_digest} is not the manifest's", path=bundle.source
        )


# Fetching and the cache.


def read_digest(data: bytes, source: str) -> str:
    """The digest of a bundle archive (of its manifest), without trusting it:
    what the release side pins."""
    members = _members(data, source)
    try:
        envelope = json.loads(members[ENVELOPE_NAME])
        payload = base64.b64decode(envelope["payload"], validate=True)
    except (KeyError, ValueError, TypeError, binascii.Error, RecursionError):
        raise InputError(f"{ENVELOPE_NAME} is missing or not a DSSE envelope", path=source) from None
    return "sha256:" + hashlib.sha256(payload).hexdigest()


def is_bundle(path: Path) -> bool:
    """Whether a file is a bundle archive (gzip) rather than a policy YAML."""
    try:
        with path.open("rb") as handle:
            return handle.read(2) == b"\x1f\x8b"
    except OSError:
        return False


def split_pin(source: str) -> tuple[str, str | None]:
    """``SRC@sha256:HEX`` -> (SRC, "sha256:HEX")."""
    match = re.match(r"^(?P<src>.+)@(?P<pin>sha256:[0-9a-f]{64})$", source)
    if match is None:
        return source, None
    return match["src"], match["pin"]


def _download(source: str) -> bytes:
    if source.startswith("https://"):
        import urllib.request

        try:
            with urllib.request.urlopen(source, timeout=30) as response:
                data: bytes = response.read(MAX_BUNDLE_BYTES + 1)
        except (OSError, ValueError) as exc:
            raise OSError(f"cannot fetch {source}: {exc}") from None
        return data
    if source.startswith("s3://"):
        try:
            import boto3
        except ImportError:
            raise UsageError("s3:// bundles need boto3", hint="pip install 'checker[kms]'") from None
        bucket, _, key = source.removeprefix("s3://").partition("/")
        try:
            body = boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"]
            return bytes(body.read(MAX_BUNDLE_BYTES + 1))
        except Exception as exc:  # botocore raises many kinds; all mean "not fetched"
            raise OSError(f"cannot fetch {source}: {exc}") from None
    if "://" in source:
        raise UsageError(f"--policy-bundle {source}: use a file, an https:// URL or s3://bucket/key")
    try:
        return Path(source).read_bytes()
    except OSError as exc:
        raise OSError(f"cannot read {source}: {exc.strerror}") from None


def default_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "checker" / "bundles"


class BundleCache:
    """Verified archives by digest, the last digest verified per source, and
    the highest version used per bundle name. A cache only saves a fetch:
    every archive read from it is verified again."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._index_path = folder / "index.json"

    def _index(self) -> dict[str, dict[str, str]]:
        """The index, keeping only well-formed entries: whoever can write the
        cache folder may have written anything there."""
        empty: dict[str, dict[str, str]] = {"sources": {}, "versions": {}}
        if not self._index_path.is_file():  # not a pipe or a folder planted in its place
            return empty
        try:
            data = json.loads(self._index_path.read_text(encoding="utf-8"))
        except (OSError, ValueError, RecursionError):
            return empty
        if not isinstance(data, dict):
            return empty
        index: dict[str, dict[str, str]] = {}
        for part in ("sources", "versions"):
            entries = data.get(part)
            pairs = entries.items() if isinstance(entries, dict) else ()
            index[part] = {k: v for k, v in pairs if isinstance(k, str) and isinstance(v, str)}
        index["versions"] = {k: v for k, v in index["versions"].items() if _SEMVER.match(v)}
        return index

    def get(self, digest: str) -> bytes | None:
        try:
            return (self.folder / f"{digest.removeprefix('sha256:')}.tar.gz").read_bytes()
        except OSError:
            return None

    def last(self, source: str) -> str | None:
        return self._index()["sources"].get(source)

    def highest(self, name: str) -> str | None:
        return self._index()["versions"].get(name)

    def put(self, source: str, bundle: Bundle, data: bytes) -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            target = self.folder / f"{bundle.digest.removeprefix('sha256:')}.tar.gz"
            if not target.exists():
                fd, tmp = tempfile.mkstemp(dir=self.folder)
                with os.fdopen(fd, "wb") as handle:
                    handle.write(data)
                os.replace(tmp, target)
            index = self._index()
            index["sources"][source] = bundle.digest
            seen = index["versions"].get(bundle.name)
            if seen is None or semver_key(bundle.version) > semver_key(seen):
                index["versions"][bundle.name] = bundle.version
            fd, tmp = tempfile.mkstemp(dir=self.folder)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(index, handle, sort_keys=True)
            os.replace(tmp, self._index_path)
        except OSError:
            pass  # a cache that cannot be written only costs a fetch next time


def fetch_bundle(
    given: str, trust: Sequence[TrustedKey], now: datetime, cache: BundleCache | None
) -> Bundle:
    """Fetch (or find in the cache), verify and unpack a bundle."""
    if not trust:
        raise UsageError(
            "a policy bundle is verified against the organization's policy keys: give --policy-trust "
            f"(or set {TRUST_ENV})"
        )
    source, pin = split_pin(given)
    bundle = None
    if cache is not None and pin is not None:
        cached = cache.get(pin)  # pinned and verified before: no fetch needed
        try:
            bundle = open_bundle(cached, source, trust, now, pin) if cached is not None else None
        except InputError:
            bundle = None  # a damaged or planted copy: fetch it again
    data = b""
    if bundle is None:
        try:
            data = _download(source)
        except OSError as exc:
            remembered = pin or (cache.last(source) if cache is not None else None)
            data = (cache.get(remembered) if cache is not None and remembered else None) or b""
            if not data:
                raise InputError(f"{exc} and no verified copy is cached", path=source) from None
        bundle = open_bundle(data, source, trust, now, pin)
    if cache is None:
        return bundle
    try:
        highest = cache.highest(bundle.name)
        if highest is not None and semver_key(bundle.version) < semver_key(highest):
            raise InputError(
                f"policy bundle {bundle.name} {bundle.version} is older than {highest}, which this machine "
                "used before: a policy is not rolled back",
                path=source,
            )
        if data:
            cache.put(source, bundle, data)
    except BaseException:
        bundle.close()
        raise
    return bundle

