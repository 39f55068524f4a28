"""Issue #14, section 4 and the dialer items of section 6, over real sockets against the
simulator's event socket.

Found: with the event socket frozen (FreeSWITCH stopped, TCP open) three dials timed out as
`error`; once it went on, FreeSWITCH placed all three calls, each callId got a second record,
and /readyz said ready throughout. Also: the dialer's checks anchored on `$`, so a trailing
newline passed them; the failed dial then leaked its pending entry and logged the whole
originate string, contact data included.
"""

from __future__ import annotations

import logging
import shutil
import time
import uuid as uuidlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

import gevent
import pytest
from support.api_client import ApiClient
from support.controllers import wait_until
from support.harness import REPO, DialHarness, build_dial_harness, close_dial_harness

from controller import metrics
from controller.dialer import LATE_DIAL_CAUSE, DialRequest, encode_state
from controller.exceptions import NodeError
from controller.simulator import Simulator
from controller.simulator.callee import Callee

FLOWS = REPO / "tests" / "fixtures" / "security" / "stalled-event-socket"
HEARTBEAT = 0.1  # seconds between the simulator's HEARTBEATs (FreeSWITCH: 20)
SILENCE = 2.0  # esl_silence_timeout (default 50: two heartbeats and a margin)
WAIT = 15.0
PHONE = "0600000001"
CONTACT = {
    "phone": PHONE,
    "callerId": "0522000000",
    "callerName": "Bank.X",
    "campaign": "spring-2026",
}
# FreeSWITCH's originate of this fails at once and creates no channel: a dial given up on
# while frozen then stays given up on, whatever the simulator runs when it is thawed.
NO_CHANNEL = "error/USER_BUSY"


def sample(name: str, **labels: str) -> float:
    return metrics.REGISTRY.get_sample_value(name, labels) or 0.0


def harness(tmp_path: Path, *, clock: str = "simulated", **overrides: Any) -> DialHarness:
    sim = Simulator(controller=("127.0.0.1", 9), clock=clock)
    sim.start_inbound(heartbeat_interval=HEARTBEAT)
    flows = tmp_path / "flows"
    shutil.copytree(FLOWS, flows)
    settings = {"command_timeout": 1.0, "esl_silence_timeout": SILENCE, **overrides}
    built = build_dial_harness(tmp_path, flows, simulator=sim, **settings)
    sim.controller = built.controller.server.address  # for sockets a test sends itself
    return built


@pytest.fixture
def dial(tmp_path: Path) -> Iterator[DialHarness]:
    built = harness(tmp_path)
    try:
        yield built
    finally:
        close_dial_harness(built)


@pytest.fixture
def no_channel_dial(tmp_path: Path) -> Iterator[DialHarness]:
    """A harness whose dials are answered without a channel of their own."""
    built = harness(tmp_path, dial_string=NO_CHANNEL)
    try:
        yield built
    finally:
        close_dial_harness(built)


def place(dial: DialHarness, call_id: str, **contact: str) -> Any:
    """A program's call: its uuid is the record's callId and the origination uuid."""
    return dial.controller.outbound.place(
        "checked-dial", contact={**CONTACT, **contact}, call_id=call_id
    )


def records_per_call(dial: DialHarness) -> Counter[str]:
    return Counter(record["callId"] for record in dial.written_records())


# -- a silent event socket ----------------------------------------------------------------


def test_a_frozen_event_socket_is_noticed_reported_not_ready_and_reconnected(
    tmp_path: Path,
) -> None:
    dial = harness(tmp_path, http_listen="127.0.0.1:0")
    try:
        esl, inbound = dial.controller.esl, dial.simulator.inbound
        http = ApiClient(*dial.controller.http.address, key=None)
        assert http.request("GET", "/readyz").status == 200
        given_up = sample("callflow_event_socket_given_up_total", reason="no_events")
        reconnects = esl.reconnects

        inbound.freeze()  # FreeSWITCH stops: its TCP connection stays open
        wait_until(lambda: not esl.connected, "the silence noticed", timeout=WAIT)
        not_ready = http.request("GET", "/readyz")
        assert not_ready.status == 503
        assert not_ready.json()["checks"]["event_socket"] is False
        assert sample("callflow_event_socket_given_up_total", reason="no_events") == given_up + 1

        inbound.thaw()
        assert esl.wait_connected(WAIT), esl.last_error
        assert esl.reconnects > reconnects
        assert http.request("GET", "/readyz").status == 200
    finally:
        close_dial_harness(dial)


def test_heartbeats_keep_a_quiet_connection_alive(dial: DialHarness) -> None:
    esl, inbound = dial.controller.esl, dial.simulator.inbound
    given_up = esl.given_up
    seen = inbound.heartbeats
    # Longer than the silence timeout, with nothing but HEARTBEATs on the wire.
    wait_until(lambda: inbound.heartbeats >= seen + 1.5 * SILENCE / HEARTBEAT, "heartbeats")
    assert esl.connected and esl.given_up == given_up


