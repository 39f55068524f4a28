"""kill -9 in the middle of a program: a real controller subprocess against the simulator's
event socket is killed while calls are in flight, then started again. Nobody is dialled more
than their rule allows (originates counted per number at the simulator), every result that
was written is in the program's state, and the program completes. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

from support.controllers import start_controller, stop, wait_until, write_config
from support.programs import add_ringing_callees, originates_by_number, start_dial_program

from controller.programs.database import ProgramsTarget, open_store
from controller.programs.retries import outcome_of
from controller.programs.store import ProgramStore
from controller.simulator import Simulator

ANSWERS = [f"+2126000001{n:02d}" for n in range(10)]  # ring 1 s, answer: completed
BUSY = [f"+2126000002{n:02d}" for n in range(6)]  # ring 0.5 s, busy: one retry allowed


def test_kill_9_mid_program_then_start_again(
    tmp_path: Path, simulator: Simulator, store_target: ProgramsTarget
) -> None:
    """On SQLite and on PostgreSQL (the `store_target` fixture's two databases)."""
    add_ringing_callees(simulator, answers=ANSWERS, busy=BUSY)
    config = write_config(tmp_path, simulator.start_inbound(), store_target)
    store = open_store(store_target)
    start_dial_program(
        store,
        "p1",
        tmp_path / "flows",
        numbers=ANSWERS + BUSY,
        name="kill -9",
        timezone="Africa/Casablanca",
    )

    def status(name: str) -> int:
        return store.stats("p1", now=time.time()).by_status.get(name, 0)

    log = tmp_path / "controller.log"
    first = start_controller(config, log)
    try:  # killed with calls in flight and some results already recorded
        wait_until(lambda: status("dialing") >= 2 and status("done") >= 4, "calls in flight")
        os.kill(first.pid, signal.SIGKILL)
        assert first.wait(timeout=10) == -signal.SIGKILL
    finally:
        if first.poll() is None:
            first.kill()
    left_dialing = {a.uuid for a in store.open_attempts()}
    assert left_dialing, "the kill should leave attempts in flight"
    second = start_controller(config, log)
    try:
        wait_until(lambda: store.get_program("p1").state == "completed", "the program to end")
    finally:
        stop(second)
    try:
        check_results(store, simulator, tmp_path, left_dialing)
    finally:
        store.close()


def check_results(
    store: ProgramStore, simulator: Simulator, tmp_path: Path, left_dialing: set[str]
) -> None:
    rows = {row.phone: row for row in store.contacts("p1")}
    attempts = store.attempts("p1")
    originates = originates_by_number(simulator)
    diagnostics = (tmp_path / "controller.log").read_text()[-3000:]
    # Nobody dialled beyond their rule: one call for a person who answered, at most two for a
    # busy line; and never an originate without its attempt committed first.
    for phone, row in rows.items():
        assert row.status == "done", (phone, row, diagnostics)
        limit = 1 if phone in ANSWERS else 2
        assert originates[phone] <= row.attempts <= limit, (phone, originates[phone], row)
    # No result lost: every record written is its attempt's result, and nothing is left open.
    records = tmp_path / "records" / "calls.jsonl"
    written = [json.loads(line) for line in records.read_text().splitlines() if line.strip()]
    by_uuid = {a.uuid: a for a in attempts}
    for record in written:
        uuid = record["callId"] if record["callId"] in by_uuid else record["dial"]["uuid"]
        assert by_uuid[uuid].outcome == outcome_of(record), (record, by_uuid[uuid])
    assert all(a.state == "done" for a in attempts)
    unresolved = {a.uuid for a in attempts if a.outcome == "unknown"}
    assert unresolved <= left_dialing  # only calls cut by the crash may be unknown
    answered = [rows[p] for p in ANSWERS if rows[p].disposition == "completed"]
    assert answered and all(r.last_variables == {"customerResponse": "1"} for r in answered)
