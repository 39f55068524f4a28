"""CPU per completed call: callflow's real server running the inbound Payment Reminder.

Three processes on loopback: this driver, the controller (`python -m bench.cpu serve`) and
the simulator (`python -m bench.cpu simulate ...`, simulated clock, FreeSWITCH's event mix).
The controller's CPU (user + system, /proc/<pid>/stat) is read before and after each run, so
only the calls are counted; the simulator reports its own CPU so it is clear it is not the
limit. bench/greenswitch_baseline.py measures a greenswitch application the same way.

    .venv/bin/python -m bench.cpu            # 3 runs of 2,000 calls, 50 at once, + a profile
"""

from __future__ import annotations

import cProfile
import io
import json
import os
import pstats
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import gevent
from gevent.event import Event
from gevent.pool import Pool

from bench import greenswitch_baseline
from controller.config import Settings
from controller.flowstore import FlowStore
from controller.records import RecordWriter
from controller.server import CallServer
from controller.simulator import Simulator

REPO = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
CALLS = int(os.environ.get("BENCH_CPU_CALLS", "2000"))
CONCURRENCY = 50
RUNS = 3
WARMUP = 200
PROFILE_CALLS = 1000
FLOW_ID = "payment-reminder-inbound"
CALLER = "press 1 after 0.5s"
TICK = os.sysconf("SC_CLK_TCK")

# The flow guide's Payment Reminder, inbound: no dial node (the caller rang us).
INBOUND_FLOW = """\
name: Payment Reminder (inbound)
graph:
  startNodeId: answer
  nodes:
    - {id: answer, type: answer, outputs: {onSuccess: play-greeting}}
    - id: play-greeting
      type: play
      config: {audioItems: [{type: audioFile, audioId: greeting-audio-id}]}
      outputs: {onComplete: collect-response}
    - id: collect-response
      type: dtmf
      config:
        mode: single_digit
        variable: customerResponse
        timeout: 10000
        singleDigitConfig: {allowedDigits: ["1", "2"]}
      outputs:
        branches: {"1": play-confirmed, "2": play-callback}
        onTimeout: hangup-timeout
    - id: play-confirmed
      type: play
      config: {audioItems: [{type: audioFile, audioId: confirmed-audio-id}]}
      outputs: {onComplete: hangup-success}
    - id: play-callback
      type: play
      config: {audioItems: [{type: audioFile, audioId: callback-audio-id}]}
      outputs: {onComplete: hangup-success}
    - {id: hangup-success, type: hangup, config: {reason: completed}}
    - {id: hangup-timeout, type: hangup, config: {reason: dtmf_timeout}}
"""


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far (its threads included)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def machine() -> str:
    model = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    return f"{os.cpu_count()} cores ({model}), Python {sys.version.split()[0]}"


# -- the simulator process ------------------------------------------------------------------


def simulate(host: str, port: int, calls: int, concurrency: int) -> dict[str, Any]:
    """Place `calls` calls, `concurrency` at a time; count those that ran the whole flow."""
    sim = Simulator(
        controller=(host, port), clock="simulated", audio_check=False, record_frames=False
    )
    # As the shipped dialplan (freeswitch-conf/dialplan/callflow.xml) hands calls over.
    variables = {
        "callflow_flow": FLOW_ID,
        "destination_number": "1000",
        "playback_terminators": "none",
    }
    counts = {"completed": 0, "failed": 0}
    examples: list[str] = []

    def one(_: int) -> None:
        call = sim.place_call(caller=CALLER, variables=variables)
        try:
            outcome = call.wait(timeout=60)
        except TimeoutError as exc:
            counts["failed"] += 1
            examples.append(str(exc))
            return
        names = outcome.app_names
        plays = [run.arg for run in outcome.apps if run.name == "playback"]
        ok = (
            outcome.hangup_by == "controller"
            and "play_and_get_digits" in names
            and len(plays) == 2
            and "confirmed" in plays[1]
        )
        counts["completed" if ok else "failed"] += 1
        if not ok and len(examples) < 3:
            examples.append(f"{names} by={outcome.hangup_by} error={outcome.error}")

    cpu0, wall0 = time.process_time(), time.perf_counter()
    Pool(concurrency).map(one, range(calls))
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    sim.close()
    gevent.sleep(0)
    return {**counts, "wall": wall, "sim_cpu": cpu, "examples": examples}