def test_the_event_socket_has_tcp_keepalive(dial: DialHarness) -> None:
    import socket  # noqa: PLC0415 (only here: the options' names)

    sock = dial.controller.esl._sock
    assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
    if hasattr(socket, "TCP_KEEPIDLE"):
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE) == 10
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL) == 5
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT) == 3


# -- dials given up on ----------------------------------------------------------------------


def test_dials_given_up_while_frozen_are_killed_when_freeswitch_places_them(
    dial: DialHarness,
) -> None:
    sim, dialer = dial.simulator, dial.controller.outbound.dialer
    sim.add_callee(PHONE, "answer")
    killed = dialer.killed_late
    sim.inbound.freeze()
    ids = [str(uuidlib.uuid4()) for _ in range(3)]
    results = [place(dial, call_id) for call_id in ids]
    records = {
        call_id: result.get(timeout=WAIT) for call_id, result in zip(ids, results, strict=True)
    }

    for record in records.values():
        assert record.result == "error"  # onError is not wired
        assert record.error == record.path[0].error
    # The first dial went out and got no answer; the others were not sent at all (the
    # connection was given up by then), so FreeSWITCH can never place them.
    sent = [k for k, r in records.items() if "gave up after" in r.path[0].error]
    assert len(sent) == 1
    assert LATE_DIAL_CAUSE in records[sent[0]].path[0].error
    for call_id in set(ids) - set(sent):
        assert "not connected" in records[call_id].path[0].error

    sim.inbound.thaw()  # FreeSWITCH goes on, and runs the originate it had read
    assert dial.controller.esl.wait_connected(WAIT)
    wait_until(lambda: dialer.killed_late == killed + 1, "the late call killed", timeout=WAIT)
    wait_until(lambda: not sim.calls, "the late call over", timeout=WAIT)
    assert records_per_call(dial) == dict.fromkeys(ids, 1)
    assert dialer.pending == 0


def test_a_late_socket_of_a_dial_given_up_is_hung_up_with_no_record(
    no_channel_dial: DialHarness,
) -> None:
    dial = no_channel_dial
    sim, dialer = dial.simulator, dial.controller.outbound.dialer
    call_id = str(uuidlib.uuid4())
    sim.inbound.freeze()
    record = place(dial, call_id).get(timeout=WAIT)
    assert "gave up after" in record.path[0].error
    before = sample("callflow_dials_late_killed_total", seen_by="socket")

    # The call's socket arrives (as the stalled FreeSWITCH's originate would send it).
    late = sim.place_call(
        uuid=call_id,
        variables={
            "callflow_origin": "another-controller",
            "callflow_state": encode_state({"flowId": "checked-dial", "resume": "dial"}),
        },
    )
    outcome = late.wait(WAIT)
    assert outcome.hangup_cause == LATE_DIAL_CAUSE
    assert outcome.hangup_by == "controller"
    assert outcome.app_names == []  # nothing of the flow ran
    assert sample("callflow_dials_late_killed_total", seen_by="socket") == before + 1
    assert records_per_call(dial) == {call_id: 1}
    assert dialer.pending == 0


def test_a_socket_past_its_dial_deadline_is_refused_by_any_controller(dial: DialHarness) -> None:
    # Dialled by another process, which has certainly given up on it by now.
    late = dial.simulator.place_call(
        variables={
            "callflow_origin": "another-controller",
            "callflow_dial_deadline": str(int(time.time()) - 120),
            "callflow_state": encode_state({"flowId": "checked-dial", "resume": "dial"}),
        },
    )
    outcome = late.wait(WAIT)
    assert outcome.hangup_cause == LATE_DIAL_CAUSE
    assert outcome.app_names == []
    assert dial.written_records() == []  # its dialler wrote the call's record


def test_a_dial_cut_off_by_a_lost_event_socket_is_cancelled_once_it_is_back(
    tmp_path: Path,
) -> None:
    # Real time: the call must still be ringing when the connection comes back.
    dial = harness(tmp_path, clock="real")
    try:
        sim, esl = dial.simulator, dial.controller.esl
        sim.add_callee(PHONE, Callee.from_text("ring 3s"))
        call_id = str(uuidlib.uuid4())

        def cut_when_ringing() -> None:  # a network cut: FreeSWITCH goes on, the call rings
            wait_until(lambda: sim.originator.find(call_id) is not None, "ringing", WAIT)
            for conn in list(sim.inbound.connections):
                conn.drop()

        cutter = gevent.spawn(cut_when_ringing)
        record = place(dial, call_id).get(timeout=WAIT)
        cutter.get(timeout=WAIT)
        assert record.result == "error"
        assert "gave up after" in record.error
        ended: gevent.event.AsyncResult = gevent.event.AsyncResult()
        esl.on_hangup(call_id, ended.set)
        assert ended.get(timeout=WAIT).get("Hangup-Cause") == LATE_DIAL_CAUSE
        assert records_per_call(dial) == {call_id: 1}
    finally:
        close_dial_harness(dial)


