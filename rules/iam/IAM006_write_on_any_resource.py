"""IAM006: write or permission-management actions allowed on ``Resource: "*"``
although they can be scoped to resources."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from checker.ruleapi import (
    Facts,
    Finding,
    Param,
    RuleMeta,
    covers_every,
    finding_for,
    iam_catalogue,
    is_all_actions,
    is_service_wildcard,
    listed,
    restricts,
)

_LEVELS = ("Write", "Permissions management")
# Condition keys that scope a grant on "*" to some resources: their tags, the
# service a service-linked role is for, the network an interface is made in.
_SCOPING_KEYS = [
    "aws:ResourceTag/*",
    "*:ResourceTag/*",
    "iam:AWSServiceName",
    "ec2:Vpc",
    "ec2:Subnet",
]


def _scoped_by_condition(condition: Any, keys: list[str]) -> bool:
    """Whether a condition pins a key that scopes the resources (``restricts``
    semantics: a pinning operator with specific values, not IfExists)."""
    if not isinstance(condition, Mapping):
        return False
    present = [str(k) for tests in condition.values() if isinstance(tests, Mapping) for k in tests]
    return restricts(condition, [k for k in present if listed(k, keys)])


_SHOWN = 6


class WriteOnAnyResource:
    meta = RuleMeta(
        id="IAM006",
        title="Write access on every resource where it can be scoped",
        severity="medium",
        tags=("iam",),
        views=("iam_statements",),
        rationale=(
            '`Resource: "*"` on `dynamodb:PutItem` lets the workload write to every table in the '
            "account, not only its own. Many actions, most `Describe*` and `List*` calls among "
            "them, accept only `*`, and those are not reported: the rule uses AWS's action "
            "catalogue to report only write and permission-management actions that support "
            "resource-level permissions, so each finding can be fixed."
        ),
        judges=(
            'Identity policies (as IAM001): Allow statements on `Resource: "*"`, expanded against '
            "the action catalogue (write and permission-management actions that support "
            "resource-level permissions)."
        ),
        remediation=(
            "Scope `Resource` to the ARNs the workload uses (`!GetAtt Table.Arn`, "
            '`!Sub "${Bucket.Arn}/*"`). Actions your organization accepts on `*` (for example '
            "`logs:CreateLogStream`) can be listed in `allowed_actions`."
        ),
        params=(
            Param(
                "allowed_actions",
                "string_list",
                [],
                'actions (or globs) accepted on Resource "*"',
                tighter="fewer",
            ),
            Param(
                "scoping_condition_keys",
                "string_list",
                _SCOPING_KEYS,
                'condition keys (globs) that, pinned to specific values, scope a grant on "*"',
                tighter="fewer",
            ),
        ),
        example_fail='Statement:\n  - Effect: Allow\n    Action: dynamodb:PutItem\n    Resource: "*"\n',
        example_pass=("Statement:\n  - Effect: Allow\n    Action: dynamodb:PutItem\n    Resource: !GetAtt Table.Arn\n"),
        references=(
            "https://docs.aws.amazon.com/IAM/latest/UserGuide/access_controls.html#access_controls-resource-level",
        ),
    )

    def evaluate(self, facts: Facts, params: Mapping[str, Any]) -> Iterator[Finding]:
        allowed = params["allowed_actions"]
        scoping = params["scoping_condition_keys"]
        for record in facts.view("iam_statements"):
            wide = next((r for r in record["resources"] if covers_every(r, of_type=False)), None)
            if record["effect"] != "Allow" or record["policy_kind"] != "identity" or wide is None:
                continue
            if _scoped_by_condition(record["condition"], scoping):
                continue  # iam:CreateServiceLinkedRole for one service, writes to tagged resources
            for action in record["actions"]:
                # Whole-account and whole-service wildcards are IAM001/IAM002, and
                # iam:PassRole on "*" is IAM007.
                if is_all_actions(action) or is_service_wildcard(action):
                    continue
                scoped = sorted(
                    a.name
                    for a in iam_catalogue().match(action)
                    if a.level in _LEVELS
                    and a.resource_level
                    and a.name.lower() != "iam:passrole"
                    and not listed(a.name, allowed)
                )
                if scoped:
                    more = f" and {len(scoped) - _SHOWN} more" if len(scoped) > _SHOWN else ""
                    which = "" if scoped == [action] else f": {', '.join(scoped[:_SHOWN])}{more}"
                    yield finding_for(
                        record,
                        f"{action!r} on Resource {wide!r} grants writes that can be scoped to resources{which}",
                        line=record["action_line"],
                        element=f"{action} on {wide}",
                    )


RULE = WriteOnAnyResource()
