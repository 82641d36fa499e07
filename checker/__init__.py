"""checker: a policy-as-code compliance gate for build stages."""

from __future__ import annotations

__version__ = "0.1.0"
