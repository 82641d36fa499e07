"""Times at the edge: parsed into aware UTC datetimes, written as ``...Z``.

Every time checker reads (waiver expiries, keyring windows, report stamps)
goes through :func:`parse_time`, and every time it writes through
:func:`utc_text`, so an offset such as ``+02:00`` is converted, never dropped.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any


def utc_text(moment: datetime) -> str:
    """``2026-12-31T08:00:00Z`` for any aware time (naive times are taken as UTC)."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(value: Any, *, date_is_end_of_day: bool = False) -> datetime | None:
    """An ISO 8601 time (``Z`` or an offset; no offset means UTC), or a date:
    its start, or with ``date_is_end_of_day`` its last second (an expiry
    date means "through that day"). None when ``value`` is neither."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime.combine(value, time(23, 59, 59) if date_is_end_of_day else time(0), UTC)
    if not isinstance(value, str):
        return None
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            return datetime.combine(day, time(23, 59, 59) if date_is_end_of_day else time(0), UTC)
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except (ValueError, OverflowError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def outside_window(now: datetime, not_before: datetime | None, not_after: datetime | None) -> str | None:
    """Why a key is not valid at ``now`` ("is not valid before ...", "expired
    at ..."), or None.
    Keys (build, policy, approver) are judged at the moment of use, never at
    a time a signed document states about itself."""
    if not_before is not None and now < not_before:
        return f"is not valid before {utc_text(not_before)}"
    if not_after is not None and now > not_after:
        return f"expired at {utc_text(not_after)}"
    return None
