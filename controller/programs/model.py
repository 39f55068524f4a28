"""A program's specification: which flow, when to call, how fast, and when to call again.

Read from a YAML or JSON document (`callflow program create --spec FILE`), e.g.

    name: March reminders
    flow: payment-reminder
    defaultCountry: MA              # numbers without a country code are Moroccan
    timezone: Africa/Casablanca     # for contacts without a `timezone` column
    window:
      days: [mon, tue, wed, thu, fri]
      hours: ["09:00-12:30", "14:00-19:00"]
      excludedDates: ["2026-12-25"]
    pacing: {maxConcurrent: 10, callsPerSecond: 2, gatewayLimits: {gw1: 5}}
    retries:
      busy: {after: 10m, times: 3}
      no_answer: {after: 30m, times: 2}
      voicemail: never
    maxAttempts: 4

Every problem is a `SpecError` naming the field. The parsed `ProgramSpec` is stored as JSON
(`as_dict`) so a restarted controller runs the program by exactly the same rules.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import date, time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers

# What an attempt came to (bounded: these are metric labels and retry rule keys).
OUTCOMES = (
    "completed",  # answered by a person and the flow ended with result `completed`
    "answered",  # answered by a person, the flow ended otherwise (hung up, no response...)
    "voicemail",  # answered by a machine
    "busy",
    "no_answer",
    "rejected",
    "failed",  # any other dial failure (unallocated number, network...)
    "throttled",  # refused by FreeSWITCH's sessions-per-second limit: never reached anyone
    "error",  # the flow failed before dialling (a bad number, a missing flow version...)
    "unknown",  # the controller stopped (crash) while dialling and no record was found
)
# A contact's final disposition: its last outcome, or one of these.
# no_window: the calling window does not open again (only excluded dates left).
DISPOSITIONS = (*OUTCOMES, "dnc", "cancelled", "no_window")
PROGRAM_STATES = ("created", "running", "paused", "cancelled", "completed")

DEFAULT_RETRIES: dict[str, dict[str, Any] | None] = {
    "busy": {"after": 600, "times": 3},
    "no_answer": {"after": 1800, "times": 2},
    "failed": {"after": 3600, "times": 1},
    "throttled": {"after": 30, "times": 5},
    "error": None,
    "completed": None,
    "answered": None,
    "voicemail": None,
    "rejected": None,
    # A crash while dialling: the person may have been called. Never again unless a rule says.
    "unknown": None,
}
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*(s|m|h|d)?$")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}
_HOURS = re.compile(r"^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_GATEWAY = re.compile(r"^[A-Za-z0-9_.-]+$")


# Upper bounds: every duration and count has one, so no specification can overflow a date
# (`after: 1e300` made /results answer 500 for good) or ask for more than a controller does.
MAX_DURATION = 90 * 86400.0  # seconds: a retry at most 90 days after the attempt
MAX_TIMES = 100  # retries of one outcome; maxAttempts
MAX_CONCURRENT = 10_000  # calls of one program (and of one gateway) at once
MAX_CALLS_PER_SECOND = 1_000.0
MAX_LIST = 1_000  # window hours and excluded dates


class SpecError(ValueError):
    """A program specification that cannot be used; the message names the field."""


def _at_most(value: float, maximum: float, where: str, stored: bool) -> float:
    """`value`, refused above `maximum` — or, for a specification stored by an earlier
    version (which had no bounds), brought down to it so the program still reads and runs."""
    if value <= maximum:
        return value
    if stored:
        return maximum
    raise SpecError(f"{where}: at most {_shown(maximum)}, not {_shown(value)}")


def _shown(number: float) -> str:
    return str(int(number)) if float(number).is_integer() and abs(number) < 1e15 else f"{number:g}"


@dataclass(frozen=True, slots=True)
class RetryRule:
    after: float  # seconds from the end of the attempt
    times: int  # how many times this outcome may be retried


@dataclass(frozen=True, slots=True)
class Window:
    days: frozenset[int] = frozenset(range(7))  # 0 = Monday
    hours: tuple[tuple[time, time | None], ...] = ((time(0, 0), None),)  # None: midnight
    excluded: frozenset[date] = frozenset()


@dataclass(frozen=True, slots=True)
class Pacing:
    max_concurrent: int = 10
    calls_per_second: float = 1.0
    gateway_limits: dict[str, int] = field(default_factory=dict)  # gateway -> concurrent


@dataclass(frozen=True, slots=True)
class ProgramSpec:
    name: str
    flow: str
    timezone: str
    default_country: str = "US"
    window: Window = field(default_factory=Window)
    pacing: Pacing = field(default_factory=Pacing)
    retries: dict[str, RetryRule | None] = field(default_factory=dict)
    max_attempts: int = 5
    raw: dict[str, Any] = field(default_factory=dict)  # the document it was read from

    def retry_rule(self, outcome: str) -> RetryRule | None:
        return self.retries.get(outcome)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.raw)


def parse_duration(value: Any, where: str, *, stored: bool = False) -> float:
    """Seconds, from a number or text like 90, 30s, 10m, 2h, 1d; at most MAX_DURATION."""
    if isinstance(value, bool):
        raise SpecError(f"{where}: {value!r} is not a duration")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        match = _DURATION.match(str(value).strip())
        if not match:
            shown = str(value)[:40]
            raise SpecError(f"{where}: {shown!r} is not a duration (e.g. 90, 30s, 10m, 2h)")
        seconds = float(match.group(1)) * _UNIT[match.group(2)]
    if math.isnan(seconds):
        raise SpecError(f"{where}: not a number")
    if seconds < 0:
        raise SpecError(f"{where}: a duration cannot be negative")
    return _at_most(seconds, MAX_DURATION, f"{where} (seconds; 90d)", stored)


def check_timezone(name: Any, where: str) -> ZoneInfo:
    try:
        return ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError):
        raise SpecError(f"{where}: {name!r} is not a time zone (e.g. Europe/Paris)") from None


def _window(data: Any) -> Window:
    if data is None:
        return Window()
    if not isinstance(data, dict):
        raise SpecError("window: must be a mapping with days, hours, excludedDates")
    _only(data, ("days", "hours", "excludedDates"), "window")
    days = frozenset(range(7))
    if "days" in data:
        try:
            days = frozenset(DAYS.index(str(day).lower()[:3]) for day in data["days"])
        except (ValueError, TypeError):
            raise SpecError(f"window.days: use {', '.join(DAYS)}") from None
    hours: list[tuple[time, time | None]] = []
    for name in ("hours", "excludedDates"):
        if len(data.get(name) or ()) > MAX_LIST:
            raise SpecError(f"window.{name}: at most {MAX_LIST} entries")
    for index, text in enumerate(data.get("hours") or ["00:00-24:00"]):
        match = _HOURS.match(str(text).strip())
        where = f"window.hours[{index}]"
        if not match:
            raise SpecError(f"{where}: {text!r} is not HH:MM-HH:MM")
        h1, m1, h2, m2 = (int(part) for part in match.groups())
        if h1 > 23 or m1 > 59 or h2 > 24 or m2 > 59 or (h2 == 24 and m2):
            raise SpecError(f"{where}: {text!r} is not a time of day")
        start, end = time(h1, m1), None if h2 == 24 else time(h2, m2)
        if end is not None and end <= start:
            raise SpecError(f"{where}: {text!r} ends before it starts")
        hours.append((start, end))
    excluded = set()
    for index, text in enumerate(data.get("excludedDates") or []):
        try:
            excluded.add(date.fromisoformat(str(text)))
        except ValueError:
            raise SpecError(f"window.excludedDates[{index}]: {text!r} is not YYYY-MM-DD") from None
    return Window(days, tuple(hours), frozenset(excluded))


def _pacing(data: Any, sps_limit: float | None, stored: bool) -> Pacing:
    data = {} if data is None else data
    if not isinstance(data, dict):
        raise SpecError("pacing: must be a mapping")
    _only(data, ("maxConcurrent", "callsPerSecond", "gatewayLimits"), "pacing")
    concurrent = data.get("maxConcurrent", 10)
    if not isinstance(concurrent, int) or isinstance(concurrent, bool) or concurrent < 1:
        raise SpecError("pacing.maxConcurrent: must be a whole number of at least 1")
    concurrent = int(_at_most(concurrent, MAX_CONCURRENT, "pacing.maxConcurrent", stored))
    rate = data.get("callsPerSecond", 1.0)
    if isinstance(rate, bool) or not isinstance(rate, int | float) or not rate > 0:
        raise SpecError("pacing.callsPerSecond: must be a number above 0")
    rate = _at_most(float(rate), MAX_CALLS_PER_SECOND, "pacing.callsPerSecond", stored)
    if sps_limit is not None and rate > sps_limit:
        raise SpecError(
            f"pacing.callsPerSecond: {rate:g} is more than {sps_limit:g}, the dial rate kept "
            "below FreeSWITCH's sessions-per-second (setting freeswitch_sps)"
        )
    limits = dict(data.get("gatewayLimits") or {})
    if not isinstance(data.get("gatewayLimits") or {}, dict):
        raise SpecError("pacing.gatewayLimits: must map gateway names to concurrent calls")
    for name, limit in limits.items():
        if not _GATEWAY.match(str(name)) or not isinstance(limit, int) or limit < 1:
            raise SpecError(f"pacing.gatewayLimits.{name}: must be a whole number of at least 1")
        limits[name] = int(_at_most(limit, MAX_CONCURRENT, f"pacing.gatewayLimits.{name}", stored))
    return Pacing(concurrent, float(rate), {str(k): int(v) for k, v in limits.items()})


def _retries(data: Any, stored: bool) -> dict[str, RetryRule | None]:
    data = {} if data is None else data
    if not isinstance(data, dict):
        raise SpecError("retries: must map outcomes to {after, times} or never")
    merged: dict[str, Any] = {**DEFAULT_RETRIES, **data}
    rules: dict[str, RetryRule | None] = {}
    for outcome, rule in merged.items():
        where = f"retries.{outcome}"
        if outcome not in OUTCOMES:
            raise SpecError(f"{where}: unknown outcome; outcomes are {', '.join(OUTCOMES)}")
        if rule in (None, "never", False, 0):
            rules[outcome] = None
            continue
        if not isinstance(rule, dict) or set(rule) - {"after", "times"}:
            raise SpecError(f"{where}: must be never or {{after: 10m, times: 3}}")
        times = rule.get("times", 1)
        if not isinstance(times, int) or isinstance(times, bool) or times < 0:
            raise SpecError(f"{where}.times: must be a whole number")
        times = int(_at_most(times, MAX_TIMES, f"{where}.times", stored))
        after = parse_duration(rule.get("after", 0), f"{where}.after", stored=stored)
        rules[outcome] = RetryRule(after, times)
    return rules


def _only(data: dict[str, Any], allowed: tuple[str, ...], where: str) -> None:
    for key in data:
        if key not in allowed:
            raise SpecError(f"{where}: unknown field {key!r}; allowed: {', '.join(allowed)}")


SPEC_FIELDS = (
    "name",
    "flow",
    "timezone",
    "defaultCountry",
    "window",
    "pacing",
    "retries",
    "maxAttempts",
)


def parse_spec(data: Any, *, sps_limit: float | None = None, stored: bool = False) -> ProgramSpec:
    """A `ProgramSpec` from a YAML/JSON document; `SpecError` naming the field otherwise.
    `stored`: read back from a store, where an earlier version may have kept values over
    today's bounds: those are brought down to the bound instead of refused."""
    if not isinstance(data, dict):
        raise SpecError("a program must be a mapping (name, flow, timezone, ...)")
    _only(data, SPEC_FIELDS, "program")
    for required in ("name", "flow", "timezone"):
        if not data.get(required):
            raise SpecError(f"{required}: required")
        if not isinstance(data[required], str):
            raise SpecError(f"{required}: must be text, not {data[required]!r}"[:200])
    flow = str(data["flow"])
    if not _ID.fullmatch(flow):
        raise SpecError(f"flow: {flow!r} is not a flow id")
    check_timezone(data["timezone"], "timezone")
    country = str(data.get("defaultCountry", "US")).upper()
    if country not in phonenumbers.SUPPORTED_REGIONS:
        raise SpecError(f"defaultCountry: {country!r} is not a two-letter region code (e.g. FR)")
    attempts = data.get("maxAttempts", 5)
    if not isinstance(attempts, int) or isinstance(attempts, bool) or attempts < 1:
        raise SpecError("maxAttempts: must be a whole number of at least 1")
    attempts = int(_at_most(attempts, MAX_TIMES, "maxAttempts", stored))
    return ProgramSpec(
        name=str(data["name"]),
        flow=flow,
        timezone=str(data["timezone"]),
        default_country=country,
        window=_window(data.get("window")),
        pacing=_pacing(data.get("pacing"), sps_limit, stored),
        retries=_retries(data.get("retries"), stored),
        max_attempts=attempts,
        raw=dict(data),
    )


def check_program_id(text: str) -> str:
    if not _ID.fullmatch(text):
        raise SpecError(f"program id {text!r}: use letters, digits, '.', '_' and '-' (at most 64)")
    return text
