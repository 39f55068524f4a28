"""Capacity: calls held at once by one controller process, each waiting in a dtmf node.

A fake FreeSWITCH in this process (bench/connect.py's `FakeSwitch`) ramps up calls to the
controller (its own process) and leaves each one's play_and_get_digits pending. At the peak it
reads the controller's RSS (/proc) and its CPU time over 10 s of idle holding, then presses 1
on every call and checks each call's record. The controller also times its garbage
collections: each one stops every call while it runs.
"""

from __future__ import annotations

import gc
import json
import logging
import os
import re
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import gevent
import greenswitch
import yaml
from gevent.server import StreamServer

from bench.connect import REPO, FakeSwitch, main, verdict
from controller.config import Settings
from controller.flowstore import FlowStore
from controller.records import RecordWriter
from controller.server import CallServer

TARGET = 10_000
MINIMUM = 2_000
BATCH = 500
RAMP_BUDGET = 90.0  # seconds: stop ramping (and say so) if the machine is slower than this
IDLE_SECONDS = 10.0
RUNS = 3
WARMUP = 50

HOLD_FLOW = {
    "name": "Hold in a menu",
    "graph": {
        "startNodeId": "menu",
        "nodes": [
            {
                "id": "menu",
                "type": "dtmf",
                "config": {"timeout": 120000, "singleDigitConfig": {"allowedDigits": ["1", "2"]}},
                "outputs": {"branches": {"1": "pressed", "2": "other"}, "default": "other"},
            },
            {"id": "pressed", "type": "hangup", "config": {"reason": "pressed-1"}},
            {"id": "other", "type": "hangup", "config": {"reason": "other"}},
        ],
    },
}


# -- the controller, in its own process ------------------------------------------------------


def raise_fd_limit() -> int:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


class Controller:
    """`python -m bench.capacity serve ...` as a child process; `stats()` asks it over a
    control socket for active calls, records written, RSS and CPU time."""

    def __init__(self, kind: str = "callflow", *, cpu: int | None = None) -> None:
        self.scratch = tempfile.TemporaryDirectory()
        self.dir = Path(self.scratch.name)
        (self.dir / "flows").mkdir()
        (self.dir / "flows" / "hold.yaml").write_text(yaml.safe_dump(HOLD_FLOW, sort_keys=False))
        self.log = (self.dir / "controller.log").open("w")
        self._control: socket.socket | None = None
        command = [sys.executable, "-m", "bench.capacity", "serve", kind, str(self.dir)]
        self.process = subprocess.Popen(
            command, cwd=REPO, stdout=subprocess.PIPE, stderr=self.log, text=True
        )
        if cpu is not None:  # see bench/connect.py: own_cores()
            os.sched_setaffinity(self.process.pid, {cpu})
        line = self.process.stdout.readline() if self.process.stdout else ""
        if not line.startswith("ready"):
            self.close()
            raise RuntimeError(f"controller did not start: {line!r}, see {self.log.name}")
        _, port, control = line.split()
        self.address = ("127.0.0.1", int(port))
        self._control = (
            socket.create_connection(("127.0.0.1", int(control))) if control != "0" else None
        )
        self._control_file = self._control.makefile("rw") if self._control else None

    @property
    def records_path(self) -> Path:
        return self.dir / "calls.jsonl"

    def stats(self) -> dict:
        """Active calls, records written, RSS, CPU time, and the longest garbage collection
        since the last stats (with the count of full ones so far)."""
        return self._ask("stats")

    def full_collection_ms(self) -> float:
        """How long a full garbage collection takes in the controller now."""
        return float(self._ask("collect")["ms"])

    def _ask(self, command: str) -> dict:
        assert self._control_file is not None
        self._control_file.write(command + "\n")
        self._control_file.flush()
        return json.loads(self._control_file.readline())

    def close(self) -> None:
        if self._control is not None:
            self._control.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()
        self.scratch.cleanup()

    def __enter__(self) -> Controller:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _rss_kb() -> int:
    with open("/proc/self/status") as status:
        return int(re.search(r"VmRSS:\s+(\d+)", status.read()).group(1))  # type: ignore[union-attr]


