"""Vanishing FreeSWITCH: calls whose socket closes abruptly at each stage of the call.

100 calls at once per stage, from a fake FreeSWITCH (bench/connect.py's `FakeSwitch`) to the
controller in its own process. Each call closes its socket (a reset, then separately a plain
FIN): on `connect` before replying, right after the connect reply, on the first `sendmsg`
before replying, or while the dtmf node's play_and_get_digits is pending. Then the
controller's active call count is read after a short bounded wait (stuck calls), and the
records it wrote for the stage are counted.
"""

from __future__ import annotations

import collections
import json
import statistics
import time

from bench.capacity import Controller, raise_fd_limit
from bench.connect import FakeSwitch, main

CALLS = 100
RUNS = 3
STUCK_AFTER = 2.0  # seconds after the last socket closed
DRAIN_BOUND = 10.0  # how long we wait at most for the controller to drain
STAGES = {
    "connect": "on `connect`, before the reply",
    "connected": "right after the connect reply",
    "sendmsg": "on the first `sendmsg`, before its +OK",
    "execute": "during an execute (play_and_get_digits pending)",
}


def _expected_records(stage: str) -> int:
    return 0 if stage == "connect" else CALLS


def _record_lines(controller: Controller) -> list[str]:
    path = controller.records_path
    return path.read_text().splitlines() if path.exists() else []


def one_stage(controller: Controller, stage: str, rst: bool) -> dict[str, object]:
    lines_before = len(_record_lines(controller))
    written_before = controller.stats()["written"]
    switch = FakeSwitch(
        controller.address, hold=frozenset({"play_and_get_digits"}), vanish=stage, rst=rst
    )
    for _ in range(CALLS):
        switch.dial()
    switch.run_until(lambda: switch.open == 0, 10)
    closed = time.monotonic()
    stuck, drained = None, None
    while time.monotonic() - closed < DRAIN_BOUND:
        stats = controller.stats()
        waited = time.monotonic() - closed
        if stuck is None and waited >= STUCK_AFTER:
            stuck = stats["active"]
        if stats["active"] == 0 and drained is None:
            drained = waited
        if drained is not None and stuck is not None:
            break
        time.sleep(0.05)
    stats = controller.stats()
    switch.close_all()
    new = _record_lines(controller)[lines_before:]
    results = collections.Counter()
    for line in new:
        record = json.loads(line)
        error = (record["error"] or "").split(":")[0]
        results[f"{record['result']}{' (' + error + ')' if error else ''}"] += 1
    return {
        "stuck": stuck if stuck is not None else stats["active"],
        "drain_s": drained if drained is not None else float("inf"),
        "records": stats["written"] - written_before,
        "results": results,
        "unreached": CALLS - sum(1 for c in switch.calls if c.served is not None),
    }


def run() -> list[str]:
    raise_fd_limit()
    rows: dict[tuple[str, bool], list[dict[str, object]]] = collections.defaultdict(list)
    for _ in range(RUNS):
        with Controller() as controller:
            for rst in (True, False):
                for stage in STAGES:
                    rows[stage, rst].append(one_stage(controller, stage, rst))
    lines = [
        "## Vanishing FreeSWITCH",
        "",
        f"{CALLS} calls at once per stage whose FreeSWITCH side closes the socket (RST, or "
        f"FIN) at that stage, 127.0.0.1. Stuck = controller's active calls {STUCK_AFTER:g} s "
        f"after the last socket closed; drain = time until none was active (bounded at "
        f"{DRAIN_BOUND:g} s); records = records written for the stage. Median of {RUNS} runs, "
        "each a fresh controller; results are those of the last run.",
        "",
        "| stage | close | stuck | drain | records | results (last run) |",
        "|---|---|---|---|---|---|",
    ]
    missed = []
    for (stage, rst), runs in rows.items():
        stuck = statistics.median(r["stuck"] for r in runs)  # type: ignore[misc]
        drain = statistics.median(r["drain_s"] for r in runs)  # type: ignore[misc]
        records = statistics.median(r["records"] for r in runs)  # type: ignore[misc]
        results = ", ".join(f"{k} x{v}" for k, v in runs[-1]["results"].items())  # type: ignore[attr-defined]
        kind = "RST" if rst else "FIN"
        lines.append(
            f"| {STAGES[stage]} | {kind} | {stuck:g} | {drain:.2f} s | {records:g} | {results} |"
        )
        if stuck or records != _expected_records(stage):
            missed.append(f"{stage}/{kind}: {stuck:g} stuck, {records:g} records")
    lines += [
        "",
        f"- target 0 stuck and {CALLS} records per stage (none for `connect`: a connection "
        "closed before its connect reply is no call, it is counted in "
        "callflow_outbound_connects_abandoned_total): "
        + ("met for every stage" if not missed else "**missed**: " + "; ".join(missed)),
        "",
    ]
    return lines


if __name__ == "__main__":
    main("vanish", run())
