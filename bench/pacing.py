"""Dial pacing: originates per second sustained through callflow's Dialer and OutboundCalls.

The simulator's inbound side (event socket + `originate`, no sessions-per-second throttle)
runs in its own process (`python -m bench.pacing sim`); every callee is busy, so each call ends
at its dial node (Payment Reminder: dial -> onBusy -> hangup). This process is the
controller (runner.build, as `callflow run`) plus a simple token-bucket pacer that calls
`OutboundCalls.place()`; the product's campaign pacing comes later. Each originate is counted
as it is sent (`bgapi originate`), so the rate is what reached FreeSWITCH.

    .venv/bin/python -m bench.pacing
"""

from __future__ import annotations

import itertools
import shutil
import signal
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import gevent
from gevent.event import Event

from bench import cpu
from controller import runner
from controller.config import Settings
from controller.simulator import Simulator

RATE = 250.0  # originates per second
SECONDS = 10.0
RUNS = 3
BURST = 10  # tokens the bucket holds: how far the pacer may catch up after a stall
FLOW_ID = "payment-reminder"
TARGET_ERROR = 2.0  # percent
PROBE_RATE = 1000.0  # one short run well above the target: how much headroom there is


def sim_main() -> None:
    """The simulator's inbound side on a free port, every callee busy, until SIGTERM."""
    sim = Simulator(controller=("127.0.0.1", 9), record_frames=False)
    sim.add_callee("*", "busy")
    _, port = sim.start_inbound()
    stopping = Event()
    gevent.signal_handler(signal.SIGTERM, stopping.set)
    print(f"PORT {port}", flush=True)
    stopping.wait()
    sim.close()


def pace(controller: Any, rate: float, seconds: float) -> dict[str, Any]:
    """Place calls at `rate` per second for `seconds` with a token bucket; wait for records."""
    sent: list[float] = []
    bgapi = controller.esl.bgapi

    def counting_bgapi(command: str) -> Any:
        if command.startswith("originate"):
            sent.append(time.monotonic())
        return bgapi(command)

    controller.esl.bgapi = counting_bgapi
    results = []
    lags: list[float] = []
    cpu0 = time.process_time()
    start = time.monotonic()
    tokens, last, placed, total = 0.0, start, 0, int(rate * seconds)
    while placed < total:
        now = time.monotonic()
        tokens = min(BURST, tokens + (now - last) * rate)
        last = now
        while tokens >= 1 and placed < total:
            tokens -= 1
            placed += 1
            lags.append(now - (start + placed / rate))
            results.append(controller.outbound.place(FLOW_ID, to="0600000001"))
        gevent.sleep(max(0.0, (1 - tokens) / rate))
    placing_done = time.monotonic()
    gevent.joinall(results, timeout=30)
    finished = time.monotonic()
    cpu_used = time.process_time() - cpu0
    controller.esl.bgapi = bgapi
    records = [r.value for r in results if r.ready() and r.successful() and r.value is not None]
    window = sent[-1] - sent[0] if len(sent) > 1 else 0.0
    achieved = (len(sent) - 1) / window if window else 0.0
    gaps = [b - a for a, b in itertools.pairwise(sent)]
    return {
        "sent": len(sent),
        "achieved": achieved,
        "error": 100 * abs(achieved - rate) / rate,
        "records": len(records),
        "results": statistics.mode([str(r.result) for r in records]) if records else "-",
        "gap_p99_ms": 1000 * sorted(gaps)[int(0.99 * (len(gaps) - 1))] if gaps else 0.0,
        "max_lag_ms": 1000 * max(lags) if lags else 0.0,
        "drain_s": finished - placing_done,
        "cpu_util": cpu_used / (finished - start),
    }


