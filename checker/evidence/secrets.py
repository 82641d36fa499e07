"""Key material in the repository's files, read at the edge for REPO003.

Every file git tracks counts, in any folder (a key committed under
``target/`` or ``node_modules/`` is committed); outside git, every file.
What a file holds is judged by the shape of the secret, not by the name of
a variable near it.
"""

from __future__ import annotations

import bisect
import functools
import re
from pathlib import Path

from checker.repository import Repository

_MAX_SCANNED_BYTES = 64 * 1024 * 1024  # read in chunks: a key after a long padding is still found
_CHUNK = 2 * 1024 * 1024
_OVERLAP = 8 * 1024
# Key material by its shape, wherever it sits in a file. Each pattern is the
# format's own: a placeholder such as AWS_SECRET_ACCESS_KEY=AWS_SECRET_ACCESS_KEY
# (moto's dummy) has no secret of the right shape in it.
_SECRET = rb"(?<![A-Za-z0-9/+])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])"
_MARKERS: tuple[tuple[str, re.Pattern[bytes]], ...] = (
    ("private-key", re.compile(rb"-----BEGIN (?:RSA |DSA |EC |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY(?: BLOCK)?-----")),
    ("ssh2-private-key", re.compile(rb"---- BEGIN SSH2 (?:ENCRYPTED )?PRIVATE KEY ----")),
    ("putty-private-key", re.compile(rb"^PuTTY-User-Key-File-\d+:", re.M)),
    ("aws-credentials", re.compile(rb"(?i)(?<![A-Za-z0-9_])aws_secret_access_key[\"']?\s*[=:]\s*[\"']?" + _SECRET)),
    ("aws-access-key", re.compile(rb"(?<![A-Z0-9])(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}(?![A-Z0-9])")),
    ("github-token", re.compile(rb"(?<![A-Za-z0-9_])gh[pousr]_[A-Za-z0-9]{36}(?![A-Za-z0-9_])")),
    ("gitlab-token", re.compile(rb"(?<![A-Za-z0-9_-])glpat-[A-Za-z0-9_-]{20}(?![A-Za-z0-9_-])")),
    ("slack-token", re.compile(rb"(?<![A-Za-z0-9-])xox[abposr]-[0-9]{10,13}-[0-9A-Za-z-]{10,}")),
    ("stripe-live-key", re.compile(rb"(?<![A-Za-z0-9_])[sr]k_live_[0-9A-Za-z]{24,}(?![A-Za-z0-9_])")),
    ("google-api-key", re.compile(rb"(?<![A-Za-z0-9_-])AIza[0-9A-Za-z_-]{35}(?![A-Za-z0-9_-])")),
)
_AWS_SECRET = re.compile(_SECRET)
# A PEM block holds its key as base64 lines: a header with "<your key here>"
# after it is documentation, not a key.
_PEM_BODY = re.compile(rb"[A-Za-z0-9+/=]{40,}")
# AWS's documented example pair (AKIAIOSFODNN7EXAMPLE, wJalrXUtnFEMI/...EXAMPLEKEY)
# appears in SDK documentation and tutorials; it opens no account.
_EXAMPLE = b"EXAMPLE"


def _secret_shaped(secret: bytes) -> bool:
    """A 40-character AWS secret is random base64: upper and lower case and
    digits or symbols, never AWS's example and never a commit id (lower-case
    hex) or a run of one character."""
    return (
        _EXAMPLE not in secret
        and any(c.isupper() for c in secret.decode())
        and any(c.islower() for c in secret.decode())
        and len(set(secret)) > 8
    )


class _Scanned:
    """One piece of content under scan, with what is worth finding once."""

    def __init__(self, content: bytes) -> None:
        self.content = content

    @functools.cached_property
    def secrets(self) -> list[int]:
        """Where secret-shaped tokens (random-looking 40-character base64)
        start: found once, so a file of many key ids is not searched around
        each of them."""
        return [m.start() for m in _AWS_SECRET.finditer(self.content) if _secret_shaped(m.group(0))]


def _holds_a_key(kind: str, match: re.Match[bytes], scanned: _Scanned) -> bool:
    """Whether a match is key material, not its documentation: an AWS key id
    with a secret of the right shape near it (neither AWS's example pair), a
    PEM header with a base64 body after it."""
    if kind == "aws-access-key":
        if match.group(0).endswith(_EXAMPLE) or len(set(match.group(0)[4:])) < 4:
            return False  # AWS's example, or a placeholder (AKIAXXXXXXXXXXXXXXXX)
        low = bisect.bisect_left(scanned.secrets, match.start() - 4096)
        return low < len(scanned.secrets) and scanned.secrets[low] <= match.end() + 4096
    if kind == "aws-credentials":
        return _secret_shaped(match.group(0)[-40:])
    if kind in ("private-key", "ssh2-private-key"):
        # However the body is wrapped (64 columns or narrower, indented in
        # YAML, or as "\n" escapes in a JSON string): lines joined, spaces
        # inside a line kept (a sentence after a header is no key).
        body = scanned.content[match.end() : match.end() + 1200]
        window = re.sub(rb"[ \t]*(?:\r?\n|\\r\\n|\\n)[ \t\"']*", b"", body)
        return _PEM_BODY.search(window) is not None
    return True


def content_markers(content: bytes) -> tuple[tuple[str, int], ...]:
    """What a file holds that is key material, each with the line it starts on.
    An AWS access key id counts when a secret of the right shape is near it
    (the id alone is not a credential; with its secret, it is)."""
    found: list[tuple[str, int]] = []
    scanned = _Scanned(content)
    for kind, pattern in _MARKERS:
        for match in pattern.finditer(content):
            if not _holds_a_key(kind, match, scanned):
                continue
            found.append((kind, content.count(b"\n", 0, match.start()) + 1))
            break  # one of each kind a file is enough to say
    return tuple(sorted(found, key=lambda item: item[1]))


def read_markers(repository: Repository) -> dict[str, tuple[tuple[str, int], ...]]:
    """Key material in every file git tracks in the project (every file,
    outside git), in any folder, read up to 2 MiB each."""
    markers = {}
    for relpath in repository.tracked or repository.files:
        found = _file_markers(repository.path(relpath))
        if found:
            markers[relpath] = found
    return markers


def _file_markers(path: Path) -> tuple[tuple[str, int], ...]:
    """A file's markers, read in overlapping chunks (up to 64 MiB), UTF-16
    text decoded first; lines count from the file's start."""
    found: dict[str, int] = {}
    lines_before = 0
    try:
        with open(path, "rb") as handle:
            head = handle.read(2)
            handle.seek(0)
            if head in (b"\xff\xfe", b"\xfe\xff"):
                text = handle.read(_MAX_SCANNED_BYTES).decode("utf-16", errors="replace").encode("utf-8")
                return content_markers(text)
            previous = b""
            read = 0
            while True:
                chunk = handle.read(_CHUNK)
                if not chunk:
                    break
                if read >= _MAX_SCANNED_BYTES:
                    # Said, not skipped silently: REPO003 reports what it could not read.
                    found.setdefault("unscanned-tail", lines_before + 1)
                    break
                read += len(chunk)
                window = previous + chunk
                # The window starts with the previous chunk's tail: its line 1
                # is that many lines back.
                first = lines_before - previous.count(b"\n")
                for kind, line in content_markers(window):
                    found.setdefault(kind, first + line)
                lines_before += chunk.count(b"\n")
                previous = window[-_OVERLAP:]
    except OSError:
        return ()
    return tuple(sorted(found.items(), key=lambda item: item[1]))
