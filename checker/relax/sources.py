"""One parser per source of relaxations. Each validates its file (errors name
the file, line and field) and returns what it would relax; none decides
whether it applies (:mod:`checker.relax.decide` does).

- the baseline's ``waivers`` (:func:`parse_waiver`, called by the policy loader);
- a waiver set, ``.checker-waivers.yml`` or ``--waivers FILE``::

      kind: checker-waivers
      waivers:
        - rule: IAM006
          scope: {template: "infra/*.yaml", resource: Worker, element: "logs:PutLogEvents on *"}
          reason: log groups are created per tenant at run time
          ticket: SEC-311
          expires: 2026-12-31

- the inline waivers of one template (``Metadata: {checker: {waivers: [...]}}``
  on a resource; each covers only its own resource);
- an adoption baseline (``checker baseline`` writes it);
- a break-glass record (incident, reason, expires).
"""

from __future__ import annotations

import glob
import re
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from checker.canonical import digest_of
from checker.errors import InputError, PolicyError, suggest
from checker.loaders import LineDict, line_of, load_document
from checker.relax.approval import approval_path, read_envelope
from checker.relax.model import BreakGlass, Relaxation, RelaxationKind
from checker.relax.waivers import Waiver, WaiverKind, fingerprint_of, parse_expiry, with_id
from checker.ruleapi import Rule
from checker.times import utc_text

WAIVER_SET_FILE = ".checker-waivers.yml"
WAIVER_SET_KIND = "checker-waivers"
ADOPTION_FILE = ".checker-baseline.yml"
ADOPTION_KIND = "checker-baseline"
BREAK_GLASS_KIND = "checker-break-glass"

_WAIVER_KEYS: dict[WaiverKind, tuple[str, ...]] = {
    "policy": ("id", "rule", "scope", "reason", "ticket", "approved_by", "expires"),
    # Who approved a team waiver is whoever signed it, never a field the team typed.
    "team": ("id", "rule", "scope", "reason", "ticket", "expires"),
    # An inline waiver sits on its resource: it may name the element, not a scope.
    "inline": ("id", "rule", "element", "reason", "ticket", "expires"),
}
_SCOPE_KEYS = ("template", "resource", "element")
_SIGNED = "approvals are signatures: an approver runs `checker approve FILE --key ...`"


_GLOB_CLASS = re.compile(r"\[[^\]]*\]")


def _names_something(pattern: str | None) -> bool:
    """Whether a scope glob names something: a letter or digit left once its
    wildcards and character classes are taken out (``*``, ``[!x]*`` name nothing)."""
    if not pattern:
        return False
    return any(c.isalnum() for c in _GLOB_CLASS.sub("", pattern).replace("*", "").replace("?", ""))


def _error(path: str, container: Any, key: Any, message: str, field: str, hint: str | None = None) -> PolicyError:
    return PolicyError(message, path=path, line=line_of(container, key), field=field, hint=hint)


def parse_waiver(
    entry: LineDict,
    path: str,
    where: str,
    registry: Mapping[str, Rule],
    horizon: datetime,
    max_days: int,
    kind: WaiverKind = "policy",
    defaults: Mapping[str, str] | None = None,
) -> Waiver:
    """Validate one waiver of the baseline, a waiver set or a template."""
    allowed = _WAIVER_KEYS[kind]
    for key in entry:
        if key not in allowed:
            hint = _SIGNED if key == "approved_by" else suggest(str(key), allowed)
            message = "is not set in the file" if key == "approved_by" else "unknown waiver field"
            raise _error(path, entry, key, message, f"{where}.{key}", hint)
    rule_id = str(entry.get("rule"))
    if rule_id not in registry:
        raise _error(
            path, entry, "rule", f"no rule with id {rule_id!r}", f"{where}.rule", suggest(rule_id, list(registry))
        )
    if registry[rule_id].meta.mandatory:
        raise _error(path, entry, "rule", f"{rule_id} is mandatory: it cannot be waived", f"{where}.rule")
    for key in ("reason", "approved_by") if kind == "policy" else ("reason",):
        if not isinstance(entry.get(key), str) or not entry[key].strip():
            raise _error(path, entry, key, "is required: a non-empty string", f"{where}.{key}")
    if entry.get("ticket") is not None and not isinstance(entry["ticket"], str):
        raise _error(path, entry, "ticket", "must be a string", f"{where}.ticket")
    expires = parse_expiry(entry.get("expires"))
    if expires is None:
        raise _error(path, entry, "expires", "is required: a date (2026-12-31) or an ISO 8601 time", f"{where}.expires")
    if expires > horizon:
        raise _error(
            path,
            entry,
            "expires",
            f"is beyond the {max_days}-day horizon the baseline allows (latest {horizon:%Y-%m-%d})",
            f"{where}.expires",
        )
    scope = entry.get("scope") or LineDict()
    if not isinstance(scope, Mapping):
        raise _error(path, entry, "scope", "takes template, resource and element (strings or globs)", f"{where}.scope")
    scope = {**scope, **(defaults or {}), **({"element": entry["element"]} if "element" in entry else {})}
    if set(scope) - set(_SCOPE_KEYS) or not all(isinstance(v, str) for v in scope.values()):
        raise _error(path, entry, "scope", "takes template, resource and element (strings or globs)", f"{where}.scope")
    if kind == "team" and not (_names_something(scope.get("template")) or _names_something(scope.get("resource"))):
        raise _error(
            path,
            entry,
            "scope",
            "a team waiver must name the template and/or resource it covers (not only wildcards)",
            f"{where}.scope",
            hint="a waiver of every finding of a rule belongs in the organization's baseline",
        )
    return with_id(
        Waiver(
            rule=rule_id,
            reason=entry["reason"].strip(),
            approved_by=entry["approved_by"].strip() if kind == "policy" else "",
            expires=expires,
            source=f"{path}:{entry.line}" if entry.line else path,
            id=str(entry.get("id") or ""),
            ticket=entry.get("ticket"),
            template=scope.get("template"),
            resource=scope.get("resource"),
            element=scope.get("element"),
            kind=kind,
            relaxation="" if kind == "policy" else path,
        )
    )


