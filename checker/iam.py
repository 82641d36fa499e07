"""IAM reference data for rules: the action catalogue and its wildcards.

The catalogue (``checker/data/iam_actions.json``) is a pinned snapshot of
AWS's Service Authorization Reference, built by
``tools/build_iam_catalogue.py``; it is read on first use only, so templates
without IAM wildcards never pay for it. Matching is case-insensitive, as IAM
itself is.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_LEVELS = {"L": "List", "R": "Read", "W": "Write", "P": "Permissions management", "T": "Tagging"}

# Actions that let a principal grant itself more than it has: the published
# privilege-escalation paths (Rhino Security Labs' list and its successors).
PRIVILEGE_ESCALATION = frozenset(
    a.lower()
    for a in (
        "iam:AddUserToGroup",
        "iam:AttachGroupPolicy",
        "iam:AttachRolePolicy",
        "iam:AttachUserPolicy",
        "iam:CreateAccessKey",
        "iam:CreateLoginProfile",
        "iam:CreatePolicyVersion",
        "iam:DeleteRolePermissionsBoundary",
        "iam:DeleteUserPermissionsBoundary",
        "iam:PassRole",
        "iam:PutGroupPolicy",
        "iam:PutRolePermissionsBoundary",
        "iam:PutRolePolicy",
        "iam:PutUserPermissionsBoundary",
        "iam:PutUserPolicy",
        "iam:SetDefaultPolicyVersion",
        "iam:UpdateAssumeRolePolicy",
        "iam:UpdateLoginProfile",
        "sts:AssumeRole",
        "lambda:UpdateFunctionCode",
        "lambda:UpdateFunctionConfiguration",
        "lambda:AddPermission",
        "glue:UpdateDevEndpoint",
        "cloudformation:UpdateStack",
        "ec2:ModifyInstanceAttribute",
        "ssm:SendCommand",
        "ssm:StartSession",
        "codestar:AssociateTeamMember",
    )
)


@dataclass(frozen=True, slots=True)
class IamAction:
    """One IAM action as AWS documents it."""

    name: str  # "iam:PassRole", as AWS writes it
    level: str  # List, Read, Write, Permissions management, Tagging
    resource_level: bool  # supports resource ARNs, not only "*"

    @property
    def escalates(self) -> bool:
        return self.name.lower() in PRIVILEGE_ESCALATION


@dataclass(frozen=True, slots=True)
class IamCatalogue:
    source: Mapping[str, str]
    services: Mapping[str, tuple[IamAction, ...]]
    by_name: Mapping[str, IamAction]

    def lookup(self, action: str) -> IamAction | None:
        return self.by_name.get(action.lower())

    def match(self, pattern: str) -> tuple[IamAction, ...]:
        """Catalogue actions an IAM action pattern (``s3:Get*``, ``iam:Pass?ole``) covers."""
        service, sep, name = pattern.lower().partition(":")
        if not sep:
            return ()
        if "*" not in pattern and "?" not in pattern:
            found = self.lookup(pattern)
            return (found,) if found else ()
        regex = re.compile(re.escape(name).replace(r"\*", ".*").replace(r"\?", "."), re.S)
        if "*" in service or "?" in service:
            svc_regex = re.compile(re.escape(service).replace(r"\*", ".*").replace(r"\?", "."))
            pools = [acts for prefix, acts in self.services.items() if svc_regex.fullmatch(prefix)]
        else:
            pools = [self.services.get(service, ())]
        return tuple(a for acts in pools for a in acts if regex.fullmatch(a.name.partition(":")[2].lower()))

    def knows_service(self, prefix: str) -> bool:
        return prefix.lower() in self.services


def _parse(data: Mapping[str, Any]) -> IamCatalogue:
    services: dict[str, tuple[IamAction, ...]] = {}
    by_name: dict[str, IamAction] = {}
    for prefix, tokens in data["services"].items():
        actions = []
        for token in tokens.split():
            name, _, code = token.rpartition(":")
            action = IamAction(f"{prefix}:{name}", _LEVELS[code[0]], code[1] == "1")
            actions.append(action)
            by_name[action.name.lower()] = action
        services[prefix] = tuple(actions)
    source = {k: str(data[k]) for k in ("source", "source_version", "source_sha256", "generated")}
    return IamCatalogue(source, services, by_name)


# Package data beside this module (importlib.resources would cost the
# pre-commit path its zipfile and tempfile imports).
_DATA = Path(__file__).resolve().parent / "data"


def catalogue_source() -> dict[str, str]:
    """Where the catalogue came from (source, version, digests, date), for reports."""
    about = (_DATA / "iam_actions.about.json").read_text(encoding="utf-8")
    return {k: str(v) for k, v in json.loads(about).items()}


@functools.cache
def catalogue() -> IamCatalogue:
    """The packaged catalogue, parsed once per process (immutable thereafter)."""
    text = (_DATA / "iam_actions.json").read_text(encoding="utf-8")
    return _parse(json.loads(text))


def _every(part: str) -> bool:
    """An IAM pattern part that matches every name: only ``*`` and ``?``, with
    a ``*`` (``*``, ``**``, ``?*``: IAM's own wildcards, anywhere)."""
    return bool(part) and "*" in part and not part.strip("*?")


def is_all_actions(action: str) -> bool:
    """A pattern that matches every action of every service: ``*``, ``*:*``, ``**``, ``*:?*``."""
    service, sep, name = action.partition(":")
    return _every(action) if not sep else _every(service) and _every(name)


def is_service_wildcard(action: str) -> bool:
    """A pattern that matches every action of one service or more (not of
    all): ``svc:*``, ``svc:?*``, ``svc:**``, ``kinesi?:*``, ``states*:*``."""
    service, sep, name = action.partition(":")
    return bool(sep) and bool(service) and not _every(service) and _every(name)


_PLACEHOLDER = re.compile(r"\$\{[^}]*\}")


def covers_every(resource: str, *, of_type: bool = True) -> bool:
    """Whether a ``Resource`` entry matches every resource, or every resource
    of its type: ``*``, ``arn:aws:s3:::*``, ``arn:aws:dynamodb:*:*:table/*``,
    ``arn:${AWS::Partition}:iam::${AWS::AccountId}:role/*`` (written with
    intrinsics, as the statement view gives it). A wildcard region or
    account alone does not make it every resource: ``log-group:/aws/x/*``
    in any account is still the one application's log groups. With
    ``of_type=False``, only a pattern for every resource of the service
    counts (``arn:aws:logs:*:*:*``), not every one of a type (``role/*``)."""
    text = resource.removeprefix("<unresolved ").removesuffix(">") if resource.startswith("<unresolved ") else resource
    text = _PLACEHOLDER.sub("_", text)  # ${AWS::AccountId}, ${?}: one value, and no colons to split on
    if not text.strip("*?"):
        return True
    parts = text.split(":", 5)
    if not text.startswith("arn:") or len(parts) < 6:
        return False
    service, rest = parts[2], parts[5]
    if not of_type:  # every resource of the service: arn:aws:s3:::*, arn:aws:logs:*:*:*
        return bool(rest) and not rest.strip("*?")
    if service == "s3":  # no resource type: the bucket names the scope (b/* is one bucket's objects)
        name = rest.split("/", 1)[0]
    else:
        name = rest.split("/", 1)[1] if "/" in rest else rest.split(":", 1)[-1]
    return bool(name) and not name.strip("*?")


def has_wildcard(action: str) -> bool:
    return "*" in action or "?" in action


def listed(action: str, patterns: list[str] | tuple[str, ...]) -> bool:
    """Whether an organization's allow-list (exact names, ``svc:*`` or globs) covers ``action``."""
    lowered = action.lower()
    for pattern in patterns:
        regex = re.escape(pattern.lower()).replace(r"\*", ".*").replace(r"\?", ".")
        if re.fullmatch(regex, lowered):
            return True
    return False


# Condition judgment shared by every rule that asks "is this grant tied to
# specific callers?" (resource policies, trust policies).
EVERYONE = frozenset({"*", "aws:*"})
_WIDE = {"*", "0.0.0.0/0", "::/0"}
# Operators that pin a key to the values given, and their negations (a Deny's).
_PINNING = {"stringequals", "stringequalsignorecase", "stringlike", "arnequals", "arnlike", "ipaddress"}
_NEGATED = {
    "stringnotequals",
    "stringnotequalsignorecase",
    "stringnotlike",
    "arnnotequals",
    "arnnotlike",
    "notipaddress",
}


_SHORT_PREFIX = re.compile(r"/[0-7]$")  # a network of 2^25 addresses or more: not one caller's


def pins(key: str, values: Any, operator: str = "") -> bool:
    """Whether a condition key's test values name specific callers: not "*",
    "0.0.0.0/0" (or networks as wide, split in halves), a pattern of
    wildcards, "o-*" (every organization). The statement view gives values
    resolved: one the deployment decides (``<unresolved ...>``) pins only
    under an exact-match operator, where it cannot be a pattern; an intrinsic
    left as such (``!Ref AWS::AccountId``) is a specific value."""
    given = values if isinstance(values, list) else [values]
    if not given:
        return False
    exact = operator.lower().split(":")[-1].removesuffix("ignorecase") in ("stringequals", "stringnotequals")
    for value in given:
        if not isinstance(value, str):
            continue
        text = value.strip()
        if text.startswith("<unresolved ") and not exact:
            return False
        if text in _WIDE or not text.strip("*?") or _SHORT_PREFIX.search(text):
            return False
        literal = text.split("*", 1)[0].split("?", 1)[0]
        if ("*" in text or "?" in text) and len(literal.rstrip("-:/")) < 6:
            return False  # "o-*", "vpce-*", "arn:aws:*": a family, not a caller
        if text.startswith("arn:") and ("*" in text or "?" in text) and not _pins_arn(text):
            return False
        if key.lower() == "lambda:functionurlauthtype" and text.upper() != "AWS_IAM":
            return False  # NONE marks a public URL
    return True


def _pins_arn(arn: str) -> bool:
    """Whether an ARN pattern stays within one account (or, for S3's
    account-less ARNs, names a bucket): ``arn:aws:sns:*``,
    ``arn:aws:sns:us-east-1:*:alerts`` and ``arn:aws:s3:::*`` match anyone's
    resources."""
    parts = arn.split(":", 5)
    if len(parts) < 6:
        return False  # the wildcard swallows the account field
    account, resource = parts[4], parts[5]
    if account:
        return "*" not in account and "?" not in account
    return len(resource.split("*", 1)[0].split("?", 1)[0]) >= 3


def restricts(condition: Any, keys: Iterable[str]) -> bool:
    """Whether an Allow's condition ties it to specific callers: a pinning
    operator (not IfExists, not ForAllValues, which holds when the key is
    missing, not Null, not a negation) on one of ``keys`` with specific values."""
    if not isinstance(condition, Mapping):
        return False
    wanted = {k.lower() for k in keys}
    for operator, tests in condition.items():
        if str(operator).lower().removeprefix("foranyvalue:") not in _PINNING or not isinstance(tests, Mapping):
            continue
        if any(str(k).lower() in wanted and pins(str(k), v, str(operator)) for k, v in tests.items()):
            return True
    return False


def denies_unless(condition: Any, keys: Iterable[str]) -> bool:
    """Whether a Deny's condition makes it apply to every caller but those
    one of ``keys`` names: one negated operator testing one key against
    specific values, and nothing else that could keep it from applying."""
    if not isinstance(condition, Mapping) or len(condition) != 1:
        return False
    ((operator, tests),) = condition.items()
    if str(operator).lower() not in _NEGATED or not isinstance(tests, Mapping) or len(tests) != 1:
        return False
    ((key, values),) = tests.items()
    return str(key).lower() in {k.lower() for k in keys} and pins(str(key), values, str(operator))
