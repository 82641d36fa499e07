"""Times at the edge: offsets are converted to UTC, never dropped."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from checker.times import parse_time, utc_text


def test_an_offset_is_converted_not_dropped() -> None:
    moment = parse_time("2026-12-31T10:00:00+02:00")
    assert moment is not None and utc_text(moment) == "2026-12-31T08:00:00Z"


def test_a_date_means_its_start_or_as_an_expiry_its_last_second() -> None:
    assert parse_time("2026-12-31") == datetime(2026, 12, 31, tzinfo=UTC)
    assert utc_text(parse_time("2026-12-31", date_is_end_of_day=True)) == "2026-12-31T23:59:59Z"  # type: ignore[arg-type]


@pytest.mark.parametrize("value", ["tomorrow", "2026-13-01", "", 5, None, "99999-01-01T00:00:00Z"])
def test_what_is_not_a_time_is_none(value: object) -> None:
    assert parse_time(value) is None
