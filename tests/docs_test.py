from __future__ import annotations

from pathlib import Path

from checker.docs import render_catalogue
from checker.registry import load_registry

DOCS = Path(__file__).resolve().parent.parent / "docs" / "rules.md"


def test_rule_catalogue_doc_is_fresh() -> None:
    # Regenerate with: checker rules docs --output docs/rules.md
    assert DOCS.read_text(encoding="utf-8") == render_catalogue(load_registry())
