"""IAM016: a holder's policies grant a known privilege-escalation path
(``iam:AttachRolePolicy`` on every role, ``iam:PassRole`` with
``lambda:CreateFunction`` and ``lambda:InvokeFunction`` ...) without any
wildcard action.

The paths are data: ``checker/data/iam_escalation_paths.json`` (ids, the
actions each needs, which of them must reach every resource of a type, the
condition keys that restrict them, the published research). It is package
data beside the action catalogue, so it ships in the wheel as the catalogue
does (the rule catalogue's own package data takes rule files only); it is
found through the rule API's module, the one part of checker a rule imports.

Judgment, per holder (one logical resource of one template: a role, user or
group with its inline policies, a SAM function, a managed policy of its
own):

* A path is granted when each of its actions is allowed by some ``Allow``
  statement of the holder, and each target action by a statement whose
  ``Resource`` covers every resource of the target's type (``*``,
  ``arn:aws:iam::*:role/*``, ``arn:${AWS::Partition}:iam::${AWS::AccountId}:role/*``).
  Partition, region and account are the stack's own whatever they are
  written as; any other part left unresolved (``<unresolved ...>``) is never
  taken for a wildcard.
* Conditions: a statement counts for a path unless its condition pins (the
  rule API's ``restricts``: a pinning operator, specific values, no
  IfExists) a key the path names for that action, or a resource-tag key on a
  target action. ``iam:PassedToService`` pinned to the service the path
  passes the role to does not restrict that path: a role passable to Lambda
  is as good as any for the Lambda path, so the condition only closes the
  other services' paths. Likewise ``iam:PolicyARN`` pinned to
  AdministratorAccess restricts nothing. Every other condition counts for
  the statement (it is not known to close the path).
* Deny: an unconditioned ``Deny`` of the action on ``*`` (or, for a target
  action, on every resource of its type) in the holder's own policies
  removes it. Conditioned Denys, and Denys in other resources' policies,
  are not judged.
* Template conditions: statements under opposite branches of one ``Fn::If``
  condition never make a path together (the view's ``when``); the finding
  says which branches it needs.
* Other rules' findings are not repeated: a holder allowed every action on
  ``*`` is IAM001's (every path is open, one finding says so); a path all of
  whose actions are granted only through ``*`` or whole-service wildcards
  (``iam:*``, IAM002) is not reported; ``iam:PassRole`` alone on ``*`` is
  IAM007's, a PassRole path needs its companion actions too.
"""

from __future__ import annotations

import functools
import itertools
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from checker import ruleapi
from checker.ruleapi import (
    Facts,
    Finding,
    Param,
    RuleMeta,
    finding_for,
    has_wildcard,
    iam_catalogue,
    is_all_actions,
    listed,
    restricts,
)

DATA = Path(ruleapi.__file__).resolve().parent / "data" / "iam_escalation_paths.json"

_UNRESOLVED = "<unresolved "
# How the resolver writes a part of a text it could not resolve: "${?}", or a
# pseudo parameter by name ("${AWS::AccountId}"). In a resource that is left
# literal, "${aws:username}" is a policy variable: the caller's own, not all.
_PLACEHOLDER = re.compile(r"\$\{[^}]*\}")
_HOLE = "\0"  # a placeholder, while the ARN is split (pseudo parameters have colons)
# Operators that pin a key to the values given (the rule API's judgment of
# whether a condition pins is `restricts`; this only reads the values back).
_PINNING = {"stringequals", "stringequalsignorecase", "stringlike", "arnequals", "arnlike"}
_PSEUDO = {"AWS::URLSuffix": "amazonaws.com", "AWS::Partition": "aws"}
_MAX_CONDITIONS = 6  # template conditions one holder's statements are read under, combined


@dataclass(frozen=True, slots=True)
class EscalationPath:
    id: str
    name: str
    achieves: str
    # Each entry is satisfied by any one of its actions.
    actions: tuple[tuple[str, ...], ...]
    # Action -> target type: the action must reach every resource of that type.
    targets: Mapping[str, str]
    # Action -> condition key (glob) -> pinned values that leave the path open.
    conditions: Mapping[str, Mapping[str, tuple[str, ...]]]
    references: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class EscalationData:
    target_types: Mapping[str, tuple[str, ...]]
    target_condition_keys: Mapping[str, tuple[str, ...]]
    paths: tuple[EscalationPath, ...]


