"""IAM012: a resource policy grants every action, or every action of a
service, to the principals it names."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from checker.ruleapi import (
    Facts,
    Finding,
    Param,
    RuleMeta,
    finding_for,
    is_all_actions,
    is_service_wildcard,
    listed,
    restricts,
)

# The stack's own account as a principal ("AWS:arn:aws:iam::${AWS::AccountId}:root",
# "AWS:!Ref AWS::AccountId"): a grant to it hands the decision to the account's
# own identity policies, which the other IAM rules judge. It is how AWS's
# default key policy reads (kms:* to the account root).
_OWN_ACCOUNT = re.compile(
    r'AWS:(?:<unresolved )?(?:arn:[\w-]+:iam::\$\{AWS::AccountId\}:root|\{"Ref":"AWS::AccountId"\})>?'
)


# An account's root, by ARN or bare id: in a key policy, AWS's default shape
# ("Enable IAM User Permissions") written with the account number.
_ACCOUNT_ROOT = re.compile(r"AWS:(?:arn:[\w-]+:iam::\d{12}:root|\d{12})")
_KEYS = ("AWS::KMS::Key", "AWS::KMS::ReplicaKey")


# A bucket policy granting everything through the access points of one account
# (AWS's documented delegation): the access points' own policies decide.
_ACCESS_POINT_KEYS = ("s3:DataAccessPointAccount", "s3:DataAccessPointArn")


def _defers_to_iam(record: Mapping[str, Any]) -> bool:
    """Whether the grant goes only to account roots that leave the decision to
    their own identity policies: the stack's own account anywhere, any
    account's root in a key policy (AWS's default key policy)."""
    principals = record["principals"]
    key = record["resource_type"] in _KEYS
    return bool(principals) and all(
        _OWN_ACCOUNT.fullmatch(p) or (key and _ACCOUNT_ROOT.fullmatch(p)) for p in principals
    )


class ResourcePolicyWildcardAction:
    meta = RuleMeta(
        id="IAM012",
        title="Resource policy grants every action, or every action of a service",
        severity="high",
        tags=("iam",),
        views=("iam_statements",),
        rationale=(
            "`Action: s3:*` (or `*`) in a bucket, queue, topic, key, secret or other resource "
            "policy hands the principals it names every present and future action on the "
            "resource: deleting it, rewriting its policy, reading everything in it. Another "
            "account, a service or a role that needs to send messages or read objects gets to "
            "administer the resource instead. A grant to the stack's own account root "
            "(`arn:${AWS::Partition}:iam::${AWS::AccountId}:root`), and in a key policy to an "
            "account's root (AWS's default key policy, written with the account number), is not "
            "reported: it leaves the decision to that account's own identity policies, which the "
            "other IAM rules judge; so is a bucket policy that delegates to one account's access "
            "points (`s3:DataAccessPointAccount`), whose own policies are judged."
        ),
        judges=(
            "Resource policies (as IAM008): Allow statements whose Action matches every action, or "
            "every action of a service, whatever the principal."
        ),
        remediation=(
            "Grant the actions the principal needs (`sqs:SendMessage`, `s3:GetObject`). Services "
            "your organization accepts as a whole in resource policies can be listed in "
            "`allowed_services`."
        ),
        params=(
            Param(
                "allowed_services",
                "string_list",
                [],
                "service prefixes (e.g. `kms`) whose whole-service wildcard is accepted",
                tighter="fewer",
            ),
        ),
        example_fail=(
            "Statement:\n  - Effect: Allow\n"
            '    Principal: {AWS: "arn:aws:iam::111122223333:role/Partner"}\n'
            "    Action: sqs:*\n    Resource: !GetAtt Queue.Arn\n"
        ),
        example_pass=(
            "Statement:\n  - Effect: Allow\n"
            '    Principal: {AWS: "arn:aws:iam::111122223333:role/Partner"}\n'
            "    Action: sqs:SendMessage\n    Resource: !GetAtt Queue.Arn\n"
        ),
        references=(
            "https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_identity-vs-resource.html",
            "https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html",
        ),
    )

    def evaluate(self, facts: Facts, params: Mapping[str, Any]) -> Iterator[Finding]:
        allowed = params["allowed_services"]
        for record in facts.view("iam_statements"):
            if record["effect"] != "Allow" or record["policy_kind"] != "resource":
                continue
            if _defers_to_iam(record) or restricts(record["condition"], _ACCESS_POINT_KEYS):
                continue
            if record["not_principals"]:
                whom = f"every principal except {', '.join(record['not_principals'])}"
            else:
                whom = ", ".join(record["principals"]) or "its principals"
            for action in record["actions"]:
                if is_all_actions(action):
                    what = "every action"
                elif is_service_wildcard(action) and not listed(action.split(":", 1)[0], allowed):
                    what = f"every {action.split(':', 1)[0]} action"
                else:
                    continue
                yield finding_for(
                    record,
                    f"{record['resource_type']} grants {what} ({action!r}) to {whom}",
                    line=record["action_line"],
                    element=f"{action} to {','.join(record['principals'] or ['all but', *record['not_principals']])}",
                )


RULE = ResourcePolicyWildcardAction()
