"""Call records: what encoding one costs, what bounding a huge one costs, and how long the event
loop is held while 10,000 queued records are written after a disk-full outage.

`python -m bench.records` prints a Markdown section (recorded in docs/bench-records.md).
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from controller.records import CallRecord, RecordWriter, Step, encode_record

CALLS = 20_000
REPEATS = 5
QUEUED = 10_000


def typical() -> CallRecord:
    """An IVR call's record: 12 steps, a digit, two variables (~2.3 KB)."""
    record = CallRecord(
        callId="6f1c0000-0000-0000-0000-000000009a7e",
        flowId="inbound-ivr",
        flowName="Inbound IVR",
        flowVersion="a131b90adc6a",
    )
    for index in range(12):
        record.path.append(
            Step(nodeId=f"node{index}", type="play", output="onComplete", next=f"node{index + 1}")
        )
    record.variables = {"customerResponse": "2", "_unsetReads": ["contact.firstName"]}
    record.digits = [{"nodeId": "menu", "attempt": 1, "digits": "2", "invalid": None}]
    return record


def cpu_per_call(function: Callable[[], object], count: int) -> float:
    """Median CPU seconds per call of `function` (process time: other load does not count)."""
    runs = []
    for _ in range(REPEATS):
        started = time.process_time()
        for _ in range(count):
            function()
        runs.append((time.process_time() - started) / count)
    return statistics.median(runs)


def run() -> list[str]:
    record = typical()
    size = len(encode_record(record))

    def encode_as_before() -> bytes:
        return (json.dumps(record.as_dict(), ensure_ascii=False, default=str) + "\n").encode()

    before = cpu_per_call(encode_as_before, CALLS)
    now = cpu_per_call(lambda: encode_record(record), CALLS)
    huge = CallRecord(callId="huge", error="x" * 10_000_000)
    huge.variables = {f"v{index}": "y" * 10_000 for index in range(5000)}
    huge_cpu = cpu_per_call(lambda: encode_record(huge), 1)
    huge_size = len(encode_record(huge))

    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "calls.jsonl"
        path.symlink_to("/dev/full")
        writer = RecordWriter(path)
        for index in range(QUEUED):
            record.callId = f"queued-{index}"
            writer.write(record)
        path.unlink()  # space returns
        holds = []
        started = time.perf_counter()
        writer.write(record)  # writes what the budget allows, queues itself behind the rest
        holds.append(time.perf_counter() - started)
        while writer.pending:
            started = time.perf_counter()
            writer.flush_pending(budget=2 * 1024 * 1024)  # what one retry turn writes
            holds.append(time.perf_counter() - started)
        written = path.stat().st_size
        writer.close()

    return [
        "## Call records",
        "",
        f"Command: `.venv/bin/python -m bench.records`. CPU time (process time), median of "
        f"{REPEATS} runs.",
        "",
        "| what | result |",
        "|---|---|",
        f"| encode a typical record ({size} bytes), before bounds and escapes | "
        f"{before * 1e6:.1f} µs |",
        f"| encode it now (`encode_record`) | {now * 1e6:.1f} µs |",
        f"| bound a 60 MB record (10 MB error, 5,000 variables of 10 KB) | "
        f"{huge_cpu * 1000:.0f} ms, {huge_size} bytes written |",
        f"| write {QUEUED:,} queued records ({written / 1e6:.1f} MB) when space returns | "
        f"{len(holds)} turns of the event loop, longest {max(holds) * 1000:.1f} ms, "
        f"total {sum(holds) * 1000:.0f} ms |",
        "",
    ]


if __name__ == "__main__":
    sys.stdout.write("\n".join(run()) + "\n")
