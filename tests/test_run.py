"""`callflow run` as a user starts it: a subprocess, then a simulated call against it."""

from __future__ import annotations

import json
import re
import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
START_TIMEOUT = 30.0


def _wait_for_port(process: subprocess.Popen[str]) -> int:
    selector = selectors.DefaultSelector()
    assert process.stderr is not None
    selector.register(process.stderr, selectors.EVENT_READ)
    deadline = time.monotonic() + START_TIMEOUT
    seen = []
    while time.monotonic() < deadline:
        if not selector.select(timeout=deadline - time.monotonic()):
            break
        line = process.stderr.readline()
        if not line:
            break
        seen.append(line)
        match = re.search(r"listening for FreeSWITCH on [\d.]+:(\d+)", line)
        if match:
            return int(match.group(1))
    raise AssertionError(f"controller did not start: {''.join(seen)}")


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
            "--records",
            str(records),
            "--recordings",
            str(tmp_path / "recordings"),
        ],
        cwd=REPO,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    try:
        port = _wait_for_port(process)
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
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
