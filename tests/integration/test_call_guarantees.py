"""What holds for every call: one record, no leaks, bad flows never run, many calls at once."""

from __future__ import annotations

import gc
import os
from dataclasses import replace
from pathlib import Path

import gevent
import pytest
from gevent.event import Event
from greenlet import greenlet
from support.harness import REPO, Harness, add_flow, build_harness, close_harness

from controller.flows.loader import load_flow_file
from controller.listener import Listener
from controller.nodes import NODE_TYPES

_IVR = load_flow_file(REPO / "flows" / "inbound-ivr.yaml").flow
assert _IVR is not None
IVR_NODES = list(_IVR.nodes)

# Callers who, between them, reach every node of the IVR.
IVR_CALLERS = ["press 2; speak 2s", "press 0", "press 1; speak 1s", "silent; silent; silent"]
BALANCE = {"customAttributes": {"balance": 1250}}


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def _greenlets() -> int:
    return sum(1 for obj in gc.get_objects() if isinstance(obj, greenlet) and not obj.dead)


@pytest.mark.parametrize("node_id", IVR_NODES)
def test_caller_hangup_at_every_node_gives_exactly_one_record(
    harness: Harness, node_id: str
) -> None:
    sim_calls = [harness.place("inbound-ivr", caller, hangup_at=node_id) for caller in IVR_CALLERS]
    sim_calls.append(harness.place("inbound-ivr", "press 1", contact=BALANCE, hangup_at=node_id))
    records = [harness.record_of(sim_call) for sim_call in sim_calls]
    reached = [r for r in records if any(step.nodeId == node_id for step in r.path)]
    assert reached, f"no caller reached {node_id}"
    for record in reached:
        assert record.path[-1].nodeId == node_id
        if node_id == "hangup":  # both ends hung up at once: the flow still completed
            assert record.result in ("caller_hangup", "completed"), record
        else:
            assert record.result == "caller_hangup", record
            assert record.hangupBy == "caller"
    written = [r["callId"] for r in harness.written_records()]
    assert sorted(written) == sorted(r.callId for r in records)  # exactly one each
    assert harness.server.active == 0


def test_no_greenlet_or_socket_outlives_its_call(harness: Harness) -> None:
    harness.run("inbound-ivr", "press 0")  # warm up lazily created objects
    gc.collect()
    fds, greenlets = _open_fds(), _greenlets()
    for caller in IVR_CALLERS:
        harness.run("inbound-ivr", caller)
        harness.run("inbound-ivr", caller, hangup_at="menu")
    gevent.idle()
    gc.collect()
    assert _open_fds() <= fds
    assert _greenlets() <= greenlets


def test_an_invalid_flow_never_runs(harness: Harness) -> None:
    path = harness.settings.flows / "inbound-ivr.yaml"
    original = harness.flows.get("inbound-ivr")
    path.write_text(path.read_text().replace("type: dtmf", "type: dtfm"))
    harness.flows.load_file(path)
    record = harness.run("inbound-ivr", "press 0")
    assert record.flowVersion == original.version  # the good version still serves
    (harness.settings.flows / "broken.yaml").write_text(path.read_text())
    harness.flows.load_file(harness.settings.flows / "broken.yaml")
    record = harness.run("broken")
    assert record.result == "invalid_flow"
    assert record.path == []
    assert "unknown node type 'dtfm'" in record.error
    assert record.hangupCause == "NORMAL_TEMPORARY_FAILURE"


def test_unknown_flow_and_no_flow_are_hung_up_with_a_record(harness: Harness) -> None:
    assert harness.run("no-such-flow").result == "no_flow"
    assert harness.run("", variables={"callflow_flow": ""}).result == "no_flow"


def test_calls_over_the_cap_are_refused_with_congestion(tmp_path: Path, flows_dir: Path) -> None:
    capped = build_harness(tmp_path, flows_dir, max_calls=1)
    try:
        add_flow(
            capped,
            "wait",
            {
                "name": "wait",
                "graph": {
                    "startNodeId": "m",
                    "nodes": [
                        {
                            "id": "m",
                            "type": "dtmf",
                            "config": {"timeout": 3000},
                            "outputs": {"default": "h"},
                        },
                        {"id": "h", "type": "hangup"},
                    ],
                },
            },
        )
        inside, release = Event(), Event()

        def hold_first_call(_call: object, node: object) -> None:
            if not inside.is_set():
                inside.set()
                release.wait(10)  # keep one call in progress while the second arrives

        capped.watcher.hook = hold_first_call
        first = capped.place("wait", "press 1")
        assert inside.wait(10)
        second = capped.place("wait")
        refused = capped.record_of(second)
        release.set()
        records = [capped.record_of(first), refused]
    finally:
        close_harness(capped)
    refused = [r for r in records if r.result == "over_capacity"]
    assert len(refused) == 1
    assert refused[0].hangupCause == "NORMAL_CIRCUIT_CONGESTION"


def test_200_concurrent_calls_all_complete(harness: Harness) -> None:
    callers = IVR_CALLERS * 50
    sim_calls = [harness.place("inbound-ivr", caller) for caller in callers]
    records = [harness.record_of(sim_call, timeout=120) for sim_call in sim_calls]
    assert all(r.result == "completed" for r in records), {r.result for r in records}
    assert len({r.callId for r in records}) == 200
    assert len(harness.written_records()) == 200


def test_calls_let_new_connections_in_as_they_read_and_write(harness: Harness, monkeypatch) -> None:
    """The wiring of Listener.accept_if_due (its effect: tests/test_listener.py)."""
    looks: list[Listener] = []

    def look(listener: Listener) -> None:  # a method: called with the listener
        looks.append(listener)

    monkeypatch.setattr(Listener, "accept_if_due", look)
    harness.run("inbound-ivr", "press 0")
    assert looks and {id(listener) for listener in looks} == {id(harness.server._listener)}


def test_a_bug_in_a_node_fails_only_that_call(harness: Harness, monkeypatch) -> None:
    original = NODE_TYPES["condition"]

    def broken(*_args: object) -> str:
        raise RuntimeError("boom")

    monkeypatch.setitem(NODE_TYPES, "condition", replace(original, run=broken))
    broken_call = harness.place("inbound-ivr", "press 1")
    healthy_call = harness.place("inbound-ivr", "press 0")
    broken_record = harness.record_of(broken_call)
    [step] = [s for s in broken_record.path if s.nodeId == "has-balance"]
    assert step.error == "internal error: RuntimeError: boom"
    # has-balance wires no onError (its `exists` test cannot fail): the call ends, recorded.
    assert (step.output, step.next) == ("onError", None)
    assert broken_record.result == "error" and "boom" in (broken_record.error or "")
    assert harness.record_of(healthy_call).result == "completed"
