"""Relaxations: everything that lets a finding through without a fix.

There are five sources, one concept. Waivers written in the organization's
baseline are trusted because the baseline is pinned by digest. Everything
else comes from the team's side and is untrusted until approvers named in
the baseline have signed it: a waiver set (``.checker-waivers.yml``), the
inline waivers of one template, an adoption baseline
(``.checker-baseline.yml``) and a break-glass record. Each lives in a file of
its own, with its approval beside it (``FILE.approval.dsse.json``).

- :mod:`checker.relax.waivers`: the waiver model and the pure stage that
  applies waivers to findings.
- :mod:`checker.relax.sources`: one parser per source, each returning a
  :class:`~checker.relax.model.Relaxation`.
- :mod:`checker.relax.approvers`: the baseline's ``approvers`` section.
- :mod:`checker.relax.approval`: approval envelopes (DSSE): the statement
  an approver signs, writing and checking signatures.
- :mod:`checker.relax.decide`: the one place that decides whether a
  relaxation applies, and says why not.
"""
