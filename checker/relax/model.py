"""What a relaxation is, and what deciding on one yields."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from checker.relax.waivers import Waiver

RelaxationKind = Literal["waivers", "inline-waivers", "adoption-baseline", "break-glass"]
KINDS: tuple[RelaxationKind, ...] = ("waivers", "inline-waivers", "adoption-baseline", "break-glass")


@dataclass(frozen=True, slots=True)
class BreakGlass:
    """An emergency override for an incident: lets a blocked hot fix through,
    visibly, for a short time, for one commit."""

    incident: str
    reason: str
    expires: datetime
    source: str


@dataclass(frozen=True, slots=True)
class Relaxation:
    """One relaxation from the team's side: a file (or one template's inline
    waivers), what it would relax, and the approval found beside it.

    ``digest`` is the sha256 of the canonical JSON of what is relaxed (the
    parsed document, so comments and formatting do not matter); it is what
    approvers sign. ``envelope`` is the approval as read, None when there is
    none; ``envelope_problem`` says why an approval file could not be read.
    """

    kind: RelaxationKind
    source: str
    path: Path
    digest: str
    rules: tuple[str, ...]
    waivers: tuple[Waiver, ...] = ()
    break_glass: BreakGlass | None = None
    envelope: dict[str, Any] | None = None
    envelope_problem: str | None = None


@dataclass(frozen=True, slots=True)
class ApprovalCheck:
    """One signature of an approval, judged."""

    keyid: str
    owner: str | None
    valid: bool
    why: str

    def describe(self) -> dict[str, Any]:
        return {"keyid": self.keyid, "owner": self.owner, "valid": self.valid, "why": self.why}


@dataclass(frozen=True, slots=True)
class Decision:
    """Whether a relaxation applies, and why (not)."""

    relaxation: Relaxation
    approved: bool
    why: str
    checks: tuple[ApprovalCheck, ...] = ()

    @property
    def approvers(self) -> str:
        """Who approved, as the report shows it: key owners and key ids."""
        return ", ".join(f"{c.owner or 'unnamed key'} ({c.keyid[:12]})" for c in self.checks if c.valid)

    def describe(self) -> dict[str, Any]:
        r = self.relaxation
        return {
            "kind": r.kind,
            "source": r.source,
            "digest": r.digest,
            "rules": list(r.rules),
            "status": "approved" if self.approved else "refused",
            "why": self.why,
            "approvals": [c.describe() for c in self.checks],
            "envelope": r.envelope,
        }


@dataclass(frozen=True, slots=True)
class Vouched:
    """Relaxations something trusted vouched for: the pinned baseline (its own
    waivers) or enough approvers' signatures. The waiver stage takes only
    this; :func:`checker.relax.decide.vouched` is what builds it."""

    waivers: tuple[Waiver, ...] = ()
    break_glass: BreakGlass | None = None
