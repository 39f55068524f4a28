"""`callflow run` as a real subprocess against the simulator's event socket, for program tests
that kill or share controllers (tests/programs/test_kill9.py, test_shared_program.py)."""

from __future__ import annotations

import shutil
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gevent
import yaml
from gevent import subprocess as gsubprocess

from support.harness import REPO

FIXTURES = REPO / "tests" / "fixtures" / "programs"
WAIT = 60.0


def wait_until(condition: Callable[[], bool], what: str, timeout: float = WAIT) -> None:
    """Wait for a condition of another process (its database, the simulator's calls)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        gevent.sleep(0.05)  # lets the simulator's greenlets run while we poll


def write_config(
    directory: Path, esl: tuple[str, int], programs_db: Path | str, **settings: Any
) -> Path:
    """A controller's settings: its own flows (quick-dial), records and free listen port."""
    directory.mkdir(parents=True, exist_ok=True)
    flows = directory / "flows"
    flows.mkdir()
    shutil.copy(FIXTURES / "flows" / "quick-dial.yaml", flows)
    config = directory / "callflow.yaml"
    values = {
        "flows": str(flows),
        "audio": str(REPO / "audio"),
        "recordings": str(directory / "recordings"),
        "records": str(directory / "records" / "calls.jsonl"),
        "listen": "127.0.0.1:0",
        "http_listen": "",
        "esl": f"{esl[0]}:{esl[1]}",
        "gateway": "gw1",
        "programs_db": str(programs_db),
        "shutdown_grace": 2,
        **settings,
    }
    config.write_text(yaml.safe_dump(values))
    return config


def start_controller(config: Path, log: Path) -> gsubprocess.Popen:
    return gsubprocess.Popen(
        [sys.executable, "-m", "controller.cli", "run", "--config", str(config)],
        cwd=REPO,
        stdout=gsubprocess.DEVNULL,
        stderr=log.open("ab"),
    )


def stop(process: gsubprocess.Popen) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except gsubprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)
