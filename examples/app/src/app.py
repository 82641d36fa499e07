"""Create an order: the handler behind POST /orders."""

from __future__ import annotations

import json
import os
import uuid
from typing import Any


def build_order(body: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(body.get("items"), list) or not body["items"]:
        raise ValueError("an order needs at least one item")
    return {"orderId": str(uuid.uuid4()), "items": body["items"], "status": "NEW"}


def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    import boto3  # provided by the Lambda runtime

    try:
        order = build_order(json.loads(event.get("body") or "{}"))
    except ValueError as exc:
        return {"statusCode": 400, "body": json.dumps({"error": str(exc)})}
    boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"]).put_item(Item=order)
    return {"statusCode": 201, "body": json.dumps(order)}
