"""S3 locations for the ledger (ingest reads a prefix, export writes one),
through boto3, imported only when one is given."""

from __future__ import annotations

from typing import Any

from checker.errors import InputError


def location(url: str, client: Any = None) -> tuple[str, str, Any]:
    """(bucket, prefix, client) of ``s3://bucket/prefix``; the client is
    boto3's default unless one is given (tests pass moto's)."""
    bucket, _, prefix = url.removeprefix("s3://").partition("/")
    if not bucket:
        raise InputError(f"{url}: an S3 location is s3://bucket/prefix")
    if client is None:
        try:
            import boto3
        except ImportError:
            raise InputError("S3 needs boto3: pip install 'checker[kms]'") from None
        client = boto3.client("s3")
    return bucket, prefix, client
