"""Calling windows, read in the contact's own time zone.

A window is days of the week, hours of the day (`[start, end)`, local wall-clock time) and
excluded dates. Everything is decided on the local wall clock of the contact's zone, so a
window of 09:00-19:00 stays 09:00-19:00 across a daylight-saving change: on the day clocks
go forward the window simply starts at the same local hour, and a start that falls in the
skipped hour opens at the first instant that exists after it.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from controller.programs.model import Window

SEARCH_DAYS = 400  # a window that never opens within this is reported as never


def _contains(window: Window, local: datetime) -> bool:
    if local.weekday() not in window.days or local.date() in window.excluded:
        return False
    now = local.time()
    return any(start <= now and (end is None or now < end) for start, end in window.hours)


def is_open(window: Window, zone: ZoneInfo, at: datetime) -> bool:
    """Whether a call may start at `at` (an aware datetime) for a contact in `zone`."""
    return _contains(window, at.astimezone(zone))


def _instant(day: datetime, start: time, zone: ZoneInfo) -> datetime:
    """The first real instant at or after local `day` + `start`, in UTC. An ambiguous time
    (clocks back) is its first occurrence; a time in a gap (clocks forward) does not exist,
    and the window opens at the end of the gap, when the local clock jumps past `start`."""
    local = datetime.combine(day.date(), start, tzinfo=zone)
    instant = local.astimezone(UTC)
    if instant.astimezone(zone).replace(tzinfo=None) == local.replace(tzinfo=None):
        return instant
    # In a gap, fold=0 reads the time with the offset before the change (an instant after
    # the gap) and fold=1 with the offset after it (an instant before the gap).
    low, high = local.replace(fold=1).astimezone(UTC), instant
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        if middle.astimezone(zone).time() >= start:
            high = middle
        else:
            low = middle
    return high.replace(microsecond=0)


def next_open(window: Window, zone: ZoneInfo, at: datetime) -> datetime | None:
    """The first instant at or after `at` when the window is open, in UTC; None if it does
    not open within SEARCH_DAYS (e.g. only excluded dates are left)."""
    if is_open(window, zone, at):
        return at.astimezone(UTC)
    local = at.astimezone(zone)
    for offset in range(SEARCH_DAYS):
        day = local + timedelta(days=offset)
        if day.weekday() not in window.days or day.date() in window.excluded:
            continue
        for start, _end in sorted(window.hours):
            instant = _instant(day, start, zone)
            if instant >= at and is_open(window, zone, instant):
                return instant
    return None
