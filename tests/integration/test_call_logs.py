"""Every log line about a call carries that call's uuid (and flow, node), as structured fields,
with several calls running at once through the simulator over real sockets."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.harness import DialHarness, Harness, build_dial_harness, close_dial_harness

from controller import logs
from controller.simulator.audio_timeline import AudioTimeline
from controller.simulator.callee import Callee

CALLERS = ["press 1", "press 2; speak 1s", "press 0", "press 9; silent; press 0", "silent"]


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """Everything the controller logs, from debug up, as the JSON lines `run` would write."""
    stream = io.StringIO()
    handler = logs.make_handler("json", stream)
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def _parse(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_concurrent_calls_never_get_each_others_uuid(
    harness: Harness, log_lines: io.StringIO
) -> None:
    sim_calls = [harness.place("inbound-ivr", caller) for caller in CALLERS]
    sim_calls.append(harness.place("inbound-ivr", "press 2; speak 3s", hangup_at="record-message"))
    sim_calls.append(harness.place("no-such-flow"))
    records = {sim_call.uuid: harness.record_of(sim_call) for sim_call in sim_calls}
    lines = _parse(log_lines)
    uuids = set(records)
    assert len(uuids) == len(sim_calls)

    # Every line logged while the calls ran is about one of them, and names it as a field.
    assert lines and all(line.get("call_uuid") in uuids for line in lines), [
        line for line in lines if line.get("call_uuid") not in uuids
    ]
    # A line that mentions a call in its text is about that call, never another.
    for line in lines:
        for uuid in uuids - {line["call_uuid"]}:
            assert uuid not in line["message"], line
    by_call: dict[str, list[dict[str, Any]]] = {uuid: [] for uuid in uuids}
    for line in lines:
        by_call[line["call_uuid"]].append(line)
    for uuid, record in records.items():
        messages = [line["message"] for line in by_call[uuid]]
        assert any(m.startswith("call ended: " + str(record.result)) for m in messages), messages
        if record.flowVersion:  # the flow ran: a start line, and one line per node it ran
            assert f"call started: flow inbound-ivr version {record.flowVersion}" in messages[0]
            node_lines = [
                line
                for line in by_call[uuid]
                if line["logger"] == "callflow.engine" and line.get("node")
            ]
            assert [line["node"] for line in node_lines] == [
                step.nodeId for step in record.path if step.output not in (None, "hangup")
            ]
            assert all(line["message"].startswith(line["node"] + " (") for line in node_lines)
            assert all(line.get("flow") == "inbound-ivr" for line in by_call[uuid])
        else:
            assert any("not run" in m for m in messages) and record.result == "no_flow"

    # The calls really did overlap: some call logged between another's first and last lines.
    order = [line["call_uuid"] for line in lines]
    spans = {uuid: (order.index(uuid), len(order) - order[::-1].index(uuid)) for uuid in uuids}
    assert any(a != b and spans[a][0] < spans[b][0] < spans[a][1] for a in uuids for b in uuids), (
        order
    )


@pytest.fixture
def dial(tmp_path: Path, flows_dir: Path) -> Iterator[DialHarness]:
    harness = build_dial_harness(tmp_path, flows_dir)
    try:
        yield harness
    finally:
        close_dial_harness(harness)


def test_an_outbound_calls_lines_follow_it_from_dial_to_hangup(
    dial: DialHarness, log_lines: io.StringIO
) -> None:
    human = AudioTimeline.parse("speech 0.2-0.9; silence")
    dial.simulator.add_callee("0600000001", Callee.from_text("answer: press 1", audio=human))
    dial.simulator.add_callee("0600000002", Callee.from_text("busy"))
    answered = dial.controller.outbound.place("payment-reminder", to="0600000001")
    busy = dial.controller.outbound.place("payment-reminder", to="0600000002")
    answered_record, busy_record = answered.get(timeout=30), busy.get(timeout=30)
    lines = [line for line in _parse(log_lines) if line.get("flow") == "payment-reminder"]

    # Until the dial is answered a call's lines carry the record's pending id, then the
    # FreeSWITCH uuid (the answered record's callId); the dial's uuid is in the text.
    answered_uuid = answered_record.callId
    assert answered_uuid == answered_record.dial["uuid"]
    answered_lines = [line for line in lines if line["call_uuid"] == answered_uuid]
    assert [line["message"] for line in lines if answered_uuid in line["message"]] == [
        line["message"] for line in answered_lines if answered_uuid in line["message"]
    ]
    assert answered_lines[0]["node"] == "dial-1"  # from the answer on
    assert answered_lines[-1]["message"].startswith("call ended: completed")
    busy_lines = [line for line in lines if line["call_uuid"] == busy_record.callId]
    assert busy_record.callId.startswith("pending-")
    messages = [line["message"] for line in busy_lines]
    assert messages[0].startswith("call started: flow payment-reminder")
    assert messages[-1].startswith("call ended: busy")
    # Run by the event-socket reader (a greenlet shared by every call), in the dial's context.
    hangup = next(line for line in busy_lines if line["message"].startswith("dialled channel"))
    assert busy_record.dial["uuid"] in hangup["message"] and hangup["node"] == "dial-1"
    pending = {line["call_uuid"] for line in lines} - {answered_uuid, busy_record.callId}
    assert len(pending) == 1 and pending.pop().startswith("pending-")  # the answered one's
