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
"""

from __future__ import annotations

import difflib
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from checker.errors import InputError, PolicyError
from checker.loaders import LineDict, load_document
from checker.ruleapi import SEVERITIES, Param, Rule

Enforce = Literal["error", "warn", "off"]
ENFORCE_ORDER: dict[str, int] = {"off": 0, "warn": 1, "error": 2}
SCHEMA_VERSION = 1
_TOP_KEYS = ("schema_version", "name", "version", "description", "rules")
_RULE_KEYS = ("enforce", "severity", "params", "overridable")


@dataclass(frozen=True, slots=True)
class PolicyLayer:
    """One policy file as given: its identity and digest."""

    path: str
    name: str
    version: str
    digest: str
    role: str  # "baseline" or "overlay"


@dataclass(frozen=True, slots=True)
class RuleSetting:
    """The effective setting of one rule, and which file set each part."""

    enforce: Enforce
    severity: str
    params: Mapping[str, Any]
    overridable: frozenset[str]
    origin: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Policy:
    name: str
    version: str
    digest: str
    layers: tuple[PolicyLayer, ...]
    rules: Mapping[str, RuleSetting]


def builtin_policies_dir() -> Path:
    here = Path(__file__).resolve().parent
    packaged = here / "builtin_policies"
    return packaged if packaged.is_dir() else here.parent / "policies"


def default_policy_path() -> Path:
    return builtin_policies_dir() / "baseline.yaml"


def canonical_json(data: Any) -> bytes:
    """Key-order- and formatting-independent bytes of JSON-like data."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def digest_of(data: Any) -> str:
    return "sha256:" + hashlib.sha256(canonical_json(data)).hexdigest()


def check_param_value(kind: str, value: Any) -> str | None:
    """Why ``value`` is not a valid ``kind`` parameter, or None when it is."""
    ok = {
        "integer": isinstance(value, int) and not isinstance(value, bool),
        "number": isinstance(value, (int, float)) and not isinstance(value, bool),
        "string": isinstance(value, str),
        "boolean": isinstance(value, bool),
        "string_list": isinstance(value, list) and all(isinstance(v, str) for v in value),
    }[kind]
    return None if ok else f"must be a {kind.replace('_', ' ')}, got {json.dumps(value, default=str)}"


def suggest(word: str, choices: Sequence[str]) -> str | None:
    """A 'did you mean' hint for a mistyped name, or None."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}?" if close else None


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


def _parse_file(path: Path, display: str, role: str) -> _Parsed:
    try:
        data = load_document(path, display)
    except InputError as exc:
        raise PolicyError(exc.message, path=display, line=exc.line) from None
    if not isinstance(data, LineDict):
        raise PolicyError("a policy must be a mapping", path=display, line=1)
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
    return _Parsed(display, data, layer)


def _validate_rule(parsed: _Parsed, rule_id: str, rule: Rule, entry: Any) -> LineDict:
    path, rules = parsed.path, parsed.data["rules"]
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
                f"rules.{rule_id}.{key}",
            )
    if entry.get("enforce") is False:
        # YAML 1.1 reads a bare `off` as false; that is what the author meant.
        entry["enforce"] = "off"
    if "enforce" in entry and entry["enforce"] not in ENFORCE_ORDER:
        raise _error(
            path, entry, "enforce", "must be error, warn or off", field_name=f"rules.{rule_id}.enforce"
        )
    if rule.meta.mandatory and entry.get("enforce", "error") != "error":
        raise _error(
            path,
            entry,
            "enforce",
            "this rule is mandatory: it always fails the run",
            field_name=f"rules.{rule_id}.enforce",
        )
    if "severity" in entry and entry["severity"] not in SEVERITIES:
        raise _error(
            path,
            entry,
            "severity",
            f"must be one of {', '.join(SEVERITIES)}",
            field_name=f"rules.{rule_id}.severity",
        )
    params = entry.get("params", {})
    if not isinstance(params, dict):
        raise _error(path, entry, "params", "must be a mapping", field_name=f"rules.{rule_id}.params")
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
                f"rules.{rule_id}.params.{name}",
            )
        problem = check_param_value(param.type, value)
        if problem:
            raise _error(path, params, name, problem, field_name=f"rules.{rule_id}.params.{name}")
    overridable = entry.get("overridable", False)
    if not (
        isinstance(overridable, bool)
        or (isinstance(overridable, list) and all(n in names for n in overridable))
    ):
        raise _error(
            path,
            entry,
            "overridable",
            "must be true, false or a list of parameter names",
            field_name=f"rules.{rule_id}.overridable",
        )
    return entry


def _apply(
    setting: RuleSetting | None, rule: Rule, entry: LineDict, parsed: _Parsed, rule_id: str
) -> RuleSetting:
    path = parsed.path
    origin = dict(setting.origin) if setting else {}
    if setting is None:
        params = {**rule.meta.defaults(), **entry.get("params", {})}
        overridable_raw = entry.get("overridable", False)
        overridable = frozenset(["*"] if overridable_raw is True else (overridable_raw or []))
        for key in ("enforce", "severity", *(f"params.{n}" for n in entry.get("params", {}))):
            origin[key] = path
        return RuleSetting(
            entry.get("enforce", "error"),
            entry.get("severity", rule.meta.severity),
            params,
            overridable,
            origin,
        )
    # An overlay on a rule the baseline set: only tighter, unless overridable.
    free = setting.overridable
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
    return RuleSetting(enforce, severity, params, free, origin)


def load_policy(
    paths: Sequence[Path], registry: Mapping[str, Rule], displays: Sequence[str] | None = None
) -> Policy:
    """Read, validate and layer policy files (first baseline, then overlays)."""
    if not paths:
        raise PolicyError("no policy given")
    shown = list(displays) if displays else [str(p) for p in paths]
    settings: dict[str, RuleSetting] = {}
    layers: list[PolicyLayer] = []
    for index, (path, display) in enumerate(zip(paths, shown, strict=True)):
        parsed = _parse_file(path, display, "baseline" if index == 0 else "overlay")
        layers.append(parsed.layer)
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
            settings[str(rule_id)] = _apply(settings.get(str(rule_id)), rule, checked, parsed, str(rule_id))
    baseline = layers[0]
    return Policy(
        baseline.name, baseline.version, baseline.digest, tuple(layers), dict(sorted(settings.items()))
    )


def policy_file_digest(path: Path, display: str) -> str:
    """The digest the release side pins: canonical JSON of the parsed file."""
    return _parse_file(path, display, "baseline").layer.digest
