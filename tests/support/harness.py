"""Integration harness: the real controller and the FreeSWITCH simulator over real TCP.

The server listens on 127.0.0.1:0; the simulator connects to it like FreeSWITCH's `socket`
app. Tests wait for call records (with timeouts), never sleep.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml
from gevent.event import AsyncResult

from controller import runner
from controller.call import Call
from controller.config import Settings
from controller.flows.model import Node
from controller.flowstore import FlowStore
from controller.records import CallRecord, RecordWriter
from controller.server import CallServer
from controller.simulator import CallerScript, Simulator

REPO = Path(__file__).resolve().parents[2]
INTEGRATION_FLOWS = REPO / "tests" / "integration" / "flows"
RECORD_TIMEOUT = 30.0


@dataclass
class CallWatcher:
    """The hooks the server calls: records as they are written, nodes as they start."""

    records_by_call: dict[str, AsyncResult] = field(default_factory=dict)
    hangups: dict[str, str] = field(default_factory=dict)  # call id -> node id
    sim_calls: dict[str, Any] = field(default_factory=dict)
    hook: Callable[[Call, Node], None] | None = None  # a test's own hook, run first

    def result(self, call_id: str) -> AsyncResult:
        return self.records_by_call.setdefault(call_id, AsyncResult())

    def on_record(self, record: CallRecord) -> None:
        self.result(record.callId).set(record)

    def on_node(self, call: Call, node: Node) -> None:
        if self.hook is not None:
            self.hook(call, node)
        # "The caller hangs up during node X": hang up as X starts, and let the controller
        # see the hangup before X runs, so the test knows where it must be noticed.
        if self.hangups.get(call.id) == node.id:
            self.sim_calls[call.id].hangup("NORMAL_CLEARING")
            call.channel.wait_ended(5)


@dataclass
class Harness:
    settings: Settings
    flows: FlowStore
    server: CallServer
    simulator: Simulator
    watcher: CallWatcher

    def place(
        self,
        flow_id: str,
        caller: str | list[Any] = "silent",
        *,
        contact: dict[str, Any] | None = None,
        hangup_at: str | None = None,
        variables: dict[str, str] | None = None,
    ) -> Any:
        script = (
            CallerScript.parse(caller)
            if isinstance(caller, str)
            else CallerScript.from_data(caller)
        )
        channel_vars = {
            "callflow_flow": flow_id,
            "destination_number": "1000",
            "caller_id_number": "0600000001",
            **(variables or {}),
        }
        if contact is not None:
            channel_vars["callflow_contact"] = json.dumps(contact)
        sim_call = self.simulator.place_call(caller=script, variables=channel_vars)
        self.watcher.sim_calls[sim_call.uuid] = sim_call
        if hangup_at is not None:
            self.watcher.hangups[sim_call.uuid] = hangup_at
        return sim_call

    def record_of(self, sim_call: Any, timeout: float = RECORD_TIMEOUT) -> CallRecord:
        return self.watcher.result(sim_call.uuid).get(timeout=timeout)

    def run(self, flow_id: str, caller: str | list[Any] = "silent", **options: Any) -> CallRecord:
        """Place one call and return its record once written."""
        return self.record_of(self.place(flow_id, caller, **options))

    @staticmethod
    def path(record: CallRecord) -> list[tuple[str, str | None]]:
        return [(step.nodeId, step.output) for step in record.path]

    def written_records(self) -> list[dict[str, Any]]:
        path = self.settings.records
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines()]


def build_harness(tmp_path: Path, flows_dir: Path, **overrides: Any) -> Harness:
    defaults: dict[str, Any] = {
        "flows": flows_dir,
        "audio": REPO / "audio",
        "recordings": tmp_path / "recordings",
        "records": tmp_path / "records" / "calls.jsonl",
        "listen": "127.0.0.1:0",
        "command_timeout": 10.0,
        "media_timeout": 30.0,
    }
    settings = replace(Settings(), **{**defaults, **overrides})
    flows = FlowStore(settings.flows, audio_root=settings.audio)
    flows.load_all()
    watcher = CallWatcher()
    server = CallServer(
        settings,
        flows,
        RecordWriter(settings.records),
        observers=(watcher.on_node,),
        on_record=watcher.on_record,
    )
    server.start()
    return Harness(settings, flows, server, Simulator(controller=server.address), watcher)


def single_node_flow(
    node_type: str, config: dict[str, Any], outputs: list[str], *, answer_first: bool = True
) -> dict[str, Any]:
    """A flow that runs one node and ends at a hangup whose reason names the output taken."""
    wired = {name: f"out-{name.replace('.', '-')}" for name in outputs}
    node_outputs: dict[str, Any] = {}
    for name, target in wired.items():
        if name.startswith("branches."):
            node_outputs.setdefault("branches", {})[name[9:]] = target
        else:
            node_outputs[name] = target
    nodes: list[dict[str, Any]] = []
    if answer_first:
        nodes.append({"id": "answer", "type": "answer", "outputs": {"onSuccess": "under-test"}})
    nodes.append({"id": "under-test", "type": node_type, "config": config, "outputs": node_outputs})
    for name, target in wired.items():
        nodes.append(
            {
                "id": target,
                "type": "hangup",
                "config": {"reason": name.replace("branches.", "branch-")},
            }
        )
    start = "answer" if answer_first else "under-test"
    return {"name": f"{node_type} outputs", "graph": {"startNodeId": start, "nodes": nodes}}


def add_flow(harness: Harness, flow_id: str, document: dict[str, Any]) -> None:
    """Write a flow into the served directory and load it; it must be valid."""
    path = harness.settings.flows / f"{flow_id}.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    result = harness.flows.load_file(path)
    assert result.valid, [p.as_text() for p in result.errors]


def close_harness(harness: Harness) -> None:
    harness.simulator.close()
    harness.server.stop(timeout=5)
    harness.server.records.close()


@dataclass
class DialHarness:
    """A controller with its event socket connected to the simulator's inbound side."""

    controller: Any  # controller.runner.Controller
    simulator: Simulator
    watcher: CallWatcher

    def call(
        self,
        flow_id: str,
        to: str = "0600000001",
        *,
        contact: dict[str, Any] | None = None,
        timeout: float = RECORD_TIMEOUT,
    ) -> CallRecord | None:
        """Place an outbound call and return its record (None: another process has it)."""
        return self.controller.outbound.place(flow_id, contact=contact, to=to).get(timeout=timeout)

    def written_records(self) -> list[dict[str, Any]]:
        path = self.controller.settings.records
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines()]


