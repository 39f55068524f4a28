"""Calling windows in the contact's time zone, across zones and daylight-saving changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from controller.programs.model import parse_spec
from controller.programs.windows import is_open, next_open

WEEKDAYS_9_TO_19 = parse_spec(
    {
        "name": "n",
        "flow": "f",
        "timezone": "UTC",
        "window": {
            "days": ["mon", "tue", "wed", "thu", "fri"],
            "hours": ["09:00-12:30", "14:00-19:00"],
            "excludedDates": ["2026-12-25"],
        },
    }
).window
PARIS, NEW_YORK, CASA, TOKYO = (
    ZoneInfo(name)
    for name in ("Europe/Paris", "America/New_York", "Africa/Casablanca", "Asia/Tokyo")
)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def test_one_instant_is_open_in_one_zone_and_closed_in_another() -> None:
    # Wednesday 2026-11-25 08:30 UTC: 09:30 in Paris, 03:30 in New York, 17:30 in Tokyo.
    at = utc(2026, 11, 25, 8, 30)
    assert is_open(WEEKDAYS_9_TO_19, PARIS, at)
    assert not is_open(WEEKDAYS_9_TO_19, NEW_YORK, at)
    assert is_open(WEEKDAYS_9_TO_19, TOKYO, at)
    assert next_open(WEEKDAYS_9_TO_19, NEW_YORK, at) == utc(2026, 11, 25, 14, 0)  # 09:00 EST


def test_hours_days_lunch_break_and_excluded_dates() -> None:
    assert not is_open(WEEKDAYS_9_TO_19, PARIS, utc(2026, 11, 25, 12, 0))  # 13:00, lunch
    assert next_open(WEEKDAYS_9_TO_19, PARIS, utc(2026, 11, 25, 12, 0)) == utc(2026, 11, 25, 13)
    assert not is_open(WEEKDAYS_9_TO_19, PARIS, utc(2026, 11, 25, 18, 0))  # 19:00: closed
    # Friday evening -> Monday 09:00.
    assert next_open(WEEKDAYS_9_TO_19, PARIS, utc(2026, 11, 27, 18, 30)) == utc(2026, 11, 30, 8)
    # Christmas (a Friday) is excluded; Thursday 19:00 -> Monday 28th.
    assert next_open(WEEKDAYS_9_TO_19, PARIS, utc(2026, 12, 24, 18)) == utc(2026, 12, 28, 8)


def test_the_contacts_local_day_decides_not_utcs() -> None:
    # Friday 2026-11-27 23:30 UTC is already Saturday 08:30 in Tokyo: closed all weekend there.
    at = utc(2026, 11, 27, 23, 30)
    assert not is_open(WEEKDAYS_9_TO_19, TOKYO, at)
    assert next_open(WEEKDAYS_9_TO_19, TOKYO, at) == utc(2026, 11, 30, 0)  # Mon 09:00 JST


def test_the_window_keeps_local_hours_across_the_spring_change() -> None:
    # Paris moves to CEST on Sunday 2026-03-29; Monday 30th 09:00 local is 07:00 UTC, while
    # the Friday before it was 08:00 UTC.
    assert next_open(WEEKDAYS_9_TO_19, PARIS, utc(2026, 3, 27, 6)) == utc(2026, 3, 27, 8)
    assert next_open(WEEKDAYS_9_TO_19, PARIS, utc(2026, 3, 27, 18)) == utc(2026, 3, 30, 7)
    assert not is_open(WEEKDAYS_9_TO_19, PARIS, utc(2026, 3, 30, 6, 59))
    assert is_open(WEEKDAYS_9_TO_19, PARIS, utc(2026, 3, 30, 7, 0))
    # New York changes on a different date (2026-03-08): 09:00 EDT is 13:00 UTC.
    assert next_open(WEEKDAYS_9_TO_19, NEW_YORK, utc(2026, 3, 7, 1)) == utc(2026, 3, 9, 13)


def test_a_window_starting_in_the_skipped_hour_opens_when_the_clock_jumps() -> None:
    night = parse_spec(
        {"name": "n", "flow": "f", "timezone": "UTC", "window": {"hours": ["02:30-04:00"]}}
    ).window
    # 2026-03-29 02:30 does not exist in Paris: clocks go from 02:00 CET to 03:00 CEST.
    opened = next_open(night, PARIS, utc(2026, 3, 28, 12))
    assert opened == utc(2026, 3, 29, 1, 0)  # 03:00 CEST, the first instant after 02:30
    assert opened.astimezone(PARIS).time() == time(3, 0)


def test_the_repeated_hour_in_autumn_opens_at_its_first_occurrence() -> None:
    night = parse_spec(
        {"name": "n", "flow": "f", "timezone": "UTC", "window": {"hours": ["02:30-04:00"]}}
    ).window
    # 2026-10-25: 02:30 happens twice in Paris (CEST, then CET); the first is 00:30 UTC.
    assert next_open(night, PARIS, utc(2026, 10, 24, 12)) == utc(2026, 10, 25, 0, 30)
    assert is_open(night, PARIS, utc(2026, 10, 25, 1, 45))  # 02:45 CET, second time round


def test_a_window_that_never_opens() -> None:
    mondays = [date(2026, 11, 30) + timedelta(days=7 * week) for week in range(60)]
    spec = {"name": "n", "flow": "f", "timezone": "UTC", "window": {"days": ["mon"]}}
    window = parse_spec(spec).window
    assert next_open(window, CASA, utc(2026, 11, 25)) == utc(2026, 11, 30, 0) - timedelta(hours=1)
    spec["window"]["excludedDates"] = [day.isoformat() for day in mondays]
    assert next_open(parse_spec(spec).window, CASA, utc(2026, 11, 25)) is None


@pytest.mark.parametrize("zone", [PARIS, NEW_YORK, CASA, TOKYO])
def test_next_open_is_always_open_and_never_earlier(zone: ZoneInfo) -> None:
    start = utc(2026, 3, 1)
    for hour in range(0, 24 * 60, 7):  # two months in 7-hour steps, across DST changes
        at = start + timedelta(hours=hour)
        opened = next_open(WEEKDAYS_9_TO_19, zone, at)
        assert opened is not None and opened >= at
        assert is_open(WEEKDAYS_9_TO_19, zone, opened)