def parse(data: Mapping[str, Any]) -> EscalationData:
    """The paths file, checked for shape: a malformed entry names itself."""
    types = {name: tuple(spec["samples"]) for name, spec in data["target_types"].items()}
    if "any" not in types or not all(types.values()):
        raise ValueError("target_types needs 'any' and samples for every type")
    paths = []
    seen: set[str] = set()
    for entry in data["paths"]:
        pid = entry["id"]
        actions = tuple((a,) if isinstance(a, str) else tuple(a) for a in entry["actions"])
        flat = {a.lower() for options in actions for a in options}
        targets = dict(entry["targets"])
        conditions = {a: {k: tuple(v) for k, v in keys.items()} for a, keys in entry.get("conditions", {}).items()}
        problems = [
            *(f"target {a} is not one of its actions" for a in targets if a.lower() not in flat),
            *(f"target type {t!r} is not defined" for t in targets.values() if t not in types),
            *(f"condition on {a}, not one of its actions" for a in conditions if a.lower() not in flat),
        ]
        if pid in seen or not targets or problems:
            raise ValueError(f"escalation path {pid!r}: {'; '.join(problems) or 'duplicate id or no target'}")
        seen.add(pid)
        paths.append(
            EscalationPath(
                pid, entry["name"], entry["achieves"], actions, targets, conditions, tuple(entry["references"])
            )
        )
    condition_keys = {k: tuple(v) for k, v in data.get("target_condition_keys", {}).items()}
    return EscalationData(types, condition_keys, tuple(paths))


@functools.cache
def escalation_data() -> EscalationData:
    """The packaged paths, read once per process (like the action catalogue)."""
    return parse(json.loads(DATA.read_text(encoding="utf-8")))


@functools.cache
def _covered(pattern: str) -> frozenset[str]:
    """The catalogue actions (lower case) an Action pattern allows, in IAM's semantics."""
    return frozenset(a.name.lower() for a in iam_catalogue().match(pattern))


def _allows(pattern: str, action: str) -> bool:
    return is_all_actions(pattern) or action.lower() in _covered(pattern)


@functools.cache
def _glob(pattern: str) -> re.Pattern[str]:
    return re.compile(re.escape(pattern).replace(r"\*", ".*").replace(r"\?", "."), re.S)


def resource_pattern(text: str) -> str | None:
    """A statement's resource as an IAM glob to judge breadth with, or None
    when what decides it is unknown. Partition, region and account are made
    ``*``: they are the stack's own (or the one account named), whether
    literal, a pseudo parameter or unresolved. Any other part unresolved, or
    a policy variable, is never a wildcard."""
    unresolved = text.startswith(_UNRESOLVED) and text.endswith(">")
    inner = text[len(_UNRESOLVED) : -1] if unresolved else text
    if unresolved and not inner.startswith("arn:"):
        return None  # a whole intrinsic (GetAtt, ImportValue, a Ref without default): one resource
    inner = _PLACEHOLDER.sub(_HOLE, inner)
    parts = inner.split(":", 5)
    if parts[0] == "arn" and len(parts) == 6:
        parts[1] = parts[3] = parts[4] = "*"
        inner = ":".join(parts)
    return None if _HOLE in inner else inner


def covers_type(text: str, samples: Sequence[str]) -> bool:
    """Whether a Resource entry covers every resource of a type (matches each sample ARN)."""
    pattern = resource_pattern(text)
    return pattern is not None and all(_glob(pattern).fullmatch(s) for s in samples)


def _value_text(value: Any) -> str | None:
    """A condition value as text: a string, or a ``!Sub`` of pseudo parameters
    (``lambda.${AWS::URLSuffix}``); None for other intrinsics."""
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping) and set(value) == {"Fn::Sub"} and isinstance(value["Fn::Sub"], str):
        text = value["Fn::Sub"]
        for name, literal in _PSEUDO.items():
            text = text.replace("${" + name + "}", literal)
        return None if "${" in text else text
    return None


def _pinned_values(condition: Mapping[str, Any], keys: Sequence[str]) -> list[str | None]:
    wanted = {k.lower() for k in keys}
    values: list[str | None] = []
    for operator, tests in condition.items():
        if str(operator).lower().removeprefix("forallvalues:") not in _PINNING or not isinstance(tests, Mapping):
            continue
        for key, given in tests.items():
            if str(key).lower() in wanted:
                values += [_value_text(v) for v in (given if isinstance(given, list) else [given])]
    return values