class GcPauses:
    """gc.callbacks: the longest collection (ms) and how many full ones (generation 2)."""

    def __init__(self) -> None:
        self.longest_ms = 0.0
        self.full = 0
        self._started = 0.0

    def observe(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
            return
        self.longest_ms = max(self.longest_ms, (time.perf_counter() - self._started) * 1000)
        self.full += info["generation"] == 2


def serve(kind: str, directory: str) -> None:
    """The child process: serve calls on 127.0.0.1 until terminated."""
    raise_fd_limit()
    logging.basicConfig(level=logging.ERROR, stream=sys.stderr)
    if kind == "greenswitch":

        class Trivial:
            def __init__(self, session: object) -> None:
                self.session = session

            def run(self) -> None:
                self.session.myevents()  # type: ignore[attr-defined]
                self.session.linger(5)  # type: ignore[attr-defined]

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        server = greenswitch.OutboundESLServer("127.0.0.1", port, Trivial, max_connections=20000)
        listener = gevent.spawn(server.listen)
        gevent.sleep(0.2)
        print(f"ready {port} 0", flush=True)
        listener.join()
        return

    base = Path(directory)
    settings = replace(
        Settings(),
        flows=base / "flows",
        audio=REPO / "audio",
        recordings=base / "recordings",
        records=base / "calls.jsonl",
        listen="127.0.0.1:0",
        max_calls=20000,
        esl="",
    )
    flows = FlowStore(settings.flows, audio_root=settings.audio)
    flows.load_all()
    calls = CallServer(settings, flows, RecordWriter(settings.records))
    calls.start()
    pauses = GcPauses()
    gc.callbacks.append(pauses.observe)

    def control(sock: socket.socket, _address: object) -> None:
        stream = sock.makefile("rw")
        for line in stream:
            if line.strip() == "collect":  # a full collection now: how long it stops calls
                started = time.perf_counter()
                gc.collect()
                stream.write(json.dumps({"ms": (time.perf_counter() - started) * 1000}) + "\n")
                stream.flush()
                continue
            usage = resource.getrusage(resource.RUSAGE_SELF)
            stats = {
                "active": calls.active,
                "written": calls.records.written,
                "rss_kb": _rss_kb(),
                "cpu": usage.ru_utime + usage.ru_stime,
                "gc_longest_ms": pauses.longest_ms,
                "gc_full": pauses.full,
            }
            pauses.longest_ms = 0.0  # per interval between two stats
            stream.write(json.dumps(stats) + "\n")
            stream.flush()

    control_server = StreamServer(("127.0.0.1", 0), control)
    control_server.start()
    print(f"ready {calls.address[1]} {control_server.address[1]}", flush=True)
    gevent.wait()


def _hold(switch: FakeSwitch, count: int, timeout: float) -> bool:
    for index in range(count):
        switch.dial()
        if index % 50 == 49:
            switch.poll(0)
    return switch.run_until(lambda: switch.held == switch.open == len(switch.calls), timeout)


def _release(switch: FakeSwitch, controller: Controller, expected: int) -> None:
    for index, call in enumerate(switch.calls):
        switch.release(call, "1")
        if index % 200 == 199:
            switch.poll(0)
    switch.run_until(lambda: switch.open == 0, 60)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        stats = controller.stats()
        if stats["active"] == 0 and stats["written"] >= expected:
            return
        time.sleep(0.2)


def one_run() -> dict[str, float]:
    with Controller() as controller:
        warm = FakeSwitch(controller.address, hold=frozenset({"play_and_get_digits"}))
        _hold(warm, WARMUP, 30)
        _release(warm, controller, WARMUP)
        warm.close_all()
        before = controller.stats()

        switch = FakeSwitch(controller.address, hold=frozenset({"play_and_get_digits"}))
        started = time.monotonic()
        while len(switch.calls) < TARGET and time.monotonic() - started < RAMP_BUDGET:
            if not _hold(switch, BATCH, RAMP_BUDGET):
                break
        ramp = time.monotonic() - started
        held = switch.held
        peak = controller.stats()
        time.sleep(IDLE_SECONDS)
        idle = controller.stats()
        full_collection = controller.full_collection_ms()  # after the idle CPU reading
        controller.stats()  # the longest pause so far is now the forced one: left out

        _release(switch, controller, WARMUP + len(switch.calls))
        after = controller.stats()
        switch.close_all()
        records = [json.loads(line) for line in controller.records_path.read_text().splitlines()]
        mine = records[WARMUP:]
        correct = sum(
            1
            for r in mine
            if r["result"] == "pressed-1"
            and [d.get("digits") for d in r["digits"]] == ["1"]
            and [s["nodeId"] for s in r["path"]][:2] == ["menu", "pressed"]
        )
        return {
            "held": held,
            "dialled": len(switch.calls),
            "ramp_s": ramp,
            "kb_per_call": (peak["rss_kb"] - before["rss_kb"]) / max(held, 1),
            "rss_mb": peak["rss_kb"] / 1024,
            "base_mb": before["rss_kb"] / 1024,
            "idle_cpu_pct": (idle["cpu"] - peak["cpu"]) / IDLE_SECONDS * 100,
            "records": len(mine),
            "correct": correct,
            "stuck": after["active"],
            "client_failed": switch.failed,
            # collections that happened on their own, ramp and release (not the forced one)
            "gc_longest_ms": max(s["gc_longest_ms"] for s in (peak, idle, after)),
            "gc_full": after["gc_full"] - before["gc_full"] - 1,
            "gc_forced_ms": full_collection,
        }


def run() -> list[str]:
    raise_fd_limit()
    runs = [one_run() for _ in range(RUNS)]
    med = {key: statistics.median(r[key] for r in runs) for key in runs[0]}
    held = int(med["held"])
    reached = (
        f"reached the {TARGET:,} target"
        if held >= TARGET
        else f"**only {held:,} of {TARGET:,}** within the {RAMP_BUDGET:g} s ramp budget"
    )
    all_ok = all(r["correct"] == r["held"] == r["records"] for r in runs)
    per_run = ", ".join(
        f"{r['held']:,.0f} held / {r['kb_per_call']:.1f} KB / {r['idle_cpu_pct']:.2f} %"
        for r in runs
    )
    return [
        "## Capacity",
        "",
        "Calls held at once by one controller process, each inside a dtmf node "
        "(play_and_get_digits pending at a fake FreeSWITCH in another process, 127.0.0.1), "
        f"ramped in batches of {BATCH}; then every call is released with a key press and its "
        f"record checked. Memory: controller RSS (/proc) at the peak minus after {WARMUP} "
        f"warm-up calls, per held call. CPU: controller process CPU time over "
        f"{IDLE_SECONDS:g} s of idle holding. Median of {RUNS} runs, each a fresh controller.",
        "",
        "| figure | value |",
        "|---|---|",
        f"| calls held at once | {held:,} ({reached}; ramp {med['ramp_s']:.1f} s) |",
        f"| memory per held call | {med['kb_per_call']:.1f} KB (RSS {med['base_mb']:.0f} MB "
        f"-> {med['rss_mb']:.0f} MB) |",
        f"| CPU while idle-holding | {med['idle_cpu_pct']:.2f} % of a core |",
        f"| records written / correct (pressed-1, digits ['1'], path menu->pressed) | "
        f"{med['records']:,.0f} / {med['correct']:,.0f} |",
        f"| calls still active after release | {med['stuck']:.0f} |",
        f"| garbage collection on its own: longest pause (ramp, holding, release); full ones | "
        f"{med['gc_longest_ms']:.1f} ms; {med['gc_full']:.0f} |",
        f"| a full collection forced at the peak (every call waits this long) | "
        f"{med['gc_forced_ms']:.0f} ms |",
        "",
        f"- per run (held / KB per call / idle CPU): {per_run}",
        f"- every call answered correctly in every run: {'yes' if all_ok else '**no**'}",
        f"- target <= 30 KB per call: {verdict(round(med['kb_per_call'], 1), 30, 'KB')}",
        f"- target <= 2 % of a core idle: {verdict(round(med['idle_cpu_pct'], 2), 2, '%')}",
        f"- target {TARGET:,} calls (at least {MINIMUM:,}): "
        + ("met" if held >= TARGET else ("partly" if held >= MINIMUM else "**missed**")),
        "",
    ]


if __name__ == "__main__":
    if sys.argv[1:2] == ["serve"]:
        serve(sys.argv[2], sys.argv[3])
    else:
        main("capacity", run())
