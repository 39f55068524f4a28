"""Editing a flow while calls run on it: calls in progress finish on the version they started
with, new calls get the new version, and a bad edit keeps the last good one serving."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml
from gevent.event import Event
from support.harness import Harness

from controller import flowstore, metrics
from controller.call import Call
from controller.flows.model import Node

HOLD_TIMEOUT = 20.0


def _document(version: str) -> dict:
    """A call waits at `hold` (a test hook holds it there), then ends with `version`."""
    return {
        "name": f"Reload {version}",
        "graph": {
            "startNodeId": "answer",
            "nodes": [
                {"id": "answer", "type": "answer", "outputs": {"onSuccess": "hold"}},
                {
                    "id": "hold",
                    "type": "set_variable",
                    "config": {"variable": "version", "value": version},
                    "outputs": {"default": "end"},
                },
                {"id": "end", "type": "hangup", "config": {"reason": version}},
            ],
        },
    }


def _write(path: Path, text: str) -> None:
    # A later mtime for certain, even where timestamps are coarse.
    before = path.stat().st_mtime_ns if path.exists() else 0
    path.write_text(text)
    later = max(before + 2_000_000_000, path.stat().st_mtime_ns)
    os.utime(path, ns=(later, later))


def test_calls_keep_their_version_while_the_file_changes(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(flowstore, "RECHECK_SECONDS", 0.0)  # re-read on every call
    path = harness.settings.flows / "reload.yaml"
    _write(path, yaml.safe_dump(_document("v1")))
    harness.flows.load_file(path)
    first_version = harness.flows.get("reload").version

    at_hold: dict[str, Event] = {}
    release = Event()

    def hold(call: Call, node: Node) -> None:
        if node.id == "hold" and call.record.flowVersion == first_version:
            at_hold.setdefault(call.id, Event()).set()
            assert release.wait(HOLD_TIMEOUT), "the test never released the held calls"

    harness.watcher.hook = hold
    held = [harness.place("reload") for _ in range(3)]
    for sim_call in held:  # every first-version call is inside its flow now
        assert at_hold.setdefault(sim_call.uuid, Event()).wait(HOLD_TIMEOUT)

    _write(path, yaml.safe_dump(_document("v2")))  # a good edit while they run
    second = harness.run("reload")
    assert (second.result, second.variables["version"]) == ("v2", "v2")
    assert second.flowVersion != first_version

    failures = metrics.REGISTRY.get_sample_value(
        "callflow_flow_load_failures_total", {"flow": "reload"}
    )
    broken = yaml.safe_dump(_document("v3")).replace("type: hangup", "type: hang_up")
    _write(path, broken)  # a bad edit: v2 keeps serving
    third = harness.run("reload")
    assert (third.result, third.flowVersion) == ("v2", second.flowVersion)
    status = harness.flows.status("reload")
    assert status.stale is True and status.serving.version == second.flowVersion
    [problem] = status.last.errors
    assert (problem.file, problem.node, problem.pointer) == (
        str(path),
        "end",
        "/graph/nodes/2/type",
    )
    assert metrics.REGISTRY.get_sample_value("callflow_flow_stale", {"flow": "reload"}) == 1
    assert (
        metrics.REGISTRY.get_sample_value("callflow_flow_load_failures_total", {"flow": "reload"})
        == (failures or 0) + 1
    )

    release.set()  # the first calls finish on the version they started with
    for sim_call in held:
        record = harness.record_of(sim_call)
        assert (record.result, record.flowVersion) == ("v1", first_version)
        assert record.variables["version"] == "v1"
    written = {r["callId"]: r for r in harness.written_records()}
    assert sorted(r["result"] for r in written.values()) == ["v1", "v1", "v1", "v2", "v2"]