def closes(condition: Any, keys: Mapping[str, tuple[str, ...]]) -> bool:
    """Whether a statement's condition closes a path for one action: it pins
    one of ``keys`` (globs), to no value matching the ones that leave the
    path open. A pinned intrinsic is a specific value, and not an open one."""
    if not isinstance(condition, Mapping) or not keys:
        return False
    present = {str(k) for tests in condition.values() if isinstance(tests, Mapping) for k in tests}
    for key_glob, open_values in keys.items():
        named = sorted(k for k in present if listed(k, [key_glob]))
        if not named or not restricts(condition, named):
            continue
        pinned = _pinned_values(condition, named)
        if any(v is not None and (listed(v, open_values) or any(listed(o, [v]) for o in open_values)) for v in pinned):
            continue  # pinned to (a pattern covering) a value that keeps this path open
        return True
    return False


@dataclass(frozen=True, slots=True)
class _Grant:
    """One statement allowing one action of a path."""

    record: Mapping[str, Any]
    patterns: tuple[str, ...]  # the statement's patterns that allow it
    resource: str  # the Resource entry that makes it count (the broad one, for a target)

    @property
    def explicit(self) -> bool:
        """Granted by its name, not only through a wildcard: IAM001 (``*``),
        IAM002 (``svc:*``) and IAM003 (partial patterns such as ``iam:*Ro*``,
        with the escalation actions they expand to) report those."""
        return any(not has_wildcard(p) for p in self.patterns)


def _fixed(record: Mapping[str, Any]) -> list[tuple[str, bool]]:
    """The template conditions a statement is read under, and their values (the view's ``assumes``)."""
    assumes = record.get("assumes") or {}
    return list(assumes.items()) if isinstance(assumes, Mapping) else []


def _worlds(records: Sequence[Mapping[str, Any]]) -> list[list[Mapping[str, Any]]]:
    """The holder's statements as each combination of its template conditions
    deploys them: statements under opposite branches of one condition never
    make a path together. Beyond a few conditions, all statements at once."""
    names = sorted({name for r in records for name, _ in _fixed(r)})
    if not names or len(names) > _MAX_CONDITIONS:
        return [list(records)]
    worlds: dict[tuple[int, ...], list[Mapping[str, Any]]] = {}
    for truths in itertools.product((True, False), repeat=len(names)):
        world = dict(zip(names, truths, strict=True))
        members = [i for i, r in enumerate(records) if all(world[n] == t for n, t in _fixed(r))]
        worlds.setdefault(tuple(members), [records[i] for i in members])
    return list(worlds.values())


def _display(resource: str) -> str:
    return resource[len(_UNRESOLVED) : -1] if resource.startswith(_UNRESOLVED) and resource.endswith(">") else resource


