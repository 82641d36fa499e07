"""The one place that decides whether a relaxation applies, and why not."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from checker.relax.approval import approval_statement, check_approval
from checker.relax.approvers import Approvers
from checker.relax.model import ApprovalCheck, Decision, Relaxation, Vouched
from checker.relax.waivers import Waiver


@dataclass(frozen=True, slots=True)
class Context:
    """What an approval is held against: the time now (never a time the
    team's files state), the repository and the commit being checked."""

    now: datetime
    repository: str | None
    commit: str | None
    inline_allowed: bool = False


def decide(relaxation: Relaxation, approvers: Approvers, context: Context) -> Decision:
    """Approved only when enough of the baseline's approvers have validly
    signed exactly this relaxation, for this repository (and, for
    break-glass, this commit), and their keys may approve it now."""

    def refuse(why: str, checks: Sequence[ApprovalCheck] = ()) -> Decision:
        return Decision(relaxation, False, why, tuple(checks))

    r = relaxation
    if r.kind == "inline-waivers" and not context.inline_allowed:
        return refuse("the baseline does not allow inline suppressions (settings.inline_suppressions)")
    if not approvers.keys:
        return refuse("the baseline names no approvers: relaxations from the repository are listed, never applied")
    if r.envelope_problem:
        return refuse(f"the approval cannot be read: {r.envelope_problem}")
    if r.envelope is None:
        return refuse(f"not approved: no {r.source}.approval.dsse.json (an approver runs: checker approve {r.source})")
    if context.repository is None:
        return refuse("the repository is unknown (no git origin remote), and an approval names its repository")
    if r.kind == "break-glass" and context.commit is None:
        return refuse("break-glass needs a git commit to bind its approval to")
    if r.break_glass is not None and r.break_glass.expires < context.now:
        return refuse("the break-glass record has expired")
    expected = approval_statement(r.kind, r.source, r.digest, r.rules, context.repository, context.commit)
    checks, problem = check_approval(r.envelope, expected, approvers, context.now)
    if problem:
        return refuse(problem)
    valid = sum(1 for c in checks if c.valid)
    if valid < approvers.threshold:
        reasons = sorted({c.why for c in checks if not c.valid})
        detail = f" ({'; '.join(reasons)})" if reasons else ""
        return refuse(f"{valid} valid approval(s), {approvers.threshold} needed{detail}", checks)
    return Decision(r, True, f"approved by {valid} of the baseline's approvers", tuple(checks))


def vouched(baseline_waivers: Sequence[Waiver], decisions: Sequence[Decision]) -> Vouched:
    """The relaxations that apply: the baseline's own waivers, and those of
    approved decisions, each waiver showing who approved it."""
    waivers = list(baseline_waivers)
    glass = None
    for decision in decisions:
        if not decision.approved:
            continue
        waivers += [replace(w, approved_by=decision.approvers) for w in decision.relaxation.waivers]
        glass = decision.relaxation.break_glass or glass
    return Vouched(tuple(waivers), glass)
