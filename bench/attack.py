"""Flood: one unauthenticated client against a controller taking calls (issue #14, section 2).

`callflow run` in its own process (HTTP on, its default limits), and in this one a fake
FreeSWITCH (bench/connect.py's, answering `connect` and hanging up on `api uuid_kill`)
placing real calls at a steady rate, each through a two-node flow (answer, hangup). /healthz is
asked every HEALTH_EVERY seconds. Three phases:
- baseline: calls and /healthz only;
- attack: also SLOWLORIS half-sent GETs kept open on the HTTP port and IDLE connections to
  the call port that never answer `connect`. Whatever the controller closes is opened again
  (at most REOPEN_PER_SECOND a second per crowd), so both crowds stay near their size;
- recovery: the attack's sockets are closed; recovery ends when the controller's descriptor
  count is back to its baseline (+RECOVERED_SLACK) and /healthz answers under 100 ms.
A call fails when its `connect` is not served within SERVE_DEADLINE, or its record is missing
or says anything but the flow's own ending. Connect latency is measured as in bench/connect.py
(kernel receive stamps). The fake and the controller each get a core (bench/connect.py's
`own_cores`); on a machine shared with other work the baseline row shows the noise floor.

Knobs for finding where time goes: ATTACK_ONLY=slowloris|idle runs one crowd;
ATTACK_DEBUG=1 prints slow probes and failed calls and keeps the controller's log in
/tmp/attack-controller.log.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import selectors
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from bench.capacity import raise_fd_limit
from bench.connect import REPO, FakeCall, FakeSwitch, main, own_cores, percentile, verdict

RESULTS = REPO / "docs" / "bench-security.md"
SLOWLORIS = 2000
IDLE = 5000
CALL_RATE = 20.0  # real calls per second, in every phase
BASELINE_SECONDS = 5.0
ATTACK_SECONDS = 20.0
RECOVERY_BOUND = 30.0
AFTER_SECONDS = 3.0  # calls go on after recovery, to show they are served as before
HEALTH_EVERY = 0.1
HEALTH_TIMEOUT = 2.0
# How fast the attacker replaces what the controller closes. The idle crowd needs
# IDLE / connect_timeout (~1,700/s) to stay whole; every new slowloris connection past the
# HTTP cap takes the place of an older one, so its rate is the attacker's choice.
SLOWLORIS_REOPEN = 200
IDLE_REOPEN = 2000
DRIP_EVERY = 5.0  # seconds between the slowloris crowd's header lines
SERVE_DEADLINE = 10.0
RECOVERED_SLACK = 20  # descriptors
ATTACK_SOURCES = [f"127.0.0.{n}" for n in range(2, 10)]  # 8x the ephemeral ports
QUICK_FLOW = {
    "name": "Answer and hang up",
    "graph": {
        "startNodeId": "answer",
        "nodes": [
            {"id": "answer", "type": "answer", "outputs": {"onSuccess": "bye"}},
            {"id": "bye", "type": "hangup", "config": {"reason": "done"}},
        ],
    },
}
EXPECTED_RESULT = "done"


class ServingSwitch(FakeSwitch):
    """The fake FreeSWITCH, hanging up on `api uuid_kill` as FreeSWITCH does: the api reply,
    CHANNEL_HANGUP and CHANNEL_HANGUP_COMPLETE, then the socket closes."""

    def _command(self, call: FakeCall, line: str, headers: dict[str, str], body: str) -> None:
        if line.startswith("api uuid_kill"):
            self._send(call, b"Content-Type: api/response\nContent-Length: 4\n\n+OK\n")
            cause = line.rsplit(maxsplit=1)[-1]
            self._event(call, "CHANNEL_HANGUP", **{"Hangup-Cause": cause})
            self._event(call, "CHANNEL_HANGUP_COMPLETE", **{"Hangup-Cause": cause})
            self.close(call)
            return
        super()._command(call, line, headers, body)


@dataclass
class Crowd:
    """Attack connections kept at `size` (see the module docstring)."""

    selector: selectors.BaseSelector
    address: tuple[str, int]
    size: int
    reopen_per_second: int
    first: bytes  # sent on connecting
    drip: bytes = b""  # sent to every member every DRIP_EVERY seconds
    members: set[socket.socket] = field(default_factory=set)
    unsent: set[socket.socket] = field(default_factory=set)  # still connecting: `first` waits
    opened: int = 0
    closed_by_server: int = 0
    failed: int = 0  # connects refused or reset at once
    _budget: float = 0.0
    _filled_at: float = 0.0
    _dripped_at: float = 0.0

    def tend(self, now: float) -> None:
        rate = self.reopen_per_second  # steadily: at most 10 ms' worth at once
        self._budget = min(rate / 100, self._budget + (now - self._filled_at) * rate)
        self._filled_at = now
        while len(self.members) < self.size and self._budget >= 1:
            self._budget -= 1
            self._open(len(self.members) + self.opened)
        for sock in list(self.unsent):
            self._send_first(sock)
        if self.drip and now - self._dripped_at >= DRIP_EVERY:
            self._dripped_at = now
            for sock in self.members - self.unsent:
                with contextlib.suppress(OSError):
                    sock.send(self.drip)

    def _open(self, number: int) -> None:
        sock = socket.socket()
        sock.setblocking(False)
        try:
            sock.bind((ATTACK_SOURCES[number % len(ATTACK_SOURCES)], 0))
            sock.connect_ex(self.address)
        except OSError:
            self.failed += 1
            sock.close()
            return
        self.opened += 1
        self.members.add(sock)
        self.selector.register(sock, selectors.EVENT_READ, self)
        if self.first:
            self._send_first(sock)

    def _send_first(self, sock: socket.socket) -> None:
        try:
            sock.send(self.first)  # a few bytes into an empty buffer: all or nothing
            self.unsent.discard(sock)
        except (BlockingIOError, InterruptedError):
            self.unsent.add(sock)  # still connecting: next time round
        except OSError:
            self.unsent.discard(sock)  # refused or reset: its read will say so

    def readable(self, sock: socket.socket) -> None:
        try:
            data = sock.recv(65536)  # the greeting (ignored), a refusal, or the end
        except OSError:
            data = b""
        if not data:
            self.closed_by_server += 1
            self._drop(sock)

    def _drop(self, sock: socket.socket) -> None:
        self.members.discard(sock)
        self.unsent.discard(sock)
        self.selector.unregister(sock)
        sock.close()

    def disperse(self) -> None:
        for sock in list(self.members):
            self._drop(sock)


@dataclass
class Phase:
    name: str
    calls: list[FakeCall] = field(default_factory=list)
    health_ms: list[float] = field(default_factory=list)
    health_failed: int = 0
    seconds: float = 0.0
    controller_cpu: float = 0.0  # seconds of CPU the controller used in the phase
    own_cpu: float = 0.0  # and this process


class Controller:
    """`callflow run` with a config of its own; ports read from its log."""

    def __init__(self, cpu: int | None) -> None:
        self.scratch = tempfile.TemporaryDirectory()
        self.dir = Path(self.scratch.name)
        flows = self.dir / "flows"
        flows.mkdir()
        (flows / "quick.yaml").write_text(yaml.safe_dump(QUICK_FLOW, sort_keys=False))
        self.records = self.dir / "calls.jsonl"
        config = self.dir / "callflow.yaml"
        settings = {
            "flows": str(flows),
            "audio": str(REPO / "audio"),
            "recordings": str(self.dir / "recordings"),
            "records": str(self.records),
            "listen": "127.0.0.1:0",
            "http_listen": "127.0.0.1:0",
            "esl": "",
            "programs_db": "",
            "max_calls": 2000,
        }
        config.write_text(yaml.safe_dump(settings))
        self.log_path = self.dir / "controller.log"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "controller.cli", "run", "--config", str(config)],
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=self.log_path.open("w"),
        )
        if cpu is not None:
            os.sched_setaffinity(self.process.pid, {cpu})
        pattern = r"(listening for FreeSWITCH|metrics and health) on (?:http://)?([\d.]+):(\d+)"
        ports: dict[str, tuple[str, int]] = {}
        deadline = time.monotonic() + 30
        while len(ports) < 2:
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError(f"controller did not start: {self.log_path.read_text()}")
            for match in re.finditer(pattern, self.log_path.read_text()):
                kind = "socket" if match.group(1).startswith("listening") else "http"
                ports[kind] = (match.group(2), int(match.group(3)))
            time.sleep(0.05)
        self.calls, self.http = ports["socket"], ports["http"]
        self.descriptor_line = next(
            (line for line in self.log_path.read_text().splitlines() if "RLIMIT_NOFILE" in line),
            "",
        )

    def cpu_seconds(self) -> float:
        with open(f"/proc/{self.process.pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def descriptors(self) -> int:
        return len(os.listdir(f"/proc/{self.process.pid}/fd"))

    def metrics(self) -> str:
        return http_get(self.http, "/metrics", timeout=10)[1].decode()

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if os.environ.get("ATTACK_DEBUG"):
            shutil.copy(self.log_path, "/tmp/attack-controller.log")
        self.scratch.cleanup()


def http_get(address: tuple[str, int], path: str, timeout: float) -> tuple[int, bytes]:
    """(status, body) of one GET on a fresh connection; status 0 if it failed."""
    request = f"GET {path} HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n".encode()
    try:
        with socket.create_connection(address, timeout=timeout) as sock:
            sock.sendall(request)
            data = b""
            while chunk := sock.recv(65536):
                data += chunk
    except OSError:
        return 0, b""
    head, _, body = data.partition(b"\r\n\r\n")
    status = re.match(rb"HTTP/1\.[01] (\d{3})", head)
    return (int(status.group(1)) if status else 0), body


class Bench:
    def __init__(self, controller: Controller) -> None:
        self.controller = controller
        self.switch = ServingSwitch(controller.calls, variables={"callflow_flow": "quick"})
        self.selector = selectors.DefaultSelector()
        self.slowloris = Crowd(
            self.selector,
            controller.http,
            SLOWLORIS,
            SLOWLORIS_REOPEN,
            b"GET /healthz HTTP/1.1\r\nHost: bench\r\n",
            drip=b"X-Slow: 1\r\n",
        )
        self.idle = Crowd(self.selector, controller.calls, IDLE, IDLE_REOPEN, b"")
        self.phases: list[Phase] = []
        self.phase = Phase("starting")
        self.stopped = threading.Event()
        self.last_health = (0, float("inf"))
        self.peak_descriptors = 0

    def run_phase(
        self, phase: Phase, seconds: float, *, attack: bool, until: object = None
    ) -> float:
        """Calls for `seconds` (or until `until()`), /healthz probed meanwhile; returns the
        time it took."""
        self.phase = phase
        self.phases.append(phase)
        started = time.monotonic()
        cpu, own = self.controller.cpu_seconds(), time.process_time()
        next_call = next_look = started
        while True:
            now = time.monotonic()
            if (until is not None and until(now)) or now - started >= seconds:  # type: ignore[operator]
                phase.seconds = now - started
                phase.controller_cpu = self.controller.cpu_seconds() - cpu
                phase.own_cpu = time.process_time() - own
                return phase.seconds
            if os.environ.get("ATTACK_DEBUG") and attack and not hasattr(self, "t0"):
                self.t0 = now
                print(f"attack starts at {now:.2f}")
            while now >= next_call:
                phase.calls.append(self.switch.dial())
                next_call += 1 / CALL_RATE
            if attack:
                if os.environ.get("ATTACK_ONLY", "slowloris") == "slowloris":
                    self.slowloris.tend(now)
                if os.environ.get("ATTACK_ONLY", "idle") == "idle":
                    self.idle.tend(now)
            if now >= next_look:
                self.peak_descriptors = max(self.peak_descriptors, self.controller.descriptors())
                next_look = now + 0.5
            self.switch.poll(0.001)
            for key, _ in self.selector.select(0):
                key.data.readable(key.fileobj)

    def probe(self) -> None:
        """/healthz every HEALTH_EVERY, on a thread of its own (blocking sockets: a slow
        answer must not hold the calls up), into the phase running."""
        while not self.stopped.is_set():
            phase = self.phase
            started = time.perf_counter()
            status, _ = http_get(self.controller.http, "/healthz", HEALTH_TIMEOUT)
            took = (time.perf_counter() - started) * 1000
            phase.health_ms.append(took)
            if os.environ.get("ATTACK_DEBUG") and took > 100:
                print(f"slow healthz {took:.0f} ms at {time.monotonic():.2f} status {status}")
            phase.health_failed += status != 200
            self.last_health = (status, took)
            self.stopped.wait(HEALTH_EVERY)

    def run(self) -> dict[str, object]:
        baseline = self.phase = Phase("baseline")
        prober = threading.Thread(target=self.probe, daemon=True)
        prober.start()
        try:
            return self._phases(baseline)
        finally:
            self.stopped.set()
            prober.join(HEALTH_TIMEOUT * 2)

    def _phases(self, baseline: Phase) -> dict[str, object]:
        self.run_phase(baseline, BASELINE_SECONDS, attack=False)
        baseline_fds = self.controller.descriptors()
        self.run_phase(Phase("attack"), ATTACK_SECONDS, attack=True)
        attack_metrics = self.controller.metrics()
        self.slowloris.disperse()
        self.idle.disperse()
        self.last_health = (0, float("inf"))  # the next probe starts after the attack

        def recovered(_now: float) -> bool:
            status, took = self.last_health
            return (
                self.controller.descriptors() <= baseline_fds + RECOVERED_SLACK
                and status == 200
                and took < 100
            )

        recovery = self.run_phase(Phase("recovery"), RECOVERY_BOUND, attack=False, until=recovered)
        self.run_phase(Phase("after"), AFTER_SECONDS, attack=False)
        self.switch.run_until(lambda: self.switch.open == 0, SERVE_DEADLINE)
        final_metrics = self.controller.metrics()
        self.switch.close_all()
        return {
            "recovery": recovery,
            "recovered": recovery < RECOVERY_BOUND,
            "baseline_fds": baseline_fds,
            "attack_metrics": attack_metrics,
            "final_metrics": final_metrics,
        }


def _counters(text: str, name: str) -> dict[str, float]:
    found = {}
    for match in re.finditer(rf'^{name}\{{reason="(\w+)"\}} (\S+)$', text, re.M):
        found[match.group(1)] = float(match.group(2))
    return found


def _records(path: Path) -> dict[str, dict]:
    if not path.exists():
        return {}
    return {r["callId"]: r for r in map(json.loads, path.read_text().splitlines())}


def measure() -> list[str]:
    raise_fd_limit()
    cores, everywhere = own_cores(), os.sched_getaffinity(0)
    controller = Controller(cpu=cores[1] if cores else None)
    try:
        if cores:
            os.sched_setaffinity(0, {cores[0]})
        bench = Bench(controller)
        outcome = bench.run()
        time.sleep(0.5)  # the last records are written before their sockets close
        records = _records(controller.records)
    finally:
        os.sched_setaffinity(0, everywhere)
        controller.close()
    real = {call.uuid for phase in bench.phases for call in phase.calls}
    junk = len(set(records) - real)
    rows, failures = [], Counter()
    for phase in bench.phases:
        failed = 0
        for call in phase.calls:
            record = records.get(call.uuid)
            if call.served is None:
                failures["connect not served"] += 1
            elif record is None:
                failures["no record"] += 1
            elif record["result"] != EXPECTED_RESULT:
                failures[f"{record['result']}: {record.get('error')}"] += 1
            else:
                continue
            failed += 1
            if os.environ.get("ATTACK_DEBUG"):
                print("failed", call.uuid, call.started, call.served)
        served = [(c.served - c.started) * 1000 for c in phase.calls if c.served is not None]
        health = phase.health_ms or [float("nan")]
        rows.append(
            f"| {phase.name} | {len(phase.calls)} | {failed} | "
            f"{percentile(served, 0.5) if served else float('nan'):.2f} | "
            f"{percentile(served, 0.99) if served else float('nan'):.2f} | "
            f"{statistics.median(health):.1f} | {percentile(health, 0.99):.1f} | "
            f"{max(health):.1f} | {phase.health_failed} | "
            f"{phase.controller_cpu / phase.seconds:.0%} | {phase.own_cpu / phase.seconds:.0%} |"
        )
    attack = next(p for p in bench.phases if p.name == "attack")
    attack_p99 = percentile([(c.served - c.started) * 1000 for c in attack.calls if c.served], 0.99)
    attack_health = percentile(attack.health_ms, 0.99)
    total_failed = sum(failures.values())
    final = outcome["final_metrics"]
    abandoned = _counters(final, "callflow_outbound_connects_abandoned_total")  # type: ignore[arg-type]
    dropped = _counters(final, "callflow_http_connections_dropped_total")  # type: ignore[arg-type]
    fmt = ", ".join
    why = ": " + fmt(f"{k} x{v}" for k, v in failures.items()) if failures else ""
    return [
        "## Flood (one unauthenticated client)",
        "",
        *(
            [f"**ATTACK_ONLY={os.environ['ATTACK_ONLY']}: that crowd alone.**", ""]
            if os.environ.get("ATTACK_ONLY")
            else []
        ),
        f"`callflow run` (default limits: http_max_connections 256, header 10 s, body 10 s, "
        f"connect_timeout 3 s, call_fd_reserve 1024; {controller.descriptor_line.split(': ')[-1]}"
        f") in its own process; real calls at {CALL_RATE:g}/s (answer, hang up) from a fake "
        f"FreeSWITCH, /healthz every {HEALTH_EVERY * 1000:g} ms. Attack "
        f"({ATTACK_SECONDS:g} s): {SLOWLORIS} half-sent GETs (a header line every "
        f"{DRIP_EVERY:g} s) and {IDLE} connections to the call port that never answer "
        f"`connect`, each crowd refilled as the controller closes its members (at most "
        f"{SLOWLORIS_REOPEN}/s and {IDLE_REOPEN}/s). Connect = TCP connect to `connect` "
        "arriving (kernel stamp); times in ms.",
        "",
        "| phase | calls | failed | connect p50 | connect p99 | /healthz p50 | /healthz p99 "
        "| /healthz max | /healthz failed | controller CPU | fake+attacker CPU |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
        *rows,
        "",
        f"- attack connections opened: {bench.slowloris.opened} slowloris "
        f"({bench.slowloris.closed_by_server} closed by the controller), {bench.idle.opened} "
        f"idle on the call port ({bench.idle.closed_by_server} closed by the controller); "
        f"controller descriptors: {outcome['baseline_fds']} at baseline, "
        f"{bench.peak_descriptors} at the peak",
        f"- controller counters: outbound connects abandoned "
        f"{fmt(f'{k} {v:g}' for k, v in abandoned.items()) or 'none'}; HTTP connections dropped "
        f"{fmt(f'{k} {v:g}' for k, v in dropped.items()) or 'none'}",
        f"- records not of a real call (junk): {junk}",
        f"- target 0 failed calls: {'met' if not total_failed else '**missed**'} "
        f"({total_failed}{why})",
        f"- target connect p99 < 5 ms under attack: {verdict(round(attack_p99, 2), 5, 'ms')}",
        f"- target /healthz p99 < 100 ms under attack: "
        f"{verdict(round(attack_health, 1), 100, 'ms')}",
        f"- recovery (attack sockets closed until the controller's descriptors are back to "
        f"baseline +{RECOVERED_SLACK} and /healthz answers under 100 ms): "
        + (f"{outcome['recovery']:.2f} s" if outcome["recovered"] else "**not within bound**"),
        "",
    ]


def run() -> list[str]:
    return measure()


if __name__ == "__main__":
    main("attack", run(), results=RESULTS)
