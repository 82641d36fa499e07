"""Unit tests of the orders handler, run by the team's build with coverage."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import app


class _Table:
    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    def put_item(self, Item: dict[str, Any]) -> None:
        self.items.append(Item)


@pytest.fixture
def table(monkeypatch: pytest.MonkeyPatch) -> _Table:
    table = _Table()
    resource = types.SimpleNamespace(Table=lambda name: table)
    monkeypatch.setitem(sys.modules, "boto3", types.SimpleNamespace(resource=lambda service: resource))
    monkeypatch.setenv("TABLE_NAME", "orders")
    return table


def test_an_order_needs_items() -> None:
    with pytest.raises(ValueError):
        app.build_order({"items": []})


def test_handler_stores_the_order(table: _Table) -> None:
    response = app.handler({"body": json.dumps({"items": ["book"]})}, None)
    assert response["statusCode"] == 201
    assert table.items[0]["items"] == ["book"]


def test_handler_rejects_an_empty_order(table: _Table) -> None:
    response = app.handler({"body": "{}"}, None)
    assert response["statusCode"] == 400
    assert table.items == []
