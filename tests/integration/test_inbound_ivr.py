"""The example inbound IVR (flows/inbound-ivr.yaml), called the ways callers really call."""

from __future__ import annotations

from pathlib import Path

from support.harness import Harness

BALANCE = {"firstName": "Amina", "customAttributes": {"balance": 1250}}


def nodes(harness: Harness, record) -> list[str]:
    return [node for node, _ in harness.path(record)]


def test_press_2_leaves_a_message_that_is_kept(harness: Harness) -> None:
    record = harness.run("inbound-ivr", "press 2 after 1s; speak 3s")
    assert nodes(harness, record) == [
        "answer",
        "welcome",
        "menu",
        "record-intro",
        "record-message",
        "thanks",
        "hangup",
    ]
    assert record.result == "completed"
    [recording] = record.recordings
    assert Path(recording).is_file()
    assert record.variables["messagePath"] == recording
    assert record.variables["menuChoice"] == "2"


def test_press_0_asks_for_a_callback_exported_to_the_channel(harness: Harness) -> None:
    record = harness.run("inbound-ivr", "press 0")
    assert harness.path(record)[2:4] == [("menu", "branches.0"), ("callback-noted", "onSuccess")]
    assert record.variables["callbackRequested"] == "yes"


def test_three_silent_attempts_then_goodbye(harness: Harness) -> None:
    record = harness.run("inbound-ivr", "silent; silent; silent")
    assert harness.path(record)[2] == ("menu", "onMaxRetries")
    assert [d["attempt"] for d in record.digits] == [1, 2, 3]
    assert nodes(harness, record)[-2:] == ["goodbye", "hangup"]


def test_invalid_then_valid_choice(harness: Harness) -> None:
    record = harness.run("inbound-ivr", "press 9; press 0")
    assert [(d["digits"], d["invalid"]) for d in record.digits] == [(None, "9"), ("0", None)]
    assert harness.path(record)[2] == ("menu", "branches.0")


def test_press_1_without_a_known_balance_falls_back_to_a_message(harness: Harness) -> None:
    record = harness.run("inbound-ivr", "press 1; speak 1s")
    assert harness.path(record)[3] == ("has-balance", "onFalse")


def test_a_balance_that_cannot_be_spoken_takes_on_error(harness: Harness) -> None:
    # Data is not always what the flow expects: the play node takes onError (wired to
    # goodbye) and records why, instead of playing a number with a hole in it.
    unspeakable = {"customAttributes": {"balance": "n/a"}}
    record = harness.run("inbound-ivr", "press 1", contact=unspeakable)
    assert harness.path(record)[3:5] == [("has-balance", "onTrue"), ("say-balance", "onError")]
    assert "cannot speak number 'n/a' in 'fr'" in record.path[4].error
    assert "is not a number" in record.path[4].error


def test_caller_hangs_up_during_the_recording(harness: Harness) -> None:
    record = harness.run("inbound-ivr", "press 2; speak 2s", hangup_at="record-message")
    assert record.result == "caller_hangup"
    assert record.path[-1].nodeId == "record-message"
    assert record.path[-1].output == "hangup"
    assert record.hangupBy == "caller"


def test_caller_hangs_up_while_the_recording_runs(harness: Harness) -> None:
    # The hangup arrives in the middle of FreeSWITCH's record app: CHANNEL_HANGUP, the linger
    # notice, then RECORD_STOP and the app's completion (FINDINGS.md).
    record = harness.run("inbound-ivr", "press 2; hangup")
    assert record.path[-1].nodeId == "record-message"
    assert record.path[-1].output == "hangup"
    assert record.result == "caller_hangup"
    assert len(record.recordings) == 1