def measure(rate: float = RATE, seconds: float = SECONDS) -> dict[str, Any]:
    proc, port = cpu.start_server([cpu.PYTHON, "-m", "bench.pacing", "sim"])
    runs = []
    try:
        with tempfile.TemporaryDirectory() as scratch:
            flows = Path(scratch) / "flows"
            flows.mkdir()
            shutil.copy(cpu.REPO / "flows" / f"{FLOW_ID}.yaml", flows)
            settings = replace(
                Settings(),
                flows=flows,
                audio=cpu.REPO / "audio",
                recordings=Path(scratch) / "recordings",
                records=Path(scratch) / "records" / "calls.jsonl",
                listen="127.0.0.1:0",
                esl=f"127.0.0.1:{port}",
                gateway="gw1",
                max_calls=10_000,
                http_listen=None,
            )
            controller = runner.build(settings)
            controller.start()
            assert controller.esl.wait_connected(10), controller.esl.last_error
            try:
                pace(controller, rate, 1.0)  # warm-up
                for _ in range(RUNS):
                    sim_cpu0 = cpu.cpu_seconds(proc.pid)
                    wall0 = time.monotonic()
                    result = pace(controller, rate, seconds)
                    wall = time.monotonic() - wall0
                    result["sim_util"] = (cpu.cpu_seconds(proc.pid) - sim_cpu0) / wall
                    runs.append(result)
                sim_cpu0, wall0 = cpu.cpu_seconds(proc.pid), time.monotonic()
                probe = pace(controller, PROBE_RATE, 3.0)
                probe["sim_util"] = (cpu.cpu_seconds(proc.pid) - sim_cpu0) / (
                    time.monotonic() - wall0
                )
            finally:
                controller.stop(drain_seconds=5)
    finally:
        cpu.stop_server(proc)
    medians = {
        key: statistics.median(r[key] for r in runs)
        for key in ("achieved", "error", "gap_p99_ms", "max_lag_ms", "cpu_util", "sim_util")
    }
    return {"runs": runs, "rate": rate, "seconds": seconds, "probe": probe, **medians}


def run() -> list[str]:
    r = measure()
    p = r["probe"]
    rate_ok = r["achieved"] >= RATE * (1 - TARGET_ERROR / 100)  # all sent, within the error
    error_ok = r["error"] <= TARGET_ERROR
    rate_verdict = "met" if rate_ok else f"missed by {RATE - r['achieved']:.1f}/s"
    error_verdict = "met" if error_ok else f"missed by {r['error'] - TARGET_ERROR:.2f} points"
    lines = [
        "## Dial pacing",
        "",
        f"Machine: {cpu.machine()}. Command: `.venv/bin/python -m bench.pacing`.",
        "",
        f"{RUNS} runs of {r['seconds']:g} s at {r['rate']:g} originates/s (after a 1 s "
        "warm-up), medians. A token bucket in the bench (gevent, holds "
        f"{BURST} tokens) calls `OutboundCalls.place('{FLOW_ID}')`; each originate is counted "
        "when its `bgapi originate` is sent. The simulator's inbound side runs in its own "
        "process, without FreeSWITCH's sessions-per-second throttle; every callee is busy, "
        "so each call ends at its dial node (USER_BUSY -> hangup-busy).",
        "",
        "| run | originates sent | achieved/s | error | records | gap p99 | pacer max lag "
        "| drain after last | controller busy | simulator busy |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for index, x in enumerate(r["runs"], 1):
        lines.append(
            f"| {index} | {x['sent']} | {x['achieved']:.1f} | {x['error']:.2f} % "
            f"| {x['records']} ({x['results']}) | {x['gap_p99_ms']:.1f} ms "
            f"| {x['max_lag_ms']:.1f} ms | {x['drain_s']:.2f} s | {100 * x['cpu_util']:.0f} % "
            f"| {100 * x['sim_util']:.0f} % |"
        )
    lines += [
        "",
        f"- Target >= {RATE:g}/s: **{r['achieved']:.1f}/s** ({rate_verdict}).",
        f"- Target pacing error <= {TARGET_ERROR:g} %: **{r['error']:.2f} %** ({error_verdict}).",
        f"- Headroom probe, one 3 s run at {PROBE_RATE:g}/s: {p['achieved']:.1f}/s achieved "
        f"({p['error']:.2f} % error), {p['records']} of {p['sent']} records, controller busy "
        f"{100 * p['cpu_util']:.0f} %, simulator busy {100 * p['sim_util']:.0f} %.",
        "- Busy = CPU seconds / wall seconds (100 % = one core): the controller has headroom "
        "at this rate when it is well below 100 %.",
        "",
    ]
    return lines


def main(argv: list[str]) -> int:
    if argv[:1] == ["sim"]:
        sim_main()
        return 0
    lines = run()
    sys.stdout.write("\n".join(lines) + "\n")
    cpu.write_section(cpu.REPO / "docs" / "bench-cpu.md", "pacing", lines)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