def load_mapping(path: Path, display: str, what: str = "this file") -> LineDict:
    """A policy-like file (a policy, a waiver set, a baseline): a mapping,
    or a policy error naming the file and line."""
    try:
        data = load_document(path, display)
    except InputError as exc:
        raise PolicyError(exc.message, path=display, line=exc.line) from None
    if not isinstance(data, LineDict):
        raise PolicyError(f"{what} must be a mapping", path=display, line=1)
    return data


def _relaxation(
    kind: RelaxationKind,
    path: Path,
    display: str,
    document: Any,
    waivers: Sequence[Waiver] = (),
    break_glass: BreakGlass | None = None,
    rules: Sequence[str] = (),
) -> Relaxation:
    envelope, problem = read_envelope(approval_path(path))
    return Relaxation(
        kind=kind,
        source=display,
        path=path,
        digest=digest_of(document),
        rules=tuple(sorted({*rules, *(w.rule for w in waivers)})),
        waivers=tuple(waivers),
        break_glass=break_glass,
        envelope=envelope,
        envelope_problem=problem,
    )


def _list(data: LineDict, key: str, display: str) -> list[Any]:
    raw = data.get(key)
    if not isinstance(raw, list):
        raise _error(display, data, key, "is required: a list", key)
    return raw


def read_waiver_set(
    path: Path, display: str, registry: Mapping[str, Rule], max_days: int, now: datetime
) -> Relaxation:
    data = load_mapping(path, display)
    for key in data:
        if key not in ("kind", "waivers"):
            raise _error(display, data, key, "unknown field (kind, waivers)", str(key), suggest(str(key), ["waivers"]))
    if data.get("kind") != WAIVER_SET_KIND:
        raise _error(display, data, "kind", f"must be {WAIVER_SET_KIND}", "kind")
    raw = _list(data, "waivers", display)
    horizon = now + timedelta(days=max_days)
    waivers = []
    for index, entry in enumerate(raw):
        where = f"waivers[{index}]"
        if not isinstance(entry, LineDict):
            raise PolicyError("a waiver must be a mapping", path=display, line=line_of(raw, index), field=where)
        waivers.append(parse_waiver(entry, display, where, registry, horizon, max_days, kind="team"))
    return _relaxation("waivers", path, display, data, waivers)


def inline_relaxation(
    template: str,
    entries: Sequence[tuple[str, LineDict]],
    root: Path,
    registry: Mapping[str, Rule],
    max_days: int,
    now: datetime,
    resources: Mapping[str, Any],
) -> Relaxation:
    """The inline waivers of one template, as one relaxation; each covers only
    the resource it is written on, in this template. What is approved is the
    waivers and those resources as they are: any change to such a resource
    (a condition dropped from its policy) voids the approval."""
    horizon = now + timedelta(days=max_days)
    waivers = [
        parse_waiver(
            entry,
            template,
            f"Resources.{resource}.Metadata.checker.waivers",
            registry,
            horizon,
            max_days,
            kind="inline",
            defaults={"template": glob.escape(template), "resource": glob.escape(resource)},
        )
        for resource, entry in entries
    ]
    document = {
        "template": template,
        "waivers": [{"resource": r, **e} for r, e in entries],
        "resources": {r: resources.get(r) for r in sorted({r for r, _ in entries})},
    }
    return _relaxation("inline-waivers", root / template, template, document, waivers)


_ADOPTION_KEYS = ("kind", "created", "reason", "expires", "entries")