# -- the controller process -----------------------------------------------------------------


def serve(profile_path: str | None) -> None:
    """callflow's real outbound-socket server on 127.0.0.1:<free port>, until SIGTERM."""
    with tempfile.TemporaryDirectory(prefix="bench-cpu-") as scratch:
        _serve_in(Path(scratch), profile_path)


def _serve_in(scratch: Path, profile_path: str | None) -> None:
    (scratch / "flows").mkdir()
    (scratch / "flows" / f"{FLOW_ID}.yaml").write_text(INBOUND_FLOW)
    settings = replace(
        Settings(),
        flows=scratch / "flows",
        audio=REPO / "audio",
        recordings=scratch / "recordings",
        records=scratch / "records" / "calls.jsonl",
        listen="127.0.0.1:0",
        max_calls=10_000,
    )
    flows = FlowStore(settings.flows, audio_root=settings.audio)
    flows.load_all()
    assert flows.get(FLOW_ID) is not None, flows.problems(FLOW_ID)
    server = CallServer(settings, flows, RecordWriter(settings.records))
    server.start()
    profiler = cProfile.Profile() if profile_path else None
    if profiler is not None:
        profiler.enable()
    stopping = Event()
    gevent.signal_handler(signal.SIGTERM, stopping.set)
    print(f"PORT {server.address[1]}", flush=True)
    stopping.wait()
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(profile_path)
    server.stop(timeout=2)
    server.records.close()


# -- the driver -----------------------------------------------------------------------------


def start_server(command: list[str]) -> tuple[subprocess.Popen[str], int]:
    proc = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith("PORT "):
        proc.kill()
        raise RuntimeError(f"server did not start: {line!r}")
    return proc, int(line.split()[1])


