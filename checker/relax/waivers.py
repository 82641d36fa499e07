"""Waivers: explicit, owned, expiring exceptions, and the stage that applies them.

A waiver names a rule and a scope (template path glob, resource logical id
glob, and down to the offending element, matched exactly, so that waiving
``logs:PutLogEvents on *`` does not also waive ``s3:* on *``), with a reason, a ticket, an approver and
an expiry. An expired waiver no longer waives and is reported; one that
matches nothing is reported as unused. ``apply_waivers`` is pure: results
and waivers in, judged results and waiver states out.
"""

from __future__ import annotations

import fnmatch
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal

from checker.ruleapi import Finding
from checker.times import parse_time, utc_text

WaiverState = Literal["applied", "expired", "unused"]
# policy: written in the baseline; team: a waiver set; inline: a template's
# Metadata; baseline: an adoption baseline entry.
WaiverKind = Literal["policy", "team", "inline", "baseline"]


@dataclass(frozen=True, slots=True)
class Waiver:
    rule: str
    reason: str
    approved_by: str
    expires: datetime
    source: str  # file (and line) it came from
    id: str = ""
    ticket: str | None = None
    template: str | None = None  # glob on the template path
    resource: str | None = None  # glob on the logical id
    element: str | None = None  # the offending element, exactly
    kind: WaiverKind = "policy"
    fingerprint: str | None = None  # adoption baseline entries match by fingerprint alone
    relaxation: str = ""  # the team-side file that carried it; "" for the baseline's own

    def matches(self, rule: str, finding: Finding) -> bool:
        """Whether this waiver covers ``finding``. A finding on a template that
        untracked copies were judged as is covered only when the waiver covers
        it at every one of those paths (as it would have to without folding):
        content placed at a waived path cannot carry a waiver to the copy that
        is deployed. An inline waiver is part of the content, the same in every copy."""
        if rule != self.rule:
            return False
        loc = finding.location
        if not loc.copies or self.kind == "inline":
            return self._matches_at(rule, finding)
        return all(
            self._matches_at(rule, replace(finding, location=replace(loc, path=path, copies=())))
            for path in (loc.path, *loc.copies)
        )

    def _matches_at(self, rule: str, finding: Finding) -> bool:
        loc = finding.location
        # An adoption baseline entry matches by fingerprint and by what it shows.
        if self.fingerprint is not None and fingerprint(rule, finding) != self.fingerprint:
            return False
        if self.template and not fnmatch.fnmatchcase(loc.path, self.template):
            return False
        if self.resource and not fnmatch.fnmatchcase(loc.resource or "", self.resource):
            return False
        # Exact, not a glob: waiving "logs:PutLogEvents on *" must not reach "s3:* on *".
        return self.element is None or finding.element == self.element

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "kind": self.kind,
            "rule": self.rule,
            "reason": self.reason,
            "ticket": self.ticket,
            "approved_by": self.approved_by,
            "expires": utc_text(self.expires),
            "source": self.source,
        }
        if self.relaxation:
            out["relaxation"] = self.relaxation
        scope = {
            k: v
            for k, v in (("template", self.template), ("resource", self.resource), ("element", self.element))
            if v is not None
        }
        out["scope"] = scope
        return out


def waiver_id(rule: str, template: str | None, resource: str | None, element: str | None) -> str:
    """A stable id for a waiver without one: its rule and scope, hashed."""
    text = "\x1f".join([rule, template or "", resource or "", element or ""])
    return "W-" + hashlib.sha256(text.encode()).hexdigest()[:12]


def fingerprint(rule: str, finding: Finding) -> str:
    """What a baseline remembers of a finding: rule, file, resource and the
    offending element, but not the line, so a finding that moves keeps it."""
    loc = finding.location
    return fingerprint_of(rule, loc.path, loc.resource, finding.element or finding.message)


def fingerprint_of(rule: str, path: str, resource: str | None, element_or_message: str) -> str:
    text = "\x1f".join([rule, path, resource or "", element_or_message])
    return hashlib.sha256(text.encode()).hexdigest()


def parse_expiry(value: Any) -> datetime | None:
    """A date (through the end of that day, UTC) or an ISO 8601 time."""
    return parse_time(value, date_is_end_of_day=True)


@dataclass(frozen=True, slots=True)
class WaiverOutcome:
    waiver: Waiver
    state: WaiverState
    matched: int


@dataclass(frozen=True, slots=True)
class Judged:
    """A rule's findings after waivers: each with the id of the waiver that waived it, if any."""

    findings: tuple[tuple[Finding, str | None], ...]

    @property
    def open(self) -> list[Finding]:
        return [f for f, waived in self.findings if waived is None]


def apply_waivers(
    findings_by_rule: Mapping[str, Sequence[Finding]], waivers: Sequence[Waiver], now: datetime
) -> tuple[dict[str, Judged], list[WaiverOutcome]]:
    matched: dict[int, int] = {i: 0 for i in range(len(waivers))}
    judged: dict[str, Judged] = {}
    live = [(i, w) for i, w in enumerate(waivers) if w.expires >= now]
    for rule, findings in findings_by_rule.items():
        entries: list[tuple[Finding, str | None]] = []
        for finding in findings:
            hit = next(((i, w) for i, w in live if w.matches(rule, finding)), None)
            if hit is None:
                entries.append((finding, None))
            else:
                matched[hit[0]] += 1
                entries.append((finding, hit[1].id))
        judged[rule] = Judged(tuple(entries))
    outcomes = []
    for i, waiver in enumerate(waivers):
        if waiver.expires < now:
            state: WaiverState = "expired"
        else:
            state = "applied" if matched[i] else "unused"
        outcomes.append(WaiverOutcome(waiver, state, matched[i]))
    return judged, outcomes


def with_id(waiver: Waiver) -> Waiver:
    if waiver.id:
        return waiver
    return replace(waiver, id=waiver_id(waiver.rule, waiver.template, waiver.resource, waiver.element))
