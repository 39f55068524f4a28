"""Program specifications: defaults, parsing, and errors that name the field."""

from __future__ import annotations

from datetime import date, time
from pathlib import Path

import pytest
import yaml

from controller.programs.model import RetryRule, SpecError, parse_spec

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "programs"


def test_the_example_specification() -> None:
    spec = parse_spec(yaml.safe_load((FIXTURES / "reminders.yaml").read_text()))
    assert spec.flow == "payment-reminder" and spec.default_country == "MA"
    assert spec.window.days == frozenset(range(5))
    assert spec.window.hours == ((time(9), time(12, 30)), (time(14), time(19)))
    assert spec.window.excluded == frozenset({date(2026, 12, 25)})
    assert spec.pacing.max_concurrent == 4 and spec.pacing.gateway_limits == {"gw1": 3}
    assert spec.retry_rule("busy") == RetryRule(600, 3)
    assert spec.retry_rule("no_answer") == RetryRule(1800, 1)
    assert spec.retry_rule("voicemail") is None and spec.retry_rule("completed") is None
    assert spec.retry_rule("unknown") is None  # a crash while dialling: never again by default
    assert spec.max_attempts == 4


BASE = {"name": "n", "flow": "f", "timezone": "UTC"}


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"timezone": "Europe/Atlantis"}, "timezone: 'Europe/Atlantis' is not a time zone"),
        ({"flow": None}, "flow: required"),
        ({"defaultCountry": "XX"}, "defaultCountry: 'XX'"),
        ({"window": {"hours": ["18:00-09:00"]}}, r"window.hours\[0\]: .* ends before"),
        ({"window": {"days": ["funday"]}}, "window.days"),
        ({"window": {"excludedDates": ["25/12"]}}, r"excludedDates\[0\]"),
        ({"pacing": {"maxConcurrent": 0}}, "pacing.maxConcurrent"),
        ({"pacing": {"callsPerSecond": 50}}, "more than 24, the dial rate"),
        ({"retries": {"busy": {"after": "soon"}}}, "retries.busy.after"),
        ({"retries": {"bored": "never"}}, "retries.bored: unknown outcome"),
        ({"maxAttempts": 0}, "maxAttempts"),
        ({"colour": "red"}, "unknown field 'colour'"),
    ],
)
def test_errors_name_the_field(extra: dict, message: str) -> None:
    with pytest.raises(SpecError, match=message):
        parse_spec({**BASE, **extra}, sps_limit=24)


def test_never_and_durations() -> None:
    spec = parse_spec({**BASE, "retries": {"busy": "never", "answered": {"after": "2h"}}})
    assert spec.retry_rule("busy") is None
    assert spec.retry_rule("answered") == RetryRule(7200, 1)
    assert spec.window.hours == ((time(0), None),)  # all day, every day
