"""`callflow run` as a user starts it: a subprocess, then a simulated call against it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.error import HTTPError
from urllib.request import urlopen

import gevent
import pytest
from support.process_log import ProcessLog

from controller.simulator import Simulator

REPO = Path(__file__).resolve().parent.parent
START_TIMEOUT = 30.0


def _wait_for_ports(process: subprocess.Popen[bytes]) -> dict[str, int]:
    """The ports the controller logs it listens on: FreeSWITCH's socket and HTTP."""
    log = ProcessLog(process)
    pattern = r"(listening for FreeSWITCH|metrics and health) on (?:http://)?[\d.]+:(\d+)"
    ports: dict[str, int] = {}
    deadline = time.monotonic() + START_TIMEOUT
    try:
        while len(ports) < 2:
            match = log.wait_for(pattern, max(0.0, deadline - time.monotonic()))
            name = "socket" if match.group(1).startswith("listening") else "http"
            ports[name] = int(match.group(2))
    finally:
        log.close()
    return ports


def test_lines_written_at_once_are_each_seen() -> None:
    """The reason for ProcessLog: three lines in one write, then the process waits. A
    buffered readline() after select() would take all three into its buffer and hand out one;
    select() then never wakes for the other two."""
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; sys.stderr.write('a\\nb\\nc\\n'); sys.stderr.flush(); sys.stdin.read()",
        ],
        stdin=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    log = ProcessLog(child)
    try:
        assert [log.wait_for(p, START_TIMEOUT).group(0) for p in "abc"] == ["a", "b", "c"]
    finally:
        log.close()
        assert child.stdin is not None
        child.stdin.close()
        assert child.wait(timeout=START_TIMEOUT) == 0


def test_run_serves_a_call_from_the_simulator_and_stops_on_sigterm(tmp_path: Path) -> None:
    records = tmp_path / "calls.jsonl"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "controller.cli",
            "run",
            "--listen",
            "127.0.0.1:0",
            "--http",
            "127.0.0.1:0",
            "--records",
            str(records),
            "--recordings",
            str(tmp_path / "recordings"),
        ],
        cwd=REPO,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
    )
    try:
        ports = _wait_for_ports(process)
        port = ports["socket"]
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "controller.cli",
                "simulate",
                "flows/inbound-ivr.yaml",
                "--controller",
                f"127.0.0.1:{port}",
                "--records",
                str(records),
                "--caller",
                "press 2; speak 2s",
            ],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        assert "record-message (record): onComplete -> thanks" in result.stdout
        [line] = records.read_text().splitlines()
        record = json.loads(line)
        assert record["result"] == "completed"
        assert Path(record["recordings"][0]).parent == tmp_path / "recordings"
        http = f"http://127.0.0.1:{ports['http']}"
        metrics = urlopen(f"{http}/metrics", timeout=10).read().decode()
        assert 'callflow_calls_total{flow="inbound-ivr",result="completed"} 1.0' in metrics
        assert (
            'callflow_node_executions_total{flow="inbound-ivr",output="onComplete",type="record"}'
            in metrics
        )
        assert json.loads(urlopen(f"{http}/healthz", timeout=10).read()) == {"status": "ok"}
        with pytest.raises(HTTPError) as not_ready:  # no FreeSWITCH event socket here
            urlopen(f"{http}/readyz", timeout=10)
        assert not_ready.value.code == 503
        assert json.loads(not_ready.value.read())["checks"] == {
            "flows": True,
            "records": True,
            "event_socket": False,
        }
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0


def test_sigterm_ends_calls_in_progress_with_a_record_each(tmp_path: Path) -> None:
    flows = tmp_path / "flows"
    flows.mkdir()
    (flows / "wait.yaml").write_text(
        "name: Wait\ngraph:\n  startNodeId: menu\n  nodes:\n"
        "    - {id: menu, type: dtmf, config: {timeout: 60000}, outputs: {default: end}}\n"
        "    - {id: end, type: hangup}\n"
    )
    records = tmp_path / "calls.jsonl"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "controller.cli",
            "run",
            "--listen",
            "127.0.0.1:0",
            "--http",
            "127.0.0.1:0",
            "--flows",
            str(flows),
            "--records",
            str(records),
        ],
        cwd=REPO,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        env={**os.environ, "CALLFLOW_SHUTDOWN_GRACE": "0.5", "CALLFLOW_ESL": ""},
    )
    simulator = Simulator(("127.0.0.1", _wait_for_ports(process)["socket"]), clock="real")
    try:
        calls = [
            simulator.place_call("silent", variables={"callflow_flow": "wait"}) for _ in range(3)
        ]
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not all(
            "play_and_get_digits" in c.outcome.app_names for c in calls
        ):
            gevent.sleep(0.05)  # bounded: until every call waits in its menu
        process.send_signal(signal.SIGTERM)
        outcomes = [c.wait(30, until="hangup") for c in calls]
        assert process.wait(timeout=30) == 0
    finally:
        simulator.close()
        if process.poll() is None:
            process.kill()
    assert [(o.hangup_cause, o.hangup_by) for o in outcomes] == [
        ("SYSTEM_SHUTDOWN", "controller")
    ] * 3
    written = [json.loads(line) for line in records.read_text().splitlines()]
    assert sorted(r["result"] for r in written) == ["shutdown"] * 3