class PrivilegeEscalation:
    meta = RuleMeta(
        id="IAM016",
        title="Policy grants a known privilege-escalation path",
        severity="high",
        tags=("iam",),
        views=("iam_statements",),
        rationale=(
            "Some permissions are administrator in one or two calls without any wildcard action: "
            "`iam:AttachRolePolicy` or `iam:PutRolePolicy` on every role, `iam:CreatePolicyVersion` on "
            "every policy, `iam:CreateAccessKey` on every user, or `iam:PassRole` on every role together "
            "with a service that runs code as the role passed (`lambda:CreateFunction` and "
            "`lambda:InvokeFunction`, `ec2:RunInstances`, `cloudformation:CreateStack` ...). The rule "
            "judges all the identity policies of one role, user, group, function or managed policy "
            "together against the published escalation paths (Rhino Security Labs, Bishop Fox's IAM "
            "Vulnerable, pathfinding.cloud), so a path split over several statements is found too."
        ),
        judges=(
            "Identity policies (as IAM001), all Allow and Deny statements of one role, user, group "
            "or policy together, in each combination of template conditions they deploy under."
        ),
        remediation=(
            "Scope `Resource` of the target action to the roles, users, policies or instances the "
            "workload manages (its own ARNs, `!GetAtt Role.Arn`), pin `iam:PassedToService` on "
            "`iam:PassRole`, or `iam:PermissionsBoundary` on role and user policy changes. A path the "
            "organization accepts can be listed by id in `allowed_paths`."
        ),
        params=(
            Param(
                "allowed_paths",
                "string_list",
                [],
                "escalation path ids (or globs) accepted, as listed in checker/data/iam_escalation_paths.json",
                tighter="fewer",
            ),
        ),
        example_fail=(
            "Statement:\n"
            "  - Effect: Allow\n"
            "    Action: iam:AttachRolePolicy\n"
            '    Resource: !Sub "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/*"\n'
        ),
        example_pass=(
            "Statement:\n"
            "  - Effect: Allow\n"
            "    Action: iam:AttachRolePolicy\n"
            "    Resource: !GetAtt AppRole.Arn\n"
            "    Condition:\n"
            "      ArnEquals: {iam:PolicyARN: !Ref AppPolicy}\n"
        ),
        references=(
            "https://rhinosecuritylabs.com/aws/aws-privilege-escalation-methods-mitigation/",
            "https://pathfinding.cloud/paths",
            "https://github.com/BishopFox/iam-vulnerable",
            "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_passrole.html",
        ),
    )

    def evaluate(self, facts: Facts, params: Mapping[str, Any]) -> Iterator[Finding]:
        data = escalation_data()
        allowed = params["allowed_paths"]
        holders: dict[tuple[Any, ...], list[Mapping[str, Any]]] = {}
        for record in facts.view("iam_statements"):
            if record["policy_kind"] == "identity":
                where = (record.get("template") or record["path"], record.get("stack"))
                holders.setdefault((*where, record["resource"]), []).append(record)
                # A policy attached to a role, user or group is also theirs:
                # a path split between them is granted to the role.
                for holder in record.get("attached_to") or ():
                    holders.setdefault((*where, holder), []).append(record)
        for records in holders.values():
            # A path is this rule's only when one of its actions is named (not
            # only matched by a wildcard): paths naming none are skipped early.
            named = {a.lower() for r in records if r["effect"] == "Allow" for a in r["actions"] if not has_wildcard(a)}
            if not named:
                continue
            worlds = [w for w in _worlds(records) if not any(self._administrator(r, data) for r in w)]
            for path in data.paths:
                if listed(path.id, allowed) or not any(a.lower() in named for o in path.actions for a in o):
                    continue
                # One finding per holder and path: the first way the template can deploy that grants it.
                found = next((f for w in worlds if (f := self._judge(path, w, data)) is not None), None)
                if found is not None:
                    yield found

    @staticmethod
    def _administrator(record: Mapping[str, Any], data: EscalationData) -> bool:
        return (
            record["effect"] == "Allow"
            and record["all_actions"]
            and any(covers_type(r, data.target_types["any"]) for r in record["resources"])
        )

    def _judge(self, path: EscalationPath, records: list[Mapping[str, Any]], data: EscalationData) -> Finding | None:
        chosen: list[tuple[str, list[_Grant]]] = []
        for options in path.actions:
            found = [(action, grants) for action in options if (grants := self._grants(action, path, records, data))]
            if not found:
                return None
            # Among alternatives, prefer one granted explicitly (it is the one to fix).
            chosen.append(next(((a, g) for a, g in found if any(x.explicit for x in g)), found[0]))
        if not any(g.explicit for _, grants in chosen for g in grants):
            return None  # only through "*" or "svc:*": IAM001's and IAM002's findings
        # Each action is shown by (and the finding located at) its first
        # statement naming it, else its first statement: the one to fix.
        shown_by = {a: next((g for g in grants if g.explicit), grants[0]) for a, grants in chosen}
        target_action = next(a for a, _ in chosen if a in path.targets)
        first = shown_by[target_action]
        shown = ", ".join(
            f"{action} on {_display(shown_by[action].resource)!r}" if action in path.targets else action
            for action, _ in chosen
        )
        names = {a.lower() for a, _ in chosen}
        via = sorted({p for _, grants in chosen for g in grants for p in g.patterns if p.lower() not in names})
        patterns = f" (through {', '.join(repr(p) for p in via)})" if via else ""
        return finding_for(
            first.record,
            f"grants escalation path {path.id!r}, {path.name}: {shown}{patterns}; the holder {path.achieves}",
            line=first.record["action_line"],
            element=f"{path.id}: {target_action} on {_display(first.resource)}",
        )

    @staticmethod
    def _grants(
        action: str, path: EscalationPath, records: list[Mapping[str, Any]], data: EscalationData
    ) -> list[_Grant]:
        """The holder's statements that allow ``action`` as the path needs it
        (on every resource of the target type, for a target), in document
        order; none when an unconditioned Deny of the holder takes it away."""
        kind = path.targets.get(action)
        samples = data.target_types[kind or "any"]
        keys = dict(path.conditions.get(action, {}))
        if kind:
            keys.update(data.target_condition_keys)
        grants: list[_Grant] = []
        for record in records:
            patterns = tuple(p for p in record["actions"] if _allows(p, action))
            if not patterns:
                continue
            if record["effect"] == "Deny":
                if not record["condition"] and any(covers_type(r, samples) for r in record["resources"]):
                    return []
                continue
            if record["effect"] != "Allow" or closes(record["condition"], keys):
                continue
            if kind:
                resource = next((r for r in record["resources"] if covers_type(r, samples)), None)
            else:
                resource = next(iter(record["resources"]), None)
            if resource is not None:
                grants.append(_Grant(record, patterns, resource))
        return grants


RULE = PrivilegeEscalation()
