"""Policies: which rules run, how strictly, with what parameters.

A policy file (format ``schema_version: 1``; JSON Schema in
``checker/schemas/policy.schema.json``)::

    schema_version: 1
    name: acme-baseline
    version: "2026.11"
    rules:
      IAM001: {enforce: error}
      NAME001:
        enforce: warn
        params: {properties: [FunctionName, TableName]}

Several files layer: the first is the organization baseline, each later one
an overlay that may only tighten it (add rules, raise enforcement, move a
parameter the way the rule says is tighter) unless the baseline marks the
rule or parameter ``overridable``. Every error names file, line and field,
and suggests the closest valid name for a typo.

Beyond ``rules``, a policy may set (the baseline only) ``settings`` for
waivers and break-glass, scope a rule to paths, stacks and environments,
give per-environment overrides, exclude paths, and list ``waivers``; see
``policies/baseline.yaml`` for each, commented.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from checker.canonical import canonical_json, digest_of
from checker.environments import ENVIRONMENTS
from checker.errors import PolicyError, suggest
from checker.loaders import LineDict
from checker.policy_scans import ScanRequirement, parse_scans
from checker.relax.approvers import Approvers, parse_approvers
from checker.relax.sources import load_mapping, parse_waiver
from checker.relax.waivers import Waiver
from checker.ruleapi import SEVERITIES, Param, Rule
from checker.rulecheck import param_value_problem

Enforce = Literal["error", "warn", "off"]
ENFORCE_ORDER: dict[str, int] = {"off": 0, "warn": 1, "error": 2}
SCHEMA_VERSION = 1

# How each top-level key of a later layer (a team overlay) combines with the
# layers before it. Every key has exactly one rule, and a test holds this
# table to the policy schema, so a new section cannot arrive without saying
# how an overlay may (not) use it.
#   each:      every file states its own (format version, its own identity, kept in its layer)
#   tighten:   an overlay may only make it stricter
#   baseline:  the baseline's alone; an overlay that sets it is refused
#   delegated: an overlay may use it only within what the baseline delegates
Merge = Literal["each", "tighten", "baseline", "delegated"]
LAYERING: dict[str, Merge] = {
    "schema_version": "each",
    "name": "each",
    "version": "each",
    "description": "each",
    "rules": "tighten",
    "scans": "tighten",
    # Sources that must be measured: an overlay may add globs, never take any away.
    "coverage": "tighten",
    "settings": "baseline",
    "approvers": "baseline",
    "delegate": "baseline",
    # Waivers relax: from the team's side they are a waiver set an approver signs.
    "waivers": "baseline",
    "exclude": "delegated",
}
_TOP_KEYS = tuple(LAYERING)
_DELEGATE_KEYS = ("exclude", "coverage_omit")
_BASELINE_ONLY_HINT = {
    "waivers": "put team waivers in .checker-waivers.yml and have an approver sign it (checker approve)",
    "approvers": "approvers are named by the organization's baseline",
}
_RULE_KEYS = ("enforce", "severity", "params", "overridable", "scope", "environments")
_SETTING_KEYS = ("max_waiver_days", "inline_suppressions", "break_glass_max_hours")
_SCOPE_KEYS = ("paths", "exclude_paths", "stacks", "envs")
_SETTING_MAX = {"max_waiver_days": 3650, "break_glass_max_hours": 720}


@dataclass(frozen=True, slots=True)
class PolicyLayer:
    """One policy file as given: its identity and digest."""

    path: str
    name: str
    version: str
    digest: str
    role: str  # "baseline" or "overlay"

    def describe(self) -> dict[str, str]:
        return {"path": self.path, "name": self.name, "version": self.version, "digest": self.digest, "role": self.role}


@dataclass(frozen=True, slots=True)
class Settings:
    """Organization-wide limits; only the baseline sets them."""

    max_waiver_days: int = 90
    inline_suppressions: bool = False
    break_glass_max_hours: int = 24


@dataclass(frozen=True, slots=True)
class Scope:
    """Where a rule applies: template path globs, stack name globs, environments."""

    paths: tuple[str, ...] = ()
    exclude_paths: tuple[str, ...] = ()
    stacks: tuple[str, ...] = ()
    envs: tuple[str, ...] = ()

    def applies(self, path: str, stack: str | None, env: str | None) -> bool:
        if self.paths and not any(fnmatch.fnmatchcase(path, g) for g in self.paths):
            return False
        if any(fnmatch.fnmatchcase(path, g) for g in self.exclude_paths):
            return False
        if self.stacks and not any(fnmatch.fnmatchcase(stack or "", g) for g in self.stacks):
            return False
        return not self.envs or env in self.envs

    def describe(self) -> dict[str, list[str]]:
        return {
            k: list(v)
            for k, v in (
                ("paths", self.paths),
                ("exclude_paths", self.exclude_paths),
                ("stacks", self.stacks),
                ("envs", self.envs),
            )
            if v
        }


@dataclass(frozen=True, slots=True)
class Exclude:
    """Paths kept out of a check: a glob, who set it, and (for the team's
    excludes) the globs the baseline delegates, which bound it: a path is
    excluded only if it also matches one of them."""

    glob: str
    source: str
    within: tuple[str, ...] | None = None  # None: set by the baseline, unbounded

    def matches(self, relpath: str) -> bool:
        if not _glob_or_parent(relpath, self.glob):
            return False
        return self.within is None or any(_glob_or_parent(relpath, g) for g in self.within)

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {"glob": self.glob, "source": self.source}
        if self.within is not None:
            out["within"] = list(self.within)
        return out


def _glob_or_parent(relpath: str, pattern: str) -> bool:
    """Whether ``pattern`` matches the path or one of its parent folders."""
    parts = relpath.split("/")
    return any(fnmatch.fnmatchcase("/".join(parts[: i + 1]), pattern) for i in range(len(parts)))


def delegated_exclude(glob: str, source: str, delegated: Sequence[str]) -> Exclude | None:
    """A team exclude bounded by the baseline's delegation; None when the glob
    is not within any delegated glob (the caller says so, with where)."""
    if not any(glob == d or fnmatch.fnmatchcase(glob, d) for d in delegated):
        return None
    return Exclude(glob, source, tuple(delegated))


@dataclass(frozen=True, slots=True)
class RuleSetting:
    """The effective setting of one rule, and which file set each part."""

    enforce: Enforce
    severity: str
    params: Mapping[str, Any]
    overridable: frozenset[str]
    origin: Mapping[str, str] = field(default_factory=dict)
    scope: Scope = field(default_factory=Scope)


@dataclass(frozen=True, slots=True)
class CoverageSources:
    """What coverage is measured over, besides the files the reports name.

    ``sources``: globs (relative to the project) of files that count whether
    or not a test imported them; the baseline's and every overlay's. ``exclude``:
    globs that never count (the baseline's). ``omit_within``: the globs inside
    which a team's own coverage configuration may leave files out (the
    baseline's ``delegate.coverage_omit``).
    """

    sources: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    omit_within: tuple[str, ...] = ()

    def describe(self) -> dict[str, Any]:
        return {"sources": list(self.sources), "exclude": list(self.exclude), "omit_within": list(self.omit_within)}


@dataclass(frozen=True, slots=True)
class Policy:
    name: str
    version: str
    digest: str
    layers: tuple[PolicyLayer, ...]
    rules: Mapping[str, RuleSetting]
    settings: Settings = field(default_factory=Settings)
    waivers: tuple[Waiver, ...] = ()
    excludes: tuple[Exclude, ...] = ()
    env: str | None = None
    scans: Mapping[str, ScanRequirement] = field(default_factory=dict)
    approvers: Approvers = field(default_factory=Approvers)
    delegated_excludes: tuple[str, ...] = ()
    document: Mapping[str, Any] = field(default_factory=dict)  # the baseline as parsed; digested
    coverage: CoverageSources = field(default_factory=lambda: CoverageSources())


def builtin_policies_dir() -> Path:
    here = Path(__file__).resolve().parent
    packaged = here / "builtin_policies"
    return packaged if packaged.is_dir() else here.parent / "policies"


def default_policy_path() -> Path:
    return builtin_policies_dir() / "baseline.yaml"


def _error(
    path: str, container: Any, key: Any, message: str, hint: str | None = None, field_name: str | None = None
) -> PolicyError:
    line = None
    if isinstance(container, LineDict):
        line = container.key_lines.get(key, container.line)
    return PolicyError(message, path=path, line=line, field=field_name or str(key), hint=hint)


def _is_tighter(param: Param, base: Any, new: Any) -> bool:
    if new == base:
        return True
    direction = param.tighter
    if direction == "higher":
        return bool(new > base)
    if direction == "lower":
        return bool(new < base)
    if direction == "more":
        return set(base) <= set(new)
    if direction == "fewer":
        return set(new) <= set(base)
    if direction in ("true", "false"):
        return new is (direction == "true")
    return False


@dataclass
class _Parsed:
    path: str
    data: LineDict
    layer: PolicyLayer
    # The file as parsed, before validation touches it: what the digest is of,
    # and what a report carries so verify can recompute it.
    document: dict[str, Any]


def _parse_file(path: Path, display: str, role: str) -> _Parsed:
    data = load_mapping(path, display, "a policy")
    for key in data:
        if key not in _TOP_KEYS:
            raise _error(display, data, key, "unknown key", suggest(str(key), _TOP_KEYS))
    if data.get("schema_version") != SCHEMA_VERSION:
        raise _error(
            display,
            data,
            "schema_version",
            f"must be {SCHEMA_VERSION}",
            hint=f"add 'schema_version: {SCHEMA_VERSION}' at the top",
        )
    for key in ("name", "version"):
        value = data.get(key)
        if not isinstance(value, (str, int, float)) or isinstance(value, bool) or str(value) == "":
            raise _error(display, data, key, "is required: a non-empty string")
    if not isinstance(data.get("rules"), LineDict):
        raise _error(display, data, "rules", "is required: a mapping of rule ids to settings")
    layer = PolicyLayer(display, str(data["name"]), str(data["version"]), digest_of(data), role)
    return _Parsed(display, data, layer, json.loads(canonical_json(data)))


def _validate_scope(path: str, entry: LineDict, rule_id: str) -> None:
    scope = entry["scope"]
    where = f"rules.{rule_id}.scope"
    if not isinstance(scope, LineDict):
        raise _error(path, entry, "scope", "must be a mapping (paths, exclude_paths, stacks, envs)", field_name=where)
    for key, value in scope.items():
        if key not in _SCOPE_KEYS:
            raise _error(path, scope, key, "unknown scope key", suggest(str(key), _SCOPE_KEYS), f"{where}.{key}")
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise _error(path, scope, key, "must be a list of globs", field_name=f"{where}.{key}")
        if key == "envs" and set(value) - set(ENVIRONMENTS):
            raise _error(path, scope, key, f"environments are {', '.join(ENVIRONMENTS)}", field_name=f"{where}.envs")


def _validate_rule(parsed: _Parsed, rule_id: str, rule: Rule, entry: Any, nested: str = "") -> LineDict:
    path, rules = parsed.path, parsed.data["rules"]
    prefix = f"rules.{rule_id}" + (f".{nested}" if nested else "")
    if entry is None:
        entry = LineDict(rules.key_lines.get(rule_id, 0))
    if not isinstance(entry, LineDict):
        raise _error(path, rules, rule_id, "rule settings must be a mapping (enforce, severity, params)")
    for key in entry:
        if key not in _RULE_KEYS:
            raise _error(
                path,
                entry,
                key,
                "unknown rule setting",
                suggest(str(key), _RULE_KEYS),
                f"{prefix}.{key}",
            )
    if entry.get("enforce") is False:
        # YAML 1.1 reads a bare `off` as false; that is what the author meant.
        entry["enforce"] = "off"
    if "enforce" in entry and entry["enforce"] not in ENFORCE_ORDER:
        raise _error(path, entry, "enforce", "must be error, warn or off", field_name=f"{prefix}.enforce")
    if rule.meta.mandatory and entry.get("enforce", "error") != "error":
        raise _error(
            path,
            entry,
            "enforce",
            "this rule is mandatory: it always fails the run",
            field_name=f"{prefix}.enforce",
        )
    if "severity" in entry and entry["severity"] not in SEVERITIES:
        raise _error(
            path,
            entry,
            "severity",
            f"must be one of {', '.join(SEVERITIES)}",
            field_name=f"{prefix}.severity",
        )
    params = entry.get("params", {})
    if not isinstance(params, dict):
        raise _error(path, entry, "params", "must be a mapping", field_name=f"{prefix}.params")
    names = [p.name for p in rule.meta.params]
    for name, value in params.items():
        param = rule.meta.param(str(name))
        if param is None:
            known = ", ".join(names) or "none"
            raise _error(
                path,
                params,
                name,
                f"rule {rule_id} has no parameter {name!r} (parameters: {known})",
                suggest(str(name), names),
                f"{prefix}.params.{name}",
            )
        problem = param_value_problem(param.type, value)
        if problem:
            raise _error(path, params, name, problem, field_name=f"{prefix}.params.{name}")
    if "scope" in entry:
        _validate_scope(path, entry, rule_id)
    environments = entry.get("environments") or LineDict(entry.line)
    if not isinstance(environments, LineDict):
        raise _error(
            path,
            entry,
            "environments",
            "must map dev, staging or prod to settings",
            field_name=f"{prefix}.environments",
        )
    for env, override in environments.items():
        if env not in ENVIRONMENTS:
            raise _error(
                path,
                environments,
                env,
                f"unknown environment (use {', '.join(ENVIRONMENTS)})",
                suggest(str(env), ENVIRONMENTS),
                f"{prefix}.environments.{env}",
            )
        if not isinstance(override, LineDict) or set(override) - {"enforce", "severity", "params"}:
            raise _error(
                path,
                environments,
                env,
                "an environment may set enforce, severity and params",
                field_name=f"{prefix}.environments.{env}",
            )
        _validate_rule(parsed, rule_id, rule, override, nested=f"environments.{env}")
    overridable = entry.get("overridable", False)
    if not (isinstance(overridable, bool) or (isinstance(overridable, list) and all(n in names for n in overridable))):
        raise _error(
            path,
            entry,
            "overridable",
            "must be true, false or a list of parameter names",
            field_name=f"{prefix}.overridable",
        )
    return entry


def _apply(setting: RuleSetting | None, rule: Rule, entry: LineDict, parsed: _Parsed, rule_id: str) -> RuleSetting:
    path = parsed.path
    origin = dict(setting.origin) if setting else {}
    if setting is None:
        params = {**rule.meta.defaults(), **entry.get("params", {})}
        overridable_raw = entry.get("overridable", False)
        overridable = frozenset(["*"] if overridable_raw is True else (overridable_raw or []))
        for key in ("enforce", "severity", *(f"params.{n}" for n in entry.get("params", {}))):
            if key != "severity" or key in entry:  # listing a rule chooses its enforcement
                origin[key] = path
        if "scope" in entry:
            origin["scope"] = path
        return RuleSetting(
            entry.get("enforce", "error"),
            entry.get("severity", rule.meta.severity),
            params,
            overridable,
            origin,
            _scope(entry.get("scope")),
        )
    # An overlay on a rule the baseline set: only tighter, unless overridable.
    free = setting.overridable
    if "scope" in entry and "*" not in free:
        raise _error(
            path,
            entry,
            "scope",
            f"may not narrow where {rule_id} applies (set in {setting.origin.get('enforce')})",
            hint="an overlay may scope only the rules it adds, unless the baseline allows it",
            field_name=f"rules.{rule_id}.scope",
        )
    enforce = entry.get("enforce", setting.enforce)
    if ENFORCE_ORDER[enforce] < ENFORCE_ORDER[setting.enforce] and "*" not in free:
        raise _error(
            path,
            entry,
            "enforce",
            f"may not lower enforcement of {rule_id} from {setting.enforce} "
            f"(set in {setting.origin.get('enforce')}) to {enforce}",
            hint="the baseline can mark the rule overridable",
            field_name=f"rules.{rule_id}.enforce",
        )
    severity = entry.get("severity", setting.severity)
    if SEVERITIES.index(severity) < SEVERITIES.index(setting.severity) and "*" not in free:
        raise _error(
            path,
            entry,
            "severity",
            f"may not lower severity of {rule_id} from {setting.severity} to {severity}",
            field_name=f"rules.{rule_id}.severity",
        )
    params = dict(setting.params)
    for name, value in entry.get("params", {}).items():
        param = rule.meta.param(name)
        assert param is not None
        if not _is_tighter(param, params[name], value) and not ({"*", name} & free):
            direction = param.tighter or "unchanged (no direction is declared)"
            raise _error(
                path,
                entry["params"],
                name,
                f"may not loosen {rule_id} parameter {name}: {json.dumps(params[name])} "
                f"-> {json.dumps(value)}; tighter means {direction}",
                hint="the baseline can list the parameter as overridable",
                field_name=f"rules.{rule_id}.params.{name}",
            )
        params[name] = value
        origin[f"params.{name}"] = path
    if "enforce" in entry:
        origin["enforce"] = path
    if "severity" in entry:
        origin["severity"] = path
    scope = _scope(entry["scope"]) if "scope" in entry else setting.scope
    if "scope" in entry:
        origin["scope"] = path
    return RuleSetting(enforce, severity, params, free, origin, scope)


def _scope(raw: Any) -> Scope:
    if not raw:
        return Scope()
    return Scope(*(tuple(raw.get(key, ())) for key in _SCOPE_KEYS))


def _for_env(entry: LineDict, env: str | None) -> LineDict:
    """The rule entry with its override for ``env`` merged in (params merged by name)."""
    override = (entry.get("environments") or {}).get(env) if env else None
    if not override:
        return entry
    merged = LineDict(entry.line)
    merged.update(entry)
    merged.key_lines.update(entry.key_lines)
    for key, value in override.items():
        if key == "params":
            params = LineDict(override.key_lines[key])
            params.update(entry.get("params", {}))
            params.update(value)
            params.key_lines.update(getattr(entry.get("params"), "key_lines", {}))
            params.key_lines.update(value.key_lines)
            value = params
        merged[key] = value
        merged.key_lines[key] = override.key_lines[key]
    return merged


def _settings(parsed: _Parsed) -> Settings:
    raw = parsed.data.get("settings")
    if raw is None:
        return Settings()
    if not isinstance(raw, LineDict):
        raise _error(parsed.path, parsed.data, "settings", "must be a mapping")
    for key, value in raw.items():
        if key not in _SETTING_KEYS:
            raise _error(parsed.path, raw, key, "unknown setting", suggest(str(key), _SETTING_KEYS), f"settings.{key}")
        wanted = bool if key == "inline_suppressions" else int
        most = _SETTING_MAX.get(str(key), 0)
        if not isinstance(value, wanted) or (wanted is int and (isinstance(value, bool) or not 0 <= value <= most)):
            kind = "true or false" if wanted is bool else f"a whole number from 0 to {most}"
            raise _error(parsed.path, raw, key, f"must be {kind}", field_name=f"settings.{key}")
    return Settings(**{str(k): v for k, v in raw.items()})


def _globs(parsed: _Parsed, container: LineDict, key: str, field_name: str) -> list[str]:
    raw = container.get(key, [])
    if not isinstance(raw, list) or not all(isinstance(g, str) and g for g in raw):
        raise _error(parsed.path, container, key, "must be a list of path globs", field_name=field_name)
    return list(raw)


def _excludes(parsed: _Parsed, delegated: Sequence[str]) -> list[Exclude]:
    globs = _globs(parsed, parsed.data, "exclude", "exclude")
    if parsed.layer.role == "baseline":
        return [Exclude(glob, parsed.path) for glob in globs]
    excludes = []
    for glob in globs:
        bounded = delegated_exclude(glob, parsed.path, delegated)
        if bounded is None:
            allowed = ", ".join(delegated) or "none"
            raise _error(
                parsed.path,
                parsed.data,
                "exclude",
                f"may not exclude {glob!r}: the baseline delegates excluding only {allowed}",
                hint="the baseline's delegate.exclude lists the paths teams may exclude",
            )
        excludes.append(bounded)
    return excludes


def _delegated(parsed: _Parsed, key: str) -> list[str]:
    raw = parsed.data.get("delegate")
    if raw is None:
        return []
    if not isinstance(raw, LineDict):
        raise _error(parsed.path, parsed.data, "delegate", f"must be a mapping ({', '.join(_DELEGATE_KEYS)})")
    for name in raw:
        if name not in _DELEGATE_KEYS:
            hint = suggest(str(name), _DELEGATE_KEYS)
            raise _error(parsed.path, raw, name, "unknown delegation", hint, f"delegate.{name}")
    return _globs(parsed, raw, key, f"delegate.{key}")


def _coverage(parsed: _Parsed, before: CoverageSources, omit_within: Sequence[str]) -> CoverageSources:
    """The ``coverage`` section layered on ``before``: an overlay may add
    sources; only the baseline excludes."""
    raw = parsed.data.get("coverage")
    if raw is None:
        return CoverageSources(before.sources, before.exclude, tuple(omit_within))
    if not isinstance(raw, LineDict):
        raise _error(parsed.path, parsed.data, "coverage", "must be a mapping (sources, exclude)")
    for name in raw:
        if name not in ("sources", "exclude"):
            hint = suggest(str(name), ("sources", "exclude"))
            raise _error(parsed.path, raw, name, "unknown coverage setting", hint, f"coverage.{name}")
    if parsed.layer.role == "overlay" and "exclude" in raw:
        raise _error(
            parsed.path,
            raw,
            "exclude",
            "only the baseline excludes sources from coverage",
            hint="leave files out in your coverage configuration (omit); it applies within the "
            "baseline's delegate.coverage_omit",
            field_name="coverage.exclude",
        )
    sources = tuple(dict.fromkeys([*before.sources, *_globs(parsed, raw, "sources", "coverage.sources")]))
    exclude = tuple(_globs(parsed, raw, "exclude", "coverage.exclude")) if "exclude" in raw else before.exclude
    return CoverageSources(sources, exclude, tuple(omit_within))


def _waivers(parsed: _Parsed, registry: Mapping[str, Rule], settings: Settings, now: datetime) -> list[Waiver]:
    raw = parsed.data.get("waivers", [])
    path = parsed.path
    if not isinstance(raw, list):
        raise _error(path, parsed.data, "waivers", "must be a list of waivers")
    horizon = now + timedelta(days=settings.max_waiver_days)
    waivers = []
    for index, entry in enumerate(raw):
        where = f"waivers[{index}]"
        line = raw.item_lines[index] if hasattr(raw, "item_lines") else None
        if not isinstance(entry, LineDict):
            raise PolicyError("a waiver must be a mapping", path=path, line=line, field=where)
        waivers.append(parse_waiver(entry, path, where, registry, horizon, settings.max_waiver_days))
    return waivers


def _overlay_keys(parsed: _Parsed) -> None:
    """Refuse what only the baseline may set."""
    for key in parsed.data:
        if LAYERING[str(key)] == "baseline":
            what = "organization settings" if key == "settings" else str(key)
            raise _error(
                parsed.path, parsed.data, key, f"only the baseline sets {what}", hint=_BASELINE_ONLY_HINT.get(str(key))
            )


def load_policy(
    paths: Sequence[Path],
    registry: Mapping[str, Rule],
    displays: Sequence[str] | None = None,
    *,
    env: str | None = None,
    now: datetime | None = None,
) -> Policy:
    """Read, validate and layer policy files (first baseline, then overlays),
    resolved for environment ``env``."""
    if not paths:
        raise PolicyError("no policy given")
    if env is not None and env not in ENVIRONMENTS:
        raise PolicyError(f"unknown environment {env!r} (use {', '.join(ENVIRONMENTS)})", field="--env")
    now = now or datetime.now(UTC)
    shown = list(displays) if displays else [str(p) for p in paths]
    settings: dict[str, RuleSetting] = {}
    layers: list[PolicyLayer] = []
    org = Settings()
    waivers: list[Waiver] = []
    excludes: list[Exclude] = []
    scans: dict[str, ScanRequirement] = {}
    approvers = Approvers()
    delegated: list[str] = []
    omit_within: list[str] = []
    coverage = CoverageSources()
    document: Mapping[str, Any] = {}
    for index, (path, display) in enumerate(zip(paths, shown, strict=True)):
        parsed = _parse_file(path, display, "baseline" if index == 0 else "overlay")
        layers.append(parsed.layer)
        if index == 0:
            org = _settings(parsed)
            document = parsed.document
            delegated = _delegated(parsed, "exclude")
            omit_within = _delegated(parsed, "coverage_omit")
            if "approvers" in parsed.data:
                approvers = parse_approvers(parsed.data["approvers"], display)
            waivers += _waivers(parsed, registry, org, now)
        else:
            _overlay_keys(parsed)
        excludes += _excludes(parsed, delegated)
        scans = parse_scans(display, parsed.data, scans, overlay=index > 0)
        coverage = _coverage(parsed, coverage, omit_within)
        rules = parsed.data["rules"]
        for rule_id, entry in rules.items():
            rule = registry.get(str(rule_id))
            if rule is None:
                raise _error(
                    display,
                    rules,
                    rule_id,
                    f"no rule with id {rule_id!r}",
                    suggest(str(rule_id), list(registry)),
                    f"rules.{rule_id}",
                )
            checked = _validate_rule(parsed, str(rule_id), rule, entry)
            if index and "overridable" in checked:
                raise _error(
                    display,
                    checked,
                    "overridable",
                    "only the baseline can mark rules overridable",
                    field_name=f"rules.{rule_id}.overridable",
                )
            settings[str(rule_id)] = _apply(
                settings.get(str(rule_id)), rule, _for_env(checked, env), parsed, str(rule_id)
            )
    baseline = layers[0]
    return Policy(
        baseline.name,
        baseline.version,
        baseline.digest,
        tuple(layers),
        dict(sorted(settings.items())),
        org,
        tuple(waivers),
        tuple(excludes),
        env,
        scans,
        approvers,
        tuple(delegated),
        document,
        coverage,
    )


def policy_file_digest(path: Path, display: str) -> str:
    """The digest the release side pins: canonical JSON of the parsed file."""
    return _parse_file(path, display, "baseline").layer.digest


def explain_setting(setting: RuleSetting) -> dict[str, Any]:
    return {
        "enforce": setting.enforce,
        "severity": setting.severity,
        "params": dict(setting.params),
        "scope": setting.scope.describe(),
    }


def explain(policy: Policy) -> dict[str, Any]:
    """The effective policy after layering, with the file that set each part."""
    return {
        "name": policy.name,
        "version": policy.version,
        "digest": policy.digest,
        "env": policy.env,
        "layers": [layer.describe() for layer in policy.layers],
        "settings": {
            "max_waiver_days": policy.settings.max_waiver_days,
            "inline_suppressions": policy.settings.inline_suppressions,
            "break_glass_max_hours": policy.settings.break_glass_max_hours,
        },
        "exclude": [e.describe() for e in policy.excludes],
        "delegate": {"exclude": list(policy.delegated_excludes), "coverage_omit": list(policy.coverage.omit_within)},
        "coverage": policy.coverage.describe(),
        "approvers": {
            "threshold": policy.approvers.threshold,
            "keys": [
                {"owner": a.owner, "kinds": list(a.kinds), "rules": list(a.rules), "revoked": a.revoked}
                for a in policy.approvers.keys
            ],
        },
        "scans": {tool: requirement.describe() for tool, requirement in policy.scans.items()},
        "rules": {
            rule_id: {
                **explain_setting(setting),
                "overridable": sorted(setting.overridable),
                "origin": dict(setting.origin),
            }
            for rule_id, setting in policy.rules.items()
        },
        "waivers": [w.describe() for w in policy.waivers],
    }
