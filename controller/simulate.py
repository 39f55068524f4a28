"""`callflow simulate FLOW --caller SCRIPT`: one call through the real server and the simulator.

The controller is started in-process on a free loopback port, with the flow's own
directory's settings; the simulator connects to it like FreeSWITCH's `socket` app, with a
scripted caller. The path the call took and its complete record are printed. Nothing is
phoned: this is how a flow's author tries a flow before any FreeSWITCH is involved.
"""

from __future__ import annotations

import json
import sys
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

from gevent.event import AsyncResult

from controller.config import Settings
from controller.flows.loader import flow_id_for
from controller.flowstore import FlowStore
from controller.records import CallRecord, RecordWriter, Step, describe
from controller.server import CallServer
from controller.simulator import CallerScript, Simulator

RECORD_TIMEOUT = 120.0


def simulate(
    flow_path: Path,
    *,
    caller: str,
    contact: dict[str, Any] | None,
    hangup_at: str | None,
    audio: Path,
    real_time: bool,
    controller: tuple[str, int] | None = None,
    recordings: Path = Path("recordings"),
    records: Path = Path("records/calls.jsonl"),
    out: Any = sys.stdout,
) -> int:
    """Run one call; with `controller`, against that running controller instead of an
    in-process one (its records file, `records`, is where the record is read back)."""
    store = FlowStore(flow_path.parent, audio_root=audio)
    result = store.load_file(flow_path)
    for problem in result.problems:
        print(problem.as_text(), file=sys.stderr)
    if result.flow is None:
        return 1
    script = CallerScript.parse(caller)
    variables = {
        "callflow_flow": flow_id_for(flow_path),
        "destination_number": "1000",
        "caller_id_number": "0600000000",
    }
    if contact is not None:
        variables["callflow_contact"] = json.dumps(contact)
    clock = "real" if real_time else "simulated"
    if controller is not None:
        record = _against_running(controller, script, variables, clock, records)
    else:
        record = _in_process(
            flow_path,
            store,
            script,
            variables=variables,
            clock=clock,
            hangup_at=hangup_at,
            audio=audio,
            recordings=recordings,
        )
    if record is None:
        print(f"callflow simulate: the call's record did not appear in {records}", file=sys.stderr)
        return 1
    out.write(describe(record))
    return 0


def _in_process(
    flow_path: Path,
    store: FlowStore,
    script: CallerScript,
    *,
    variables: dict[str, str],
    clock: str,
    hangup_at: str | None,
    audio: Path,
    recordings: Path,
) -> CallRecord:
    with tempfile.TemporaryDirectory(prefix="callflow-simulate-") as scratch:
        settings = replace(
            Settings(),
            flows=flow_path.parent,
            audio=audio,
            recordings=recordings,
            records=Path(scratch) / "calls.jsonl",
            listen="127.0.0.1:0",
            command_timeout=10.0,
        )
        done: AsyncResult = AsyncResult()
        placed: list[Any] = []

        def hang_up_at_node(_call: Any, node: Any) -> None:
            if node.id == hangup_at and placed:
                placed[0].hangup("NORMAL_CLEARING")

        server = CallServer(
            settings,
            store,
            RecordWriter(settings.records),
            observers=(hang_up_at_node,) if hangup_at else (),
            on_record=done.set,
        )
        server.start()
        simulator = Simulator(controller=server.address, clock=clock)
        try:
            placed.append(simulator.place_call(caller=script, variables=variables))
            return done.get(timeout=RECORD_TIMEOUT)
        finally:
            simulator.close()
            server.stop()


def _against_running(
    controller: tuple[str, int],
    script: CallerScript,
    variables: dict[str, str],
    clock: str,
    records: Path,
) -> CallRecord | None:
    simulator = Simulator(controller=controller, clock=clock)
    try:
        call = simulator.place_call(caller=script, variables=variables)
        call.wait(RECORD_TIMEOUT)
    finally:
        simulator.close()
    # The controller writes the record before it closes the socket, so it is there now.
    if records.exists():
        for line in reversed(records.read_text(encoding="utf-8").splitlines()):
            data = json.loads(line)
            if data.get("callId") == call.uuid:
                return _record_from(data)
    return None


def _record_from(data: dict[str, Any]) -> CallRecord:
    steps = [Step(**step) for step in data.pop("path", [])]
    return CallRecord(**data, path=steps)