def test_a_late_originate_result_gets_the_call_killed(no_channel_dial: DialHarness) -> None:
    dial = no_channel_dial
    sim, dialer = dial.simulator, dial.controller.outbound.dialer
    call_id = str(uuidlib.uuid4())
    sim.inbound.freeze()
    assert "gave up after" in place(dial, call_id).get(timeout=WAIT).path[0].error
    before = sample("callflow_dials_late_killed_total", seen_by="job")
    sim.inbound.thaw()
    assert dial.controller.esl.wait_connected(WAIT)

    # The originate's BACKGROUND_JOB reaches every event-socket client, the new connection too.
    job = str(uuidlib.uuid4())
    sim.publish(
        sim.events.background_job((job, None), "originate", "...", f"+OK {call_id}\n", time.time())
    )
    kill = f"bgapi uuid_kill {call_id} {LATE_DIAL_CAUSE}"
    wait_until(
        lambda: any(kill in conn.commands for conn in sim.inbound.connections),
        "the uuid_kill",
        timeout=WAIT,
    )
    assert sample("callflow_dials_late_killed_total", seen_by="job") == before + 1
    assert dialer.pending == 0


# -- section 6: the dialer's checks -----------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("callerId", "0522000000\n", "caller id number is not a number"),
        ("callerName", "Bank.X\n", "caller id name"),
        ("campaign", "spring-2026\n", "channel variable campaign"),
    ],
)
def test_a_trailing_newline_is_refused_without_a_leak_or_contact_data_in_the_logs(
    dial: DialHarness,
    caplog: pytest.LogCaptureFixture,
    field: str,
    value: str,
    message: str,
) -> None:
    caplog.set_level(logging.DEBUG)
    dialer = dial.controller.outbound.dialer
    call_id = str(uuidlib.uuid4())
    contact = {**CONTACT, "phone": "0611223344", field: value}
    record = dial.controller.outbound.place("checked-dial", contact=contact, call_id=call_id).get(
        timeout=WAIT
    )

    step = record.path[0]
    assert step.output == "onError"
    assert message in step.error
    assert "U+000A" in step.error  # which character, and where
    assert value.strip() not in step.error  # not the value itself
    assert record.dial is None  # nothing was sent to FreeSWITCH
    assert dialer.pending == 0
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "originate" not in logged
    for data in {**contact, field: value}.values():
        assert data.strip() not in logged


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"destination": PHONE + "\n"}, "destination is not a phone number"),
        ({"dial_string": f"sofia/gateway/gw1/{PHONE}\n"}, "dial string has characters"),
        ({"caller_id_number": "0522000000\n"}, "caller id number is not a number"),
        ({"variables": {"campaign\n": "x"}}, "channel variable name"),
    ],
)
def test_the_dialer_refuses_a_trailing_newline_in_every_field(
    dial: DialHarness, caplog: pytest.LogCaptureFixture, changes: dict[str, Any], message: str
) -> None:
    # The dial node strips the destination it renders; other callers of the dialer may not.
    caplog.set_level(logging.DEBUG)
    dialer = dial.controller.outbound.dialer
    request = DialRequest(
        destination=PHONE,
        dial_string=f"sofia/gateway/gw1/{PHONE}",
        timeout_ms=30000,
        state={"contact": {"firstName": "Amina"}},
    )
    with pytest.raises(NodeError, match=message) as refused:
        dialer.dial(DialRequest(**{**asdict(request), **changes}), wait_timeout=WAIT)
    # Which character is wrong (a name, from the flow, is shown: it is not contact data).
    assert "U+000A" in str(refused.value) or "'campaign\\n'" in str(refused.value)
    assert PHONE not in str(refused.value)
    assert dialer.pending == 0
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert PHONE not in logged and "Amina" not in logged and "originate" not in logged


def test_checks_of_what_reaches_freeswitch_or_a_path_match_the_whole_value() -> None:
    from controller.esl.apps import safe_path  # noqa: PLC0415 (only this test)
    from controller.speech.base import SpeechError  # noqa: PLC0415
    from controller.speech.compose import language_module  # noqa: PLC0415

    with pytest.raises(NodeError):
        safe_path("/srv/audio/greeting.wav\n")
    with pytest.raises(NodeError):
        safe_path("tone_stream://%(100,0,440)\n")
    with pytest.raises(SpeechError):
        language_module("en\n")
    assert safe_path("/srv/audio/greeting.wav") == "/srv/audio/greeting.wav"


def test_the_silence_timeout_is_a_bounded_setting() -> None:
    from controller.config import load_settings  # noqa: PLC0415 (only this test)
    from controller.exceptions import ConfigError  # noqa: PLC0415

    assert load_settings(environ={}).esl_silence_timeout == 50.0
    environ = {"CALLFLOW_ESL_SILENCE_TIMEOUT": "90"}
    assert load_settings(environ=environ).esl_silence_timeout == 90.0
    for bad in ("0.5", "86400"):
        with pytest.raises(ConfigError, match="esl_silence_timeout"):
            load_settings(environ={"CALLFLOW_ESL_SILENCE_TIMEOUT": bad})