def read_adoption_baseline(
    path: Path, display: str, registry: Mapping[str, Rule], max_days: int, now: datetime
) -> Relaxation:
    """An adoption baseline: today's findings by fingerprint, accepted until it expires."""
    data = load_mapping(path, display)
    if data.get("kind") != ADOPTION_KIND:
        raise _error(display, data, "kind", f"not a checker adoption baseline (kind: {ADOPTION_KIND})", "kind")
    for key in data:
        if key not in _ADOPTION_KEYS:
            hint = _SIGNED if key == "approved_by" else suggest(str(key), _ADOPTION_KEYS)
            raise _error(display, data, key, "unknown field", str(key), hint)
    expires = parse_expiry(data.get("expires"))
    if expires is None:
        raise _error(display, data, "expires", "is required: a date or an ISO 8601 time", "expires")
    if expires > now + timedelta(days=max_days):
        raise _error(
            display, data, "expires", f"is beyond the {max_days}-day horizon the baseline policy allows", "expires"
        )
    reason = data.get("reason") or "recorded in the adoption baseline"
    entries = data.get("entries") or []
    if not isinstance(entries, list):
        raise _error(display, data, "entries", "must be a list of findings", "entries")
    waivers = []
    for index, entry in enumerate(entries):
        line = line_of(entries, index)
        if not isinstance(entry, Mapping) or not isinstance(entry.get("fingerprint"), str):
            raise PolicyError("each entry needs a fingerprint", path=display, line=line, field=f"entries[{index}]")
        rule = str(entry.get("rule"))
        if rule not in registry or registry[rule].meta.mandatory:
            why = "is mandatory: it cannot be waived" if rule in registry else "is not a rule"
            raise PolicyError(f"{rule!r} {why}", path=display, line=line, field=f"entries[{index}].rule")
        # What an approver reads (path, resource, element) is what the entry
        # matches: the fingerprint must be of exactly those.
        shown = entry.get("element") if entry.get("element") is not None else entry.get("message")
        path_shown, resource_shown = entry.get("path"), entry.get("resource")
        if not isinstance(path_shown, str) or not isinstance(shown, str) or not (
            resource_shown is None or isinstance(resource_shown, str)
        ):
            what = "each entry needs its path, and its element or message"
            raise PolicyError(what, path=display, line=line, field=f"entries[{index}]")
        if fingerprint_of(rule, path_shown, resource_shown, shown) != entry["fingerprint"]:
            raise PolicyError(
                "the fingerprint is not that of the entry's rule, path, resource and element",
                path=display,
                line=line,
                field=f"entries[{index}].fingerprint",
                hint="regenerate the file with `checker baseline`",
            )
        waivers.append(
            Waiver(
                rule=rule,
                reason=str(reason),
                approved_by="",
                expires=expires,
                source=f"{display}:{line}" if line else display,
                template=glob.escape(str(entry.get("path", ""))) or None,
                resource=glob.escape(str(entry.get("resource"))) if entry.get("resource") else None,
                element=entry.get("element"),
                kind="baseline",
                fingerprint=entry["fingerprint"],
                id=f"B-{entry['fingerprint'][:12]}",
                relaxation=display,
            )
        )
    return _relaxation("adoption-baseline", path, display, data, waivers)


_BREAK_GLASS_KEYS = ("kind", "incident", "reason", "expires")


def read_break_glass(path: Path, display: str, max_hours: int, now: datetime) -> Relaxation:
    """A break-glass record: lets a blocked hot fix through for one commit, for hours."""
    if max_hours == 0:
        raise PolicyError("the baseline does not allow break-glass (settings.break_glass_max_hours: 0)", path=display)
    data = load_mapping(path, display)
    for key in data:
        if key not in _BREAK_GLASS_KEYS:
            hint = _SIGNED if key == "approved_by" else suggest(str(key), _BREAK_GLASS_KEYS)
            raise _error(display, data, key, "unknown field", str(key), hint)
    for key in ("incident", "reason"):
        if not isinstance(data.get(key), str) or not data[key].strip():
            raise _error(display, data, key, "is required: a non-empty string", key)
    expires = parse_expiry(data.get("expires"))
    if expires is None or len(str(data.get("expires"))) == 10:
        raise _error(display, data, "expires", "is required: an ISO 8601 time", "expires")
    if expires > now + timedelta(hours=max_hours):
        raise _error(
            display, data, "expires", f"is beyond the {max_hours}-hour horizon the baseline allows for break-glass",
            "expires",
        )
    glass = BreakGlass(data["incident"].strip(), data["reason"].strip(), expires, display)
    return _relaxation("break-glass", path, display, data, break_glass=glass, rules=("*",))


def describe_break_glass(glass: BreakGlass) -> dict[str, str]:
    return {"incident": glass.incident, "reason": glass.reason, "expires": utc_text(glass.expires)}
