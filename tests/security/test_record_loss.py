"""Issue #14, section 3: call records are never lost or corrupted.

Over real sockets: the controller (in this process, or `callflow run` as a subprocess) and the
FreeSWITCH simulator. Findings reproduced here:
- a byte that is not UTF-8 in a channel variable killed the call's greenlet, and no record
  was written;
- a full disk left half a line, and the next record was appended onto it;
- a 1 MB YAML anchor aliased 200 times made every record 200 MB.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gevent
import pytest
import yaml
from support.api_client import ApiClient, api_settings, client_for
from support.harness import RECORD_TIMEOUT, CallWatcher
from support.process_log import ProcessLog

from controller import runner
from controller.records import MAX_TEXT
from controller.simulator import Simulator

REPO = Path(__file__).resolve().parents[2]
DEV_FULL = Path("/dev/full")
WAIT = 30.0

# The caller's numbers and the contact carry the byte 0xFF (what `%FF` on the event socket
# decodes to); the flow copies them into a variable, and sets it on the channel.
ECHO_FLOW = {
    "name": "echo",
    "graph": {
        "startNodeId": "answer",
        "nodes": [
            {"id": "answer", "type": "answer", "outputs": {"onSuccess": "copy"}},
            {
                "id": "copy",
                "type": "set_variable",
                "config": {
                    "variable": "heard",
                    "value": "{{sys.destinationNumber}}|{{sys.callerIdNumber}}|{{contact.name}}",
                    "exportToChannel": True,
                },
                "outputs": {"onSuccess": "bye"},
            },
            {"id": "bye", "type": "hangup", "config": {"reason": "done"}},
        ],
    },
}
NOTES_FLOW = {
    "name": "notes",
    "graph": {
        "startNodeId": "keep",
        "nodes": [
            {
                "id": "keep",
                "type": "set_variable",
                "config": {"variable": "customerNotes", "value": "{{contact.notes}}"},
                "outputs": {"onSuccess": "bye"},
            },
            {"id": "bye", "type": "hangup", "config": {"reason": "done"}},
        ],
    },
}


@dataclass
class Served:
    controller: runner.Controller
    simulator: Simulator
    watcher: CallWatcher
    api: ApiClient

    @property
    def records_path(self) -> Path:
        return self.controller.settings.records

    def call(self, flow_id: str = "echo", **variables: str) -> dict[str, Any]:
        """Place a call, wait for it to end; its record as the server handed it over."""
        sim_call = self.simulator.place_call(
            variables={
                "callflow_flow": flow_id,
                "destination_number": "1000",
                "caller_id_number": "0600000001",
                **variables,
            }
        )
        record = self.watcher.result(sim_call.uuid).get(timeout=RECORD_TIMEOUT)
        outcome = sim_call.wait(WAIT)
        return {"uuid": sim_call.uuid, "record": record, "outcome": outcome}

    def file_records(self) -> list[dict[str, Any]]:
        # strict UTF-8, one JSON object per line: any torn or undecodable line fails here
        lines = self.records_path.read_bytes().decode("utf-8").split("\n")
        assert lines[-1] == "", "the file ends inside a line"
        return [json.loads(line) for line in lines[:-1]]

    def sample(self, name: str) -> float:
        text = self.api.get("/metrics").body.decode()
        [line] = [line for line in text.splitlines() if line.startswith(name + " ")]
        return float(line.split()[1])


def _write_flows(directory: Path) -> Path:
    directory.mkdir()
    for flow_id, flow in (("echo", ECHO_FLOW), ("notes", NOTES_FLOW)):
        (directory / f"{flow_id}.yaml").write_text(yaml.safe_dump(flow, sort_keys=False))
    return directory


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    settings = api_settings(tmp_path, _write_flows(tmp_path / "flows"), programs_db=None)
    settings.records.parent.mkdir(parents=True)
    watcher = CallWatcher()
    controller = runner.build(settings, observers=(watcher.on_node,), on_record=watcher.on_record)
    controller.records.retry_seconds = 0.05
    controller.start()
    simulator = Simulator(controller=controller.server.address)
    try:
        yield Served(controller, simulator, watcher, client_for(controller))
    finally:
        simulator.close()
        controller.stop(drain_seconds=5)


# -- bytes that are not UTF-8 ----------------------------------------------------------------


def test_bytes_that_are_not_utf8_reach_the_record_and_go_back_to_freeswitch_unchanged(
    served: Served,
) -> None:
    call = served.call(
        destination_number="12\udcff34",  # on the wire: 12%FF34
        caller_id_number="\udcfe0600",
        callflow_contact='{"name": "Ren\udce9e"}',  # latin-1 é, not UTF-8
    )
    assert call["record"].result == "done"
    [written] = served.file_records()
    assert written["callId"] == call["uuid"]
    assert written["result"] == "done"
    assert [step["nodeId"] for step in written["path"]] == ["answer", "copy", "bye"]
    assert written["destinationNumber"] == "12\\xff34"
    assert written["callerIdNumber"] == "\\xfe0600"
    assert written["variables"]["heard"] == "12\\xff34|\\xfe0600|Ren\\xe9e"
    # FreeSWITCH got the bytes it sent, not the escapes
    assert call["outcome"].variables["heard"] == "12\udcff34|\udcfe0600|Ren\udce9e"
    # the API shows the record as written
    shown = served.api.get(f"/api/calls/{call['uuid']}").json()["record"]
    assert shown["destinationNumber"] == "12\\xff34"


def test_an_unknown_flow_name_with_such_a_byte_is_recorded_and_metrics_still_answer(
    served: Served,
) -> None:
    call = served.call(flow_id="nope\udcff")
    assert call["record"].result == "no_flow"
    [written] = served.file_records()
    assert written["flowId"] == "nope\\xff"
    response = served.api.get("/metrics")
    assert response.status == 200
    assert 'callflow_calls_total{flow="none",result="no_flow"}' in response.body.decode()


@pytest.mark.parametrize(
    "contact",
    ['{"name": "\\udcff"}', "\udcff", "[" * 50_000],
    ids=["escaped-surrogate", "not-json", "nested-past-json-limit"],
)
def test_an_unusable_callflow_contact_does_not_stop_the_call(served: Served, contact: str) -> None:
    call = served.call(callflow_contact=contact)
    assert call["record"].result == "done"
    [written] = served.file_records()
    assert written["result"] == "done"


# -- disk full -------------------------------------------------------------------------------


def _not_ready(served: Served) -> dict[str, Any]:
    response = served.api.get("/readyz")
    assert response.status == 503, response.body
    return response.json()["checks"]


@pytest.mark.skipif(not DEV_FULL.exists(), reason="no /dev/full")
def test_disk_full_queues_records_then_writes_them_in_order(served: Served) -> None:
    path = served.records_path
    path.symlink_to(DEV_FULL)  # every write: ENOSPC
    lost_before = served.sample("callflow_records_dropped_total")
    queued = [served.call()["uuid"] for _ in range(3)]
    assert _not_ready(served)["records"] is False
    assert served.sample("callflow_records_pending") == 3
    assert served.sample("callflow_record_write_failures_total") >= 3

    path.unlink()  # space returns: a real file at the same path
    deadline = time.monotonic() + WAIT
    while served.controller.records.pending:  # the retry timer writes them, no new call needed
        assert time.monotonic() < deadline, "queued records were never written"
        gevent.sleep(0.05)
    last = served.call()["uuid"]
    assert [r["callId"] for r in served.file_records()] == [*queued, last]
    assert served.api.get("/readyz").json()["checks"]["records"] is True
    assert served.sample("callflow_records_pending") == 0
    assert served.sample("callflow_records_dropped_total") == lost_before


# `callflow run` whose records file may grow to LIMIT bytes: a real file on a real disk that
# takes the first record and part of the second (a short write), then refuses (EFBIG), until
# the test lifts the limit. SIGXFSZ is ignored, as a process that must survive it would.
LIMITED_RUN = """
import os, resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
_, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv[1]), hard))
os.execv(sys.executable, [sys.executable, "-m", "controller.cli", "run", *sys.argv[2:]])
"""


def _wait_for_ports(process: subprocess.Popen[bytes]) -> dict[str, int]:
    log = ProcessLog(process)
    pattern = r"(listening for FreeSWITCH|metrics and health) on (?:http://)?[\d.]+:(\d+)"
    ports: dict[str, int] = {}
    try:
        while len(ports) < 2:
            match = log.wait_for(pattern, WAIT)
            ports["socket" if match.group(1).startswith("listening") else "http"] = int(
                match.group(2)
            )
    finally:
        log.close()
    return ports


def test_a_short_write_leaves_no_half_line_and_the_records_follow_when_space_returns(
    tmp_path: Path,
) -> None:
    flows = _write_flows(tmp_path / "flows")
    records = tmp_path / "records" / "calls.jsonl"
    environment = {
        **os.environ,
        "CALLFLOW_FLOWS": str(flows),
        "CALLFLOW_ESL": "",
        "CALLFLOW_PROGRAMS_DB": "",
        "CALLFLOW_LOG_FORMAT": "json",
    }
    arguments = ["--listen", "127.0.0.1:0", "--http", "127.0.0.1:0", "--records", str(records)]
    arguments += ["--recordings", str(tmp_path / "recordings")]
    limit = 1200  # a record of this flow is ~800 bytes
    process = subprocess.Popen(
        [sys.executable, "-c", LIMITED_RUN, str(limit), *arguments],
        cwd=REPO,
        env=environment,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
    )
    simulator: Simulator | None = None
    try:
        ports = _wait_for_ports(process)
        api = ApiClient("127.0.0.1", ports["http"], None)
        simulator = Simulator(controller=("127.0.0.1", ports["socket"]))

        def call() -> str:
            assert simulator is not None
            placed = simulator.place_call(variables={"callflow_flow": "echo"})
            placed.wait(WAIT)  # the record is written (or queued) before the socket closes
            return placed.uuid

        uuids = [call() for _ in range(3)]
        on_disk = records.read_bytes()
        assert on_disk.endswith(b"\n") and on_disk.count(b"\n") == 1, on_disk[-200:]
        assert json.loads(on_disk)["callId"] == uuids[0]
        ready = api.get("/readyz")
        assert ready.status == 503 and ready.json()["checks"]["records"] is False
        assert "callflow_records_pending 2.0" in api.get("/metrics").body.decode()

        resource.prlimit(process.pid, resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY,) * 2)
        uuids.append(call())  # the queued records go out first, then this one
        lines = records.read_bytes().decode("utf-8").splitlines()
        assert [json.loads(line)["callId"] for line in lines] == uuids
        assert api.get("/readyz").status == 200
    finally:
        if simulator is not None:
            simulator.close()
        process.send_signal(signal.SIGTERM)
        _, errors = process.communicate(timeout=WAIT)
    failures = [
        line for line in errors.decode().splitlines() if "cannot write call records" in line
    ]
    assert len(failures) == 1, errors.decode()[-2000:]  # logged once for the outage
    assert "short write" in failures[0]  # the second record fitted in part: cut back off


# -- what one record may carry ---------------------------------------------------------------


def test_an_oversized_variable_is_cut_with_a_marker(served: Served) -> None:
    notes = "n" * 60_000  # callflow_contact may hold 64 KB
    served.call(flow_id="notes", callflow_contact=json.dumps({"notes": notes}))
    [written] = served.file_records()
    assert written["result"] == "done"
    kept = written["variables"]["customerNotes"]
    assert kept == "n" * MAX_TEXT + "…[truncated: 60000 characters]"
    assert written["truncated"] == ["variables.customerNotes"]


def test_a_flow_amplified_by_aliases_is_refused_at_load_naming_the_file(served: Served) -> None:
    anchor = "x" * (1024 * 1024 - 200)
    document = (
        "name: amplified\ngraph:\n  startNodeId: bye\n  nodes:\n"
        "    - id: bye\n      type: hangup\n"
        f'      config: {{reason: &big "{anchor}"}}\n'
        "notes:\n" + "  - *big\n" * 200
    )
    path = served.controller.settings.flows / "amplified.yaml"
    path.write_text(document)
    result = served.controller.flows.load_file(path)
    assert not result.valid
    [problem] = [p.as_text() for p in result.errors]
    assert problem == (
        f"{path}:7: document expands to more than 4 MiB of text (aliases repeating a large anchor?)"
    )
    assert "\n" not in problem
    call = served.call(flow_id="amplified")
    assert call["record"].result in ("no_flow", "invalid_flow")
    [written] = served.file_records()
    assert len(json.dumps(written)) < 10_000
