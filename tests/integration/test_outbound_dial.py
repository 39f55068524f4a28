"""Outbound calls: the dial node against the simulator's event socket and its callees."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import gevent
import pytest
import yaml
from gevent import subprocess as gsubprocess
from support.harness import DialHarness, build_dial_harness, close_dial_harness

from controller.simulator import Simulator
from controller.simulator import originate as originate_module
from controller.simulator.audio_timeline import AudioTimeline
from controller.simulator.callee import Callee

HUMAN = "speech 0.2-0.9; silence"
MACHINE = "speech 0-4.6 words 9; tone 4.6-5.6 1000Hz; silence"


@pytest.fixture
def dial(tmp_path: Path, flows_dir: Path) -> Iterator[DialHarness]:
    harness = build_dial_harness(tmp_path, flows_dir)
    try:
        yield harness
    finally:
        close_dial_harness(harness)


def nodes(record) -> list[str]:
    return [step.nodeId for step in record.path]


def test_payment_reminder_a_person_presses_1(dial: DialHarness) -> None:

    dial.simulator.add_callee(
        "0600000001", Callee.from_text("answer: press 1", audio=AudioTimeline.parse(HUMAN))
    )
    record = dial.call("payment-reminder")
    assert nodes(record) == [
        "dial-1",
        "play-greeting",
        "collect-response",
        "play-confirmed",
        "hangup-success",
    ]
    assert record.result == "completed"
    assert record.direction == "outbound"
    assert record.dial["amd"]["verdict"] == "human"
    assert record.variables["customerResponse"] == "1"
    assert record.callId == record.dial["uuid"]


def test_payment_reminder_an_answering_machine(dial: DialHarness) -> None:

    dial.simulator.add_callee(
        "0600000001", Callee.from_text("answer", audio=AudioTimeline.parse(MACHINE))
    )
    record = dial.call("payment-reminder")
    assert [(s.nodeId, s.output) for s in record.path][:1] == [("dial-1", "onVoicemail")]
    assert record.result == "voicemail"
    assert record.dial["amd"]["verdict"] == "machine"


@pytest.mark.parametrize(
    ("outcome", "result", "cause"),
    [
        ("busy", "busy", "USER_BUSY"),
        ("no_answer", "no_answer", "NO_ANSWER"),
        ("reject", "ended:dial-1:onRejected", "CALL_REJECTED"),  # the guide leaves it unwired
        ("unallocated", "error", "UNALLOCATED_NUMBER"),  # onError, unwired too
    ],
)
def test_payment_reminder_failed_dials(
    dial: DialHarness, outcome: str, result: str, cause: str
) -> None:
    dial.simulator.add_callee("0600000001", outcome)
    record = dial.call("payment-reminder")
    assert record.result == result
    assert record.dial["cause"] == cause
    assert record.recordings == [] and record.hangupCause is None  # there never was a call
    assert len(dial.written_records()) == 1


def test_a_contact_cannot_inject_into_the_originate(dial: DialHarness) -> None:
    record = dial.call("payment-reminder", to="0600},origination_caller_id_number=1,{")
    assert record.path[0].output == "onError"
    assert "not a phone number" in record.path[0].error
    assert record.dial is None  # nothing was sent to FreeSWITCH


def test_freeswitch_restarting_fails_the_dial_in_flight_then_dials_again(
    tmp_path: Path, flows_dir: Path
) -> None:
    # Real time here: the call must still be ringing when FreeSWITCH goes away.
    dial = build_dial_harness(
        tmp_path, flows_dir, simulator=Simulator(controller=("127.0.0.1", 9), clock="real")
    )
    try:
        dial.simulator.add_callee("0600000001", Callee.from_text("ring 20s"))

        def restart_when_dialling(_call: object, node: object) -> None:
            if getattr(node, "id", None) == "dial-1" and dial.watcher.hook is not None:
                dial.watcher.hook = None
                gevent.spawn_later(0.05, dial.simulator.restart_inbound, 0.2)

        dial.watcher.hook = restart_when_dialling
        record = dial.call("payment-reminder")
        assert record.path[0].output == "onError"
        assert "event socket" in record.path[0].error
        assert len(dial.written_records()) == 1
        assert dial.controller.esl.wait_connected(10)
        dial.simulator.add_callee("0600000001", "busy")
        assert dial.call("payment-reminder").result == "busy"
        assert dial.controller.esl.reconnects >= 1
    finally:
        close_dial_harness(dial)


def test_the_answered_call_lands_on_another_controller(tmp_path: Path, flows_dir: Path) -> None:

    first = build_dial_harness(tmp_path, flows_dir, name="a")
    second = build_dial_harness(tmp_path, flows_dir, name="b", simulator=first.simulator)
    try:
        first.simulator.add_callee(
            "0600000001", Callee.from_text("answer: press 2", audio=AudioTimeline.parse(HUMAN))
        )
        # FreeSWITCH hands the answered call to the second controller, as a load balancer would.
        first.controller.outbound.dialer.socket_address = second.controller.server.address
        assert first.call("payment-reminder") is None  # handed off: no record here
        [record] = [
            second.watcher.records_by_call[k].get(timeout=10)
            for k in second.watcher.records_by_call
        ]
    finally:
        close_dial_harness(second, close_simulator=False)
        close_dial_harness(first)
    assert nodes(record) == [
        "dial-1",
        "play-greeting",
        "collect-response",
        "play-callback",
        "hangup-success",
    ]
    assert record.variables["customerResponse"] == "2"
    assert first.written_records() == []


def test_an_answered_call_whose_socket_reaches_no_controller(dial: DialHarness) -> None:
    dial.simulator.add_callee("0600000001", "answer")
    dial.controller.outbound.dialer.socket_address = ("127.0.0.1", 9)  # nothing listens
    record = dial.call("payment-reminder")
    assert record.dial["cause"] == "SOCKET_NOT_CONNECTED"
    assert record.path[0].output == "onError"
    assert dial.controller.outbound.dialer.never_connected == 1


def test_callflow_call_places_one_call_against_the_simulator(tmp_path: Path) -> None:
    simulator = Simulator(controller=("127.0.0.1", 9))
    try:
        host, port = simulator.start_inbound()
        simulator.add_callee(
            "0600000001", Callee.from_text("answer: press 2", audio=AudioTimeline.parse(HUMAN))
        )
        result = gsubprocess.run(
            [
                sys.executable,
                "-m",
                "controller.cli",
                "call",
                "payment-reminder",
                "--to",
                "0600000001",
                "--esl",
                f"{host}:{port}",
                "--wait",
                "60",
            ],
            cwd=Path(__file__).resolve().parents[2],
            capture_output=True,
            text=True,
            timeout=90,
            check=False,
            env={
                **os.environ,
                "CALLFLOW_RECORDS": str(tmp_path / "c.jsonl"),
                "CALLFLOW_RECORDINGS": str(tmp_path / "rec"),
            },
        )
    finally:
        simulator.close()
    assert result.returncode == 0, result.stderr
    assert "dial-1 (dial): onAnswer -> play-greeting" in result.stdout
    assert "collect-response (dtmf): branches.2 -> play-callback" in result.stdout
    assert "result: completed" in result.stdout


@pytest.mark.parametrize("order", ["socket first", "job first"])
def test_the_socket_may_connect_before_or_after_the_background_job(
    dial: DialHarness, monkeypatch: pytest.MonkeyPatch, order: str
) -> None:
    dialer = dial.controller.outbound.dialer
    seen = {"job": False}
    original_claim = dialer.claim

    def claim(channel_uuid: str):
        attempt = original_claim(channel_uuid)
        if order == "job first":
            # Hold the socket back until FreeSWITCH's BACKGROUND_JOB has been read.
            for _ in range(200):
                if not dial.controller.esl._jobs:
                    seen["job"] = True
                    break
                gevent.sleep(0.01)
        return attempt

    monkeypatch.setattr(originate_module, "CONNECT_WAIT", {"simulated": 0.0, "real": 0.0})
    monkeypatch.setattr(dialer, "claim", claim)
    dial.simulator.add_callee(
        "0600000001", Callee.from_text("answer: press 1", audio=AudioTimeline.parse(HUMAN))
    )
    record = dial.call("payment-reminder")
    assert record.result == "completed"
    assert seen["job"] == (order == "job first")


def test_a_machine_with_wait_for_beep_hears_the_beep(dial: DialHarness) -> None:
    # all-nodes asks for amd.waitForBeep: the voicemail prompt starts after the beep.
    dial.simulator.add_callee(
        "0600000001", Callee.from_text("answer", audio=AudioTimeline.parse(MACHINE))
    )
    record = dial.call("all-nodes")
    assert record.path[0].output == "onVoicemail"
    amd = record.dial["amd"]
    assert amd["verdict"] == "machine"
    assert amd["beep"]["heard"] is True
    assert nodes(record)[1] == "voicemail"


def test_sessions_per_second_throttle_is_recorded_as_such(tmp_path: Path, flows_dir: Path) -> None:
    throttled = build_dial_harness(
        tmp_path, flows_dir, simulator=Simulator(controller=("127.0.0.1", 9), sessions_per_second=1)
    )
    try:
        throttled.simulator.add_callee("0600000001", "busy")
        results = [throttled.call("payment-reminder") for _ in range(3)]
    finally:
        close_dial_harness(throttled)
    refused = [r for r in results if r.dial["cause"] == "DESTINATION_OUT_OF_ORDER"]
    assert refused
    assert all(r.dial["throttled"] for r in refused)
    assert throttled.controller.outbound.dialer.throttled == len(refused)


def test_without_mod_avmd_the_beep_is_not_waited_for_and_the_call_goes_on(
    dial: DialHarness,
) -> None:
    # Sending avmd_start to a FreeSWITCH without mod_avmd would hang the call up.
    dial.simulator.modules = {"mod_event_socket", "mod_dptools", "mod_commands"}
    dial.simulator.add_callee(
        "0600000001", Callee.from_text("answer", audio=AudioTimeline.parse(MACHINE))
    )
    record = dial.call("all-nodes")
    assert record.dial["amd"]["beep"] == {"heard": False, "afterMs": 0, "available": False}
    assert nodes(record)[1] == "voicemail"
    assert record.result == "voicemail"


def test_a_beep_after_a_human_verdict_is_recorded_as_evidence(dial: DialHarness) -> None:
    # A "hello", then a beep at 2 s (a machine with a short greeting): let through as a
    # person, and the beep is kept in the record as evidence.
    flow = {
        "name": "beep",
        "graph": {
            "startNodeId": "call",
            "nodes": [
                {
                    "id": "call",
                    "type": "dial",
                    "config": {"enableAMD": True, "amd": {"waitForBeep": True}},
                    "outputs": {"onAnswer": "hello", "default": "end"},
                },
                {
                    "id": "hello",
                    "type": "play",
                    "config": {
                        "audioItems": [{"type": "audioFile", "audioId": "greeting-audio-id"}]
                    },
                    "outputs": {"default": "menu"},
                },
                {
                    "id": "menu",
                    "type": "dtmf",
                    "config": {"timeout": 3000},
                    "outputs": {"default": "end"},
                },
                {"id": "end", "type": "hangup"},
            ],
        },
    }
    path = dial.controller.settings.flows / "beep.yaml"
    path.write_text(yaml.safe_dump(flow))
    assert dial.controller.flows.load_file(path).valid
    dial.simulator.add_callee(
        "0600000001",
        Callee.from_text(
            "answer: silent",
            audio=AudioTimeline.parse(
                "speech 0.2-0.9; silence 0.9-2.0; tone 2.0-3.0 1000Hz; silence"
            ),
        ),
    )
    record = dial.call("beep")
    amd = record.dial["amd"]
    assert amd["verdict"] == "human"
    assert amd["watchingForBeep"] is True
    assert 0 < amd["beepAfterVerdict"]["afterMs"] < 1000
