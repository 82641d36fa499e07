"""The organization's expectations: what makes a report compliant in the ledger.

A YAML file the central team keeps::

    trust: build-keys.yaml        # keyring: build keys and the repositories each may sign for
    policy:
      digest: sha256:...          # the pinned baseline (optional)
      trust: policy.pub           # keys that sign policy bundles (optional)
      min_version: "1.1.0"        # needs policy.trust
      name: acme                  # the bundle's name
    environments: [prod, staging] # a report for another environment is not compliant (optional)
    release_keys: release.pub     # keys that sign verification records (verify --audit-key)
    threshold: 1
    allow_templates_only: false

Paths are relative to the file. Unknown fields are errors, so that a
misspelt expectation never goes unenforced.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from checker.errors import InputError
from checker.loaders import load_text, read_text
from checker.loaders.nodes import line_of
from checker.verify import Expectations, TrustedKey, load_trust

_TOP = {"trust", "policy", "environments", "release_keys", "threshold", "allow_templates_only"}
_POLICY = {"digest", "trust", "min_version", "name"}


@dataclass(frozen=True, slots=True)
class OrgExpectations:
    trust: tuple[TrustedKey, ...]
    policy_digest: str | None = None
    policy_trust: tuple[TrustedKey, ...] = ()
    min_policy_version: str | None = None
    policy_name: str | None = None
    environments: tuple[str, ...] = ()
    release_keys: tuple[TrustedKey, ...] = ()
    threshold: int = 1
    allow_templates_only: bool = False
    source: str = ""

    def for_report(self, now: datetime) -> Expectations:
        """verify's expectations at ``now`` (the time the ledger first sees the report)."""
        return Expectations(
            trust=self.trust,
            policy_digest=self.policy_digest,
            policy_trust=self.policy_trust,
            min_policy_version=self.min_policy_version,
            policy_name=self.policy_name,
            threshold=self.threshold,
            allow_templates_only=self.allow_templates_only,
            now=now,
        )


def _fail(display: str, data: Any, key: str, message: str) -> InputError:
    return InputError(message, path=display, line=line_of(data, key), field=key)


def load_expectations(path: Path) -> OrgExpectations:
    display = str(path)
    _, text = read_text(path, display)
    data = load_text(text, display)
    if not isinstance(data, dict):
        raise InputError("expectations must be a mapping", path=display, line=1)
    for key in data:
        if key not in _TOP:
            raise _fail(display, data, str(key), f"unknown field (expected one of {', '.join(sorted(_TOP))})")
    if "trust" not in data:
        raise InputError("'trust' (the build keys' keyring) is required", path=display, field="trust")
    base = path.parent

    def keys(container: Any, key: str) -> tuple[TrustedKey, ...]:
        value = container.get(key)
        if value is None:
            return ()
        if not isinstance(value, str):
            raise _fail(display, container, key, "must be the path of a PEM public key or a keyring")
        return tuple(load_trust(base / value))

    policy = data.get("policy") or {}
    if not isinstance(policy, dict):
        raise _fail(display, data, "policy", "must be a mapping")
    for key in policy:
        if key not in _POLICY:
            raise _fail(display, policy, str(key), f"unknown field (expected one of {', '.join(sorted(_POLICY))})")
    environments = data.get("environments") or []
    if not isinstance(environments, list) or not all(isinstance(e, str) for e in environments):
        raise _fail(display, data, "environments", "must be a list of environment names")
    threshold = data.get("threshold", 1)
    if not isinstance(threshold, int) or isinstance(threshold, bool) or threshold < 1:
        raise _fail(display, data, "threshold", "must be a whole number of at least 1")
    allow = data.get("allow_templates_only", False)
    if not isinstance(allow, bool):
        raise _fail(display, data, "allow_templates_only", "must be true or false")
    strings = {k: policy.get(k) for k in ("digest", "min_version", "name")}
    for key, value in strings.items():
        if value is not None and not isinstance(value, str):
            raise _fail(display, policy, key, "must be a string")
    policy_trust = keys(policy, "trust")
    if strings["min_version"] and not policy_trust:
        raise _fail(display, policy, "min_version", "needs policy.trust, the keys that sign policy bundles")
    return OrgExpectations(
        trust=keys(data, "trust"),
        policy_digest=strings["digest"],
        policy_trust=policy_trust,
        min_policy_version=strings["min_version"],
        policy_name=strings["name"],
        environments=tuple(environments),
        release_keys=keys(data, "release_keys"),
        threshold=threshold,
        allow_templates_only=allow,
        source=display,
    )
