"""The environments stacks are deployed to: policies may be stricter for some
(``environments:`` on a rule), ``checker check --env`` names one, and
``checker verify --env`` requires it."""

from __future__ import annotations

ENVIRONMENTS: tuple[str, ...] = ("dev", "staging", "prod")
