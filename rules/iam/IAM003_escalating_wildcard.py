"""IAM003: a partial wildcard expands to permission-management or
privilege-escalation actions (``iam:*Policy*``, ``iam:Pass*``)."""

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
    has_wildcard,
    iam_catalogue,
    is_all_actions,
    is_service_wildcard,
    listed,
)

_SHOWN = 6


class EscalatingWildcard:
    meta = RuleMeta(
        id="IAM003",
        title="Wildcard action grants permission management or privilege escalation",
        severity="high",
        tags=("iam",),
        views=("iam_statements",),
        rationale=(
            "A pattern such as `iam:*Policy*` or `iam:Pass*` reads as narrow but expands to "
            "actions that change permissions (`iam:AttachRolePolicy`, `iam:PutRolePolicy`, "
            "`iam:CreatePolicyVersion`) or hand a role to a service (`iam:PassRole`): the known "
            "paths from a small foothold to administrator. The expansion is checked against AWS's "
            "own action catalogue, so new actions matching the pattern are caught too."
        ),
        judges=(
            "Identity policies (as IAM001): Allow statements with a partial wildcard (not `*`, not "
            "`svc:*`), expanded against the action catalogue."
        ),
        remediation=(
            "Replace the pattern with the exact actions needed. Actions your organization accepts "
            "can be listed in `allowed_actions`."
        ),
        params=(
            Param(
                "allowed_actions",
                "string_list",
                [],
                "actions (or globs) accepted even though they manage permissions",
                tighter="fewer",
            ),
        ),
        example_fail='Statement:\n  - Effect: Allow\n    Action: iam:*Policy*\n    Resource: "*"\n',
        example_pass=(
            "Statement:\n  - Effect: Allow\n    Action: iam:GetRolePolicy\n    Resource: !GetAtt AppRole.Arn\n"
        ),
        references=(
            "https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html",
            "https://rhinosecuritylabs.com/aws/aws-privilege-escalation-methods-mitigation/",
        ),
    )

    def evaluate(self, facts: Facts, params: Mapping[str, Any]) -> Iterator[Finding]:
        allowed = params["allowed_actions"]
        for record in facts.view("iam_statements"):
            if record["effect"] != "Allow" or record["policy_kind"] != "identity":
                continue
            # Managing the permissions of named resources (one table's resource
            # policy, one bucket's ACL) is not account-wide: only escalation
            # actions, or actions on every resource, count then.
            undetermined = record["unresolved"].get("resources", [])
            everywhere = not record["resources"] or any(
                covers_every(r) or r in undetermined for r in record["resources"]
            )
            for action in record["actions"]:
                # "*" and "svc:*" are IAM001 and IAM002; only partial patterns here.
                if is_all_actions(action) or is_service_wildcard(action) or not has_wildcard(action):
                    continue
                risky = sorted(
                    a.name
                    for a in iam_catalogue().match(action)
                    if (a.escalates or (a.level == "Permissions management" and (everywhere or not a.resource_level)))
                    and not listed(a.name, allowed)
                )
                if risky:
                    more = f" and {len(risky) - _SHOWN} more" if len(risky) > _SHOWN else ""
                    yield finding_for(
                        record,
                        f"{action!r} expands to permission-management or escalation actions: "
                        f"{', '.join(risky[:_SHOWN])}{more}",
                        line=record["action_line"],
                        element=action,
                    )


RULE = EscalatingWildcard()