def stop_server(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def load(port: int, calls: int, server_pid: int) -> dict[str, Any]:
    """One run: the simulator process places the calls; the server's CPU is read around it."""
    before = cpu_seconds(server_pid)
    args = [PYTHON, "-m", "bench.cpu", "simulate", "127.0.0.1", str(port), str(calls)]
    done = subprocess.run(
        [*args, str(CONCURRENCY)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode:
        raise RuntimeError(f"simulator failed: {done.stderr[-2000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["server_cpu"] = cpu_seconds(server_pid) - before
    completed = max(1, result["completed"])
    result["rate"] = result["completed"] / result["wall"]
    result["ms_per_call"] = result["server_cpu"] * 1000 / completed
    result["sim_ms_per_call"] = result["sim_cpu"] * 1000 / completed
    return result


def measure(command: list[str], calls: int = CALLS) -> dict[str, Any]:
    """Warm the server up, then RUNS runs of `calls`; medians of rate and CPU per call."""
    proc, port = start_server(command)
    try:
        load(port, WARMUP, proc.pid)
        runs = [load(port, calls, proc.pid) for _ in range(RUNS)]
    finally:
        stop_server(proc)
    return {
        "runs": runs,
        "calls": calls,
        "completed": [r["completed"] for r in runs],
        "failed": sum(r["failed"] for r in runs),
        "examples": [e for r in runs for e in r["examples"]][:3],
        "rate": statistics.median(r["rate"] for r in runs),
        "ms_per_call": statistics.median(r["ms_per_call"] for r in runs),
        "sim_ms_per_call": statistics.median(r["sim_ms_per_call"] for r in runs),
        "server_util": statistics.median(r["server_cpu"] / r["wall"] for r in runs),
        "sim_util": statistics.median(r["sim_cpu"] / r["wall"] for r in runs),
    }


def profile(top: int = 14) -> list[str]:
    """cProfile of the controller over PROFILE_CALLS calls: the functions with most own time."""
    with tempfile.TemporaryDirectory() as scratch:
        path = str(Path(scratch) / "controller.prof")
        proc, port = start_server([PYTHON, "-m", "bench.cpu", "serve", path])
        try:
            load(port, PROFILE_CALLS, proc.pid)
        finally:
            stop_server(proc)
        stats = pstats.Stats(path, stream=io.StringIO())
    total = sum(row[2] for row in stats.stats.values())  # type: ignore[attr-defined]
    rows = sorted(stats.stats.items(), key=lambda item: item[1][2], reverse=True)  # type: ignore[attr-defined]
    lines = ["| function | own time | calls per call |", "|---|---|---|"]
    for (file, line, name), (_, ncalls, tottime, _, _) in rows[:top]:
        where = file.replace(str(REPO) + "/", "").replace(sys.prefix + "/", "")
        where = where.split("site-packages/")[-1]
        lines.append(
            f"| `{name}` ({where}:{line}) | {100 * tottime / total:.1f} % "
            f"| {ncalls / PROFILE_CALLS:.1f} |"
        )
    return lines


def run() -> list[str]:
    result = measure([PYTHON, "-m", "bench.cpu", "serve"])
    base = greenswitch_baseline.measure_baseline()
    ratio = result["ms_per_call"] / base["ms_per_call"]
    speed = result["rate"] / base["rate"]
    cpu_speed = base["ms_per_call"] / result["ms_per_call"]
    met = "met" if ratio <= 0.60 else f"missed by {100 * (ratio - 0.60):.0f} points"
    lines = [
        "## CPU per completed call (inbound Payment Reminder)",
        "",
        f"Machine: {machine()}. Command: `.venv/bin/python -m bench.cpu`.",
        "",
        f"{RUNS} runs of {CALLS:,} calls each ({CONCURRENCY} at once, after {WARMUP} warm-up "
        "calls), medians. Flow: answer, play greeting, one-digit DTMF menu (the caller presses "
        "1 after 0.5 s), play confirmation, hang up. The simulator runs in its own process on "
        "its simulated clock (media costs no real time) and emits FreeSWITCH's event mix; the "
        "controller's CPU is user + system time from /proc, counted only while calls run.",
        "",
        "| server | completed | calls/s | controller CPU per call | controller busy "
        "| simulator CPU per call | simulator busy |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, r in (("callflow", result), ("greenswitch 0.0.19 (baseline)", base)):
        lines.append(
            f"| {name} | {'/'.join(str(c) for c in r['completed'])} of {r['calls']:,} "
            f"| {r['rate']:.0f} | {r['ms_per_call']:.2f} ms | {100 * r['server_util']:.0f} % "
            f"| {r['sim_ms_per_call']:.2f} ms | {100 * r['sim_util']:.0f} % |"
        )
    lines += [
        "",
        f"- Target: callflow's CPU per call <= 60 % of the baseline's: **{100 * ratio:.0f} %** "
        f"(callflow uses {1 / cpu_speed:.2f}x the baseline's CPU per call), target {met}.",
        f"- Throughput: callflow {speed:.2f}x the baseline's calls/s (target >= 1.6x: "
        f"{'met' if speed >= 1.6 else 'missed'}).",
        "- Busy = CPU seconds / wall seconds of the run (100 % = one core).",
        "",
    ]
    for name, r in (("callflow", result), ("baseline", base)):
        if r["failed"]:
            lines.append(f"- {name}: {r['failed']} calls did not complete: {r['examples']}")
    lines += [
        "",
        f"### Where callflow's CPU goes (cProfile, {PROFILE_CALLS:,} calls, own time)",
        "",
        *profile(),
        "",
    ]
    return lines


def main(argv: list[str]) -> int:
    if argv[:1] == ["serve"]:
        serve(argv[1] if len(argv) > 1 else None)
        return 0
    if argv[:1] == ["simulate"]:
        host, port, calls, concurrency = argv[1], int(argv[2]), int(argv[3]), int(argv[4])
        print(json.dumps(simulate(host, port, calls, concurrency)), flush=True)
        return 0
    lines = run()
    out = REPO / "docs" / "bench-cpu.md"
    sys.stdout.write("\n".join(lines) + "\n")
    write_section(out, "cpu", lines)
    return 0


def write_section(path: Path, key: str, lines: list[str]) -> None:
    """Replace this benchmark's section of docs/bench-cpu.md (the others' stay)."""
    start, end = f"<!-- bench:{key} -->", f"<!-- /bench:{key} -->"
    text = path.read_text() if path.exists() else "# CPU per call and dial pacing\n\n"
    block = "\n".join([start, *lines, end])
    if start in text and end in text:
        head, _, rest = text.partition(start)
        text = head + block + rest.partition(end)[2]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    path.write_text(text)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