def build_dial_harness(
    tmp_path: Path,
    flows_dir: Path,
    *,
    simulator: Simulator | None = None,
    name: str = "a",
    **overrides: Any,
) -> DialHarness:
    sim = simulator or Simulator(controller=("127.0.0.1", 9))  # originates carry their address
    host, port = sim.start_inbound()
    defaults: dict[str, Any] = {
        "flows": flows_dir,
        "audio": REPO / "audio",
        "recordings": tmp_path / f"recordings-{name}",
        "records": tmp_path / f"records-{name}" / "calls.jsonl",
        "programs_db": tmp_path / f"programs-{name}" / "callflow.db",  # not the working dir's
        "listen": "127.0.0.1:0",
        "esl": f"{host}:{port}",
        "http_listen": None,
        "gateway": "gw1",
        "command_timeout": 10.0,
        "media_timeout": 30.0,
    }
    settings = replace(Settings(), **{**defaults, **overrides})
    watcher = CallWatcher()
    controller = runner.build(settings, observers=(watcher.on_node,), on_record=watcher.on_record)
    controller.start()
    assert controller.esl.wait_connected(10), controller.esl.last_error
    return DialHarness(controller, sim, watcher)


def close_dial_harness(harness: DialHarness, *, close_simulator: bool = True) -> None:
    harness.controller.stop(drain_seconds=5)
    if close_simulator:
        harness.simulator.close()
