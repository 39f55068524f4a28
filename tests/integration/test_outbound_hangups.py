"""The caller hangs up at every node of the outbound example flows that runs on a call.

Scenarios (callee behaviour, contact) are first run to the end to learn which nodes they
reach with a call; then each such node gets a run where the person hangs up as it starts.
Nodes that run without a call (before the dial, after a failed one) have no one to hang up.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from support.dictionaries import audio_root_with_dictionaries
from support.harness import DialHarness, build_dial_harness, close_dial_harness

from controller.simulator.audio_timeline import AudioTimeline
from controller.simulator.callee import Callee

HUMAN = AudioTimeline.parse("speech 0.2-0.9; silence")
BALANCE = {"accountBalance": "1234.50", "dueDate": "2026-12-01", "segment": "vip", "balance": 2000}
MACHINE = AudioTimeline.parse("speech 0-4.6 words 9; tone 4.6-5.6 1000Hz; silence")

SCENARIOS: dict[str, list[tuple[str, AudioTimeline, dict[str, Any] | None]]] = {
    "payment-reminder": [
        ("answer: press 1", HUMAN, None),
        ("answer: press 2", HUMAN, None),
        ("answer: silent", HUMAN, None),
        ("answer", MACHINE, None),
    ],
    "all-nodes": [
        (
            "answer: press 12#; speak 2s",
            HUMAN,
            {
                "city": "Rabat",
                "firstName": "Amina",
                "phone": "0600000001",
                "customAttributes": BALANCE,
            },
        ),
        ("answer: press 0#", HUMAN, {"city": "Tanger", "customAttributes": BALANCE}),
        ("answer: silent; silent", HUMAN, {"customAttributes": {**BALANCE, "segment": "basic"}}),
        ("answer", MACHINE, None),
    ],
}


def _reached(dial: DialHarness, flow_id: str) -> list[tuple[str, int]]:
    """(node id, scenario index) for each node run on a call, first scenario reaching it."""
    reached: dict[str, int] = {}
    for index, (behaviour, audio, contact) in enumerate(SCENARIOS[flow_id]):
        dial.simulator.add_callee("0600000001", Callee.from_text(behaviour, audio=audio))
        record = dial.call(flow_id, contact=contact)
        for step in record.path:
            if step.nodeId not in reached and step.type != "dial" and record.dial["uuid"]:
                reached.setdefault(step.nodeId, index)
    return sorted(reached.items())


@pytest.mark.parametrize("flow_id", sorted(SCENARIOS))
def test_hangup_at_every_node_gives_one_record(
    tmp_path: Path, flows_dir: Path, flow_id: str
) -> None:
    # Complete dictionaries, so the spoken balance and date play and the nodes after them run.
    audio = audio_root_with_dictionaries(tmp_path / "audio")
    dial = build_dial_harness(tmp_path, flows_dir, audio=audio)
    try:
        reached = _reached(dial, flow_id)
        assert len(reached) >= 3, reached
        for node_id, index in reached:
            before = len(dial.written_records())
            behaviour, audio, contact = SCENARIOS[flow_id][index]
            dial.simulator.add_callee("0600000001", Callee.from_text(behaviour, audio=audio))

            def hang_up(call: Any, node: Any, target: str = node_id) -> None:
                if node.id == target and call.channel is not None:
                    dial.simulator.hangup("NORMAL_CLEARING", uuid=call.channel.uuid)
                    call.channel.wait_ended(5)

            dial.watcher.hook = hang_up
            record = dial.call(flow_id, contact=contact)
            dial.watcher.hook = None
            assert record.path[-1].nodeId == node_id, (node_id, record.path)
            if record.path[-1].type == "hangup":  # ended by both sides: the flow's result
                assert record.result, (node_id, record.result)
            else:
                assert record.result == "caller_hangup", (node_id, record.result)
            assert record.hangupBy == "caller"
            assert len(dial.written_records()) == before + 1
            assert dial.controller.server.active == 0
    finally:
        close_dial_harness(dial)
