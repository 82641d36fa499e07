"""The baseline's ``approvers`` section: who may approve a relaxation.

::

    approvers:
      threshold: 1                  # distinct approvers' signatures a relaxation needs
      keys:
        - owner: security@example.com
          public_key: |             # PEM, inline: the baseline's digest covers it
            -----BEGIN PUBLIC KEY-----
            ...
          not_before: 2026-01-01T00:00:00Z
          not_after: 2027-01-01T00:00:00Z
          revoked: false
          kinds: [waivers, inline-waivers, adoption-baseline, break-glass]   # default: all
          rules: ["IAM*", COV001]   # rule id globs it may approve; default: all

Parsing here is structural and needs no cryptography, so that loading a
policy stays cheap on the hook path; :meth:`Approvers.public_keys` loads the
keys when a relaxation is actually judged.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from checker.errors import PolicyError
from checker.loaders import line_of
from checker.relax.model import KINDS, RelaxationKind
from checker.times import outside_window, parse_time

if TYPE_CHECKING:
    from checker.signing import PublicKey

_KEYS = ("threshold", "keys")
_KEY_FIELDS = ("owner", "public_key", "not_before", "not_after", "revoked", "kinds", "rules")


@dataclass(frozen=True, slots=True)
class Approver:
    owner: str
    public_key: str  # PEM
    not_before: datetime | None = None
    not_after: datetime | None = None
    revoked: bool = False
    kinds: tuple[RelaxationKind, ...] = KINDS
    rules: tuple[str, ...] = ("*",)

    def why_not(self, kind: RelaxationKind, rules: tuple[str, ...], now: datetime) -> str | None:
        """Why this approver's signature does not count for such a relaxation now, or None."""
        if self.revoked:
            return "the approver's key is revoked"
        if outside_window(now, self.not_before, self.not_after) is not None:
            early = self.not_before is not None and now < self.not_before
            return "the approver's key is not valid yet" if early else "the approver's key has expired"
        if kind not in self.kinds:
            return f"the approver may not approve {kind}"
        outside = [r for r in rules if not any(fnmatch.fnmatchcase(r, g) for g in self.rules)]
        if outside:
            return f"the approver may not approve relaxations of {', '.join(outside)}"
        return None


@dataclass(frozen=True, slots=True)
class Approvers:
    keys: tuple[Approver, ...] = ()
    threshold: int = 1
    source: str = ""  # the baseline that names them, for errors

    def public_keys(self) -> dict[str, tuple[Approver, PublicKey]]:
        """The approvers by key id (cryptography is imported here); a key that
        is not an Ed25519 or ECDSA P-256 public key is a policy error."""
        from checker.errors import InputError
        from checker.signing import key_id, load_public_key

        out: dict[str, tuple[Approver, PublicKey]] = {}
        for index, approver in enumerate(self.keys):
            try:
                key = load_public_key(approver.public_key.encode(), self.source)
            except InputError as exc:
                raise PolicyError(
                    f"{exc.message} (approver {approver.owner})",
                    path=self.source,
                    field=f"approvers.keys[{index}].public_key",
                ) from None
            keyid = key_id(key)
            seen = out.get(keyid)
            # A key listed twice counts once, and a revocation wins.
            if seen is None or approver.revoked:
                out[keyid] = (approver, key)
        return out


def parse_approvers(raw: Any, path: str) -> Approvers:
    """The ``approvers`` section of a baseline (a parsed mapping, with lines when
    it came from a file); errors name the file, line and field."""

    def error(container: Any, key: Any, message: str, field: str) -> PolicyError:
        return PolicyError(message, path=path, line=line_of(container, key), field=field)

    if not isinstance(raw, Mapping):
        raise PolicyError("must be a mapping (threshold, keys)", path=path, field="approvers")
    for key in raw:
        if key not in _KEYS:
            raise error(raw, key, f"unknown field (use {', '.join(_KEYS)})", f"approvers.{key}")
    threshold = raw.get("threshold", 1)
    if not isinstance(threshold, int) or isinstance(threshold, bool) or threshold < 1:
        raise error(raw, "threshold", "must be a whole number of at least 1", "approvers.threshold")
    entries = raw.get("keys", [])
    if not isinstance(entries, list):
        raise error(raw, "keys", "must be a list of approver keys", "approvers.keys")
    approvers = []
    for index, entry in enumerate(entries):
        where = f"approvers.keys[{index}]"
        if not isinstance(entry, Mapping):
            raise PolicyError("an approver must be a mapping", path=path, field=where)
        for key in entry:
            if key not in _KEY_FIELDS:
                raise error(entry, key, f"unknown field (use {', '.join(_KEY_FIELDS)})", f"{where}.{key}")
        owner, pem = entry.get("owner"), entry.get("public_key")
        if not isinstance(owner, str) or not owner.strip():
            raise error(entry, "owner", "is required: who holds the key", f"{where}.owner")
        if not isinstance(pem, str) or "-----BEGIN PUBLIC KEY-----" not in pem:
            raise error(entry, "public_key", "is required: a PEM public key, inline", f"{where}.public_key")
        times: dict[str, datetime | None] = {}
        for name in ("not_before", "not_after"):
            value = entry.get(name)
            times[name] = None if value is None else parse_time(value)
            if value is not None and times[name] is None:
                raise error(entry, name, "must be an ISO 8601 time", f"{where}.{name}")
        revoked = entry.get("revoked", False)
        if not isinstance(revoked, bool):
            raise error(entry, "revoked", "must be true or false", f"{where}.revoked")
        kinds = entry.get("kinds", list(KINDS))
        if not isinstance(kinds, list) or not kinds or any(k not in KINDS for k in kinds):
            raise error(entry, "kinds", f"must be a list drawn from {', '.join(KINDS)}", f"{where}.kinds")
        rules = entry.get("rules", ["*"])
        if not isinstance(rules, list) or not rules or not all(isinstance(r, str) for r in rules):
            raise error(entry, "rules", "must be a list of rule id globs", f"{where}.rules")
        approvers.append(
            Approver(
                owner.strip(),
                pem,
                times["not_before"],
                times["not_after"],
                revoked,
                tuple(kinds),
                tuple(rules),
            )
        )
    return Approvers(tuple(approvers), threshold, path)
