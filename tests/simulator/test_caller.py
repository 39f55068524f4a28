"""Caller scripts: the compact CLI grammar, the YAML form, and the run-time timeline."""

from __future__ import annotations

import pytest

from controller.simulator import CallerScript
from controller.simulator.caller import CallerTimeline, Step, parse_duration


@pytest.mark.parametrize(
    ("text", "steps", "hangup_after"),
    [
        ("press 1 after 2s", [Step("press", "1", 2.0)], None),
        ("press 5; silent", [Step("press", "5"), Step("silent")], None),
        ("silent", [Step("silent")], None),
        ("speak 3s; hangup", [Step("speak", duration=3.0), Step("hangup")], None),
        ("press 12# after 0.5s", [Step("press", "12#", 0.5)], None),
        ("press 1 during playback", [Step("press", "1", during_playback=True)], None),
        ("hangup after 4s", [], 4.0),
        ("press 1 after 500ms\nhangup after 30", [Step("press", "1", 0.5)], 30.0),
        ("", [], None),
    ],
)
def test_the_compact_form(text: str, steps: list[Step], hangup_after: float | None) -> None:
    script = CallerScript.parse(text)
    assert list(script.steps) == steps
    assert script.hangup_after == hangup_after


def test_press_at_is_a_call_timer_not_a_step() -> None:
    script = CallerScript.parse("press 123# at 1.5s; silent")
    assert script.presses_at == ((1.5, "123#"),)
    assert list(script.steps) == [Step("silent")]


def test_the_yaml_form_takes_mappings_and_strings() -> None:
    script = CallerScript.from_data(
        [
            {"press": "1", "after": "2s"},
            {"press": 5, "during": "playback"},
            "silent",
            {"speak": 3},
            {"silent": True},
            {"hangup": True},
            {"hangup": {"after": "40s"}},
        ]
    )
    assert list(script.steps) == [
        Step("press", "1", 2.0),
        Step("press", "5", during_playback=True),
        Step("silent"),
        Step("speak", duration=3.0),
        Step("silent"),
        Step("hangup"),
    ]
    assert script.hangup_after == 40.0
    assert CallerScript.from_data(None) == CallerScript()
    assert CallerScript.from_data({"hangup_after": 2}).hangup_after == 2.0
    assert CallerScript.from_data(script) is script


def test_the_text_form_round_trips() -> None:
    text = "press 12# after 0.5s; press 1 during playback; speak 3s; hangup; hangup after 4s"
    assert CallerScript.parse(str(CallerScript.parse(text))) == CallerScript.parse(text)
    assert str(CallerScript()) == "silent"


@pytest.mark.parametrize(
    "text",
    ["press", "press x", "press 1 after", "press 1 soon", "jump", "speak", "speak loud",
     "hangup after 1s; hangup after 2s", "press 1 at 1s during playback", "silent now"],
)  # fmt: skip
def test_mistakes_are_reported(text: str) -> None:
    with pytest.raises(ValueError):
        CallerScript.parse(text)


def test_durations() -> None:
    assert parse_duration("2s") == 2.0
    assert parse_duration("500ms") == 0.5
    assert parse_duration(".5") == 0.5
    assert parse_duration(3) == 3.0
    for bad in ("-1s", "1h", True, "s"):
        with pytest.raises(ValueError):
            parse_duration(bad)


def test_the_timeline_schedules_digits_from_the_app_start() -> None:
    timeline = CallerTimeline(CallerScript.parse("press 12 after 1s; speak 2s"), start=100.0)
    assert timeline.next_time() is None
    assert timeline.apply(timeline.take_input_step(), 200.0) is False
    assert timeline.next_time() == 201.0
    assert timeline.pop_due(200.9) is None
    assert timeline.pop_due(201.0) == "1"
    assert timeline.pop_due(201.1) is None  # 150 ms between digits
    assert timeline.pop_due(201.2) == "2"
    timeline.apply(timeline.take_input_step(), 300.0)
    assert timeline.speech_between(299.0, 301.0) == 1.0
    assert timeline.silence_done(300.0, 2.0) == 304.0
    assert timeline.take_input_step() is None  # exhausted: silent


def test_the_timeline_hangs_up_and_types_at_call_times() -> None:
    timeline = CallerTimeline(CallerScript.parse("press 9 at 1s; hangup after 2s"), start=10.0)
    assert timeline.next_time() == 11.0
    assert timeline.next_time(digits=False) == 12.0
    assert timeline.pop_due(11.0, digits=False) is None
    assert timeline.pop_due(12.0) == "9"  # the earlier one first
    assert timeline.pop_due(12.0) == "hangup"
    assert timeline.next_time() is None


def test_a_hangup_step_hangs_up_at_the_start_of_the_next_input_app() -> None:
    timeline = CallerTimeline(CallerScript.parse("press 1 during playback; hangup"), start=0.0)
    assert timeline.take_playback_step() == Step("press", "1", during_playback=True)
    assert timeline.take_playback_step() is None  # only "during playback" steps
    assert timeline.apply(timeline.take_input_step(), 5.0) is True
