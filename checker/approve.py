"""``checker approve``: an approver signs a relaxation from a team's repository.

The file is parsed exactly as a check parses it, so what is signed is the
digest the check will compute; the approver is shown what they sign (kind,
rules, how many waivers or findings, repository) before the envelope is
written beside the file.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

from checker.discovery import Candidate
from checker.engine import inline_suppressions
from checker.errors import InputError, UsageError
from checker.gate import display_path
from checker.loaders import LineDict, load_document
from checker.policy import Policy, default_policy_path, load_policy
from checker.provenance import git_text, normalize_repository
from checker.relax.approval import approval_path, approval_statement, load_envelope, sign_approval
from checker.relax.model import Relaxation
from checker.relax.sources import (
    ADOPTION_KIND,
    BREAK_GLASS_KIND,
    WAIVER_SET_KIND,
    inline_relaxation,
    read_adoption_baseline,
    read_break_glass,
    read_waiver_set,
)
from checker.ruleapi import Rule
from checker.templates import load_template
from checker.times import utc_text


def read_relaxation(
    path: Path, root: Path, policy: Policy, registry: Mapping[str, Rule], now: datetime
) -> Relaxation:
    """Whatever relaxation ``path`` holds, recognised by its content."""
    display = display_path(path, root)
    data = load_document(path, display)
    kind = data.get("kind") if isinstance(data, LineDict) else None
    days = policy.settings.max_waiver_days
    if kind == WAIVER_SET_KIND:
        return read_waiver_set(path, display, registry, days, now)
    if kind == ADOPTION_KIND:
        return read_adoption_baseline(path, display, registry, days, now)
    if kind == BREAK_GLASS_KIND or (isinstance(data, LineDict) and "incident" in data):
        return read_break_glass(path, display, policy.settings.break_glass_max_hours, now)
    if isinstance(data, LineDict) and "Resources" in data:
        template = load_template(Candidate(path, display, explicit=True))
        if template is None or template.error:
            raise InputError("cannot read the template", path=display)
        found = inline_suppressions(template)
        if not found:
            raise UsageError(f"{display} has no inline waivers (Metadata: checker: waivers) to approve")
        entries = [(item.resource, item.entry) for item in found]
        return inline_relaxation(display, entries, root, registry, days, now, {i.resource: i.body for i in found})
    raise UsageError(
        f"{display} is not a relaxation: expected a waiver set (kind: {WAIVER_SET_KIND}), an adoption "
        f"baseline (kind: {ADOPTION_KIND}), a break-glass record or a template with inline waivers"
    )


def approve(
    file: Path,
    *,
    root: Path,
    key: str,
    registry: Mapping[str, Rule],
    policies: Sequence[Path],
    repository: str | None,
    commit: str | None,
    environ: Mapping[str, str],
) -> str:
    """Sign ``file`` with ``key``; returns a summary of what was signed."""
    from checker.signing import load_signer

    if not file.is_file():
        raise UsageError(f"no such file: {file}")
    now = datetime.now(UTC)
    baseline = policies[0] if policies else default_policy_path()
    policy = load_policy([baseline], registry, [str(baseline)], now=now)
    relaxation = read_relaxation(file, root, policy, registry, now)
    remote = git_text(root, "config", "--get", "remote.origin.url")
    named = normalize_repository(repository or remote or "")
    if named is None:
        raise UsageError("cannot tell the repository: give --repository HOST/OWNER/NAME", hint="approvals name it")
    if relaxation.kind == "break-glass":
        commit = commit or git_text(root, "rev-parse", "HEAD")
        if not commit:
            raise UsageError("break-glass approvals name the commit they let through: give --commit SHA")
    statement = approval_statement(
        relaxation.kind, relaxation.source, relaxation.digest, relaxation.rules, named, commit
    )
    signer = load_signer(key, environ)
    target = approval_path(file)
    envelope = sign_approval(statement, signer, load_envelope(target))
    try:
        target.write_text(json.dumps(envelope, indent=2) + "\n", encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write {target}: {exc.strerror}") from None
    return "\n".join(
        [
            f"approved {relaxation.kind} {relaxation.source} ({relaxation.digest}) for {named}"
            + (f" at commit {commit}" if relaxation.kind == "break-glass" else "")
            + ":",
            *describe(relaxation),
            f"{target} now has {len(envelope['signatures'])} signature(s)",
        ]
    )


def describe(relaxation: Relaxation) -> list[str]:
    """What an approver signs, one line each: every waiver with its whole scope."""
    glass = relaxation.break_glass
    if glass is not None:
        return [f"  break-glass for incident {glass.incident} until {utc_text(glass.expires)}: {glass.reason}"]
    if not relaxation.waivers:
        return ["  (no waivers: nothing is relaxed)"]
    lines = []
    for waiver in relaxation.waivers:
        parts = (("template", waiver.template), ("resource", waiver.resource), ("element", waiver.element))
        scope = ", ".join(f"{name} {value!r}" for name, value in parts if value is not None)
        lines.append(
            f"  {waiver.rule} on {scope or 'every finding'} until {utc_text(waiver.expires)}: {waiver.reason}"
            + (f" [{waiver.ticket}]" if waiver.ticket else "")
        )
    return lines
