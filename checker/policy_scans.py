"""The ``scans`` section of a policy: the security scans a build must have run.

::

    scans:
      bandit:
        covers: ["*.py"]          # path globs, or `templates` (every template checked)
        exclude: ["tests/*"]
        threshold: medium         # a finding at or above this fails SCAN002
        min_version: "1.7.5"      # SCAN003
      checkov:
        covers: [templates]
        threshold: high
        unrated: medium           # severity of findings the tool does not rate

Layering, like rules, only tightens: an overlay may add a scan, lower a
threshold, raise a minimum version or what unrated findings count as, cover
more paths and exclude fewer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from checker.errors import PolicyError
from checker.loaders import LineDict
from checker.ruleapi import SEVERITIES, SEVERITY_RANK, Severity

TEMPLATES = "templates"
_KEYS = ("covers", "exclude", "threshold", "unrated", "min_version")


@dataclass(frozen=True, slots=True)
class ScanRequirement:
    tool: str
    covers: tuple[str, ...]
    exclude: tuple[str, ...] = ()
    threshold: Severity = "high"
    unrated: Severity = "high"
    min_version: str | None = None
    origin: str = ""

    def describe(self) -> dict[str, Any]:
        return {
            "covers": list(self.covers),
            "exclude": list(self.exclude),
            "threshold": self.threshold,
            "unrated": self.unrated,
            "min_version": self.min_version,
            "origin": self.origin,
        }


def version_key(version: str) -> tuple[int, Any]:
    """A sort key in the packaging ecosystem's order (PEP 440: ``1.8.0rc1``
    before ``1.8.0``, ``1.7.10`` after ``1.7.9``); a version it cannot read
    sorts first, below any minimum."""
    from packaging.version import InvalidVersion, Version

    try:
        return (1, Version(version))
    except InvalidVersion:
        return (0, "")


def valid_version(version: str) -> bool:
    return version_key(version)[0] == 1


def at_least(version: str, minimum: str) -> bool:
    """Whether ``version`` is at least ``minimum`` (a version that cannot be read is not)."""
    have, want = version_key(version), version_key(minimum)
    return have[0] == 1 and want[0] == 1 and have[1] >= want[1]


def _fail(path: str, container: LineDict, key: str, message: str, where: str) -> PolicyError:
    return PolicyError(message, path=path, line=container.key_lines.get(key, container.line), field=where)


def _globs(path: str, entry: LineDict, key: str, where: str) -> tuple[str, ...]:
    value = entry.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise _fail(path, entry, key, "must be a list of path globs", f"{where}.{key}")
    return tuple(value)


def _severity(path: str, entry: LineDict, key: str, where: str, default: Severity) -> Severity:
    value = entry.get(key, default)
    for severity in SEVERITIES:
        if value == severity:
            return severity
    raise _fail(path, entry, key, f"must be one of {', '.join(SEVERITIES)}", f"{where}.{key}")


def parse_scans(
    path: str, data: LineDict, current: Mapping[str, ScanRequirement], overlay: bool
) -> dict[str, ScanRequirement]:
    """The scan requirements after applying this file's ``scans`` section."""
    raw = data.get("scans")
    result = dict(current)
    if raw is None:
        return result
    if not isinstance(raw, LineDict):
        raise _fail(path, data, "scans", "must map scanner names to requirements", "scans")
    for tool, entry in raw.items():
        where = f"scans.{tool}"
        if not isinstance(entry, LineDict):
            raise _fail(path, raw, str(tool), "must be a mapping (covers, threshold, ...)", where)
        for key in entry:
            if key not in _KEYS:
                raise _fail(path, entry, str(key), f"unknown key (allowed: {', '.join(_KEYS)})", f"{where}.{key}")
        base = result.get(str(tool))
        covers = _globs(path, entry, "covers", where) if "covers" in entry else (base.covers if base else ())
        if not covers:
            raise _fail(path, entry, "covers", "is required: the paths the scan must cover", f"{where}.covers")
        min_version = entry.get("min_version", base.min_version if base else None)
        if min_version is not None and (
            not isinstance(min_version, (str, int, float)) or not valid_version(str(min_version))
        ):
            raise _fail(path, entry, "min_version", 'must be a version such as "1.7.5"', f"{where}.min_version")
        new = ScanRequirement(
            str(tool),
            covers,
            _globs(path, entry, "exclude", where) if "exclude" in entry else (base.exclude if base else ()),
            _severity(path, entry, "threshold", where, base.threshold if base else "high"),
            _severity(path, entry, "unrated", where, base.unrated if base else "high"),
            None if min_version is None else str(min_version),
            path,
        )
        if overlay and base is not None:
            _only_tighter(path, entry, where, base, new)
        result[str(tool)] = new
    return dict(sorted(result.items()))


def _only_tighter(path: str, entry: LineDict, where: str, base: ScanRequirement, new: ScanRequirement) -> None:
    checks = {
        "threshold": SEVERITY_RANK[new.threshold] <= SEVERITY_RANK[base.threshold],
        "unrated": SEVERITY_RANK[new.unrated] >= SEVERITY_RANK[base.unrated],
        "covers": set(base.covers) <= set(new.covers),
        "exclude": set(new.exclude) <= set(base.exclude),
        "min_version": base.min_version is None
        or (new.min_version is not None and at_least(new.min_version, base.min_version)),
    }
    for key, tighter in checks.items():
        if not tighter:
            raise _fail(
                path,
                entry,
                key,
                f"an overlay may only tighten the baseline's {key} (baseline: {base.describe()[key]})",
                f"{where}.{key}",
            )
