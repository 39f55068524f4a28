"""Two callflow processes sharing one program on PostgreSQL: real `callflow run` subprocesses
with their own instance names, one database, one simulated FreeSWITCH whose inbound side
counts originates per number. Both dial, and nobody is dialled twice beyond their rule."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import psycopg
from support.controllers import start_controller, stop, wait_until, write_config
from support.programs import add_ringing_callees, originates_by_number, start_dial_program

from controller.programs import sql
from controller.programs.postgres_store import PostgresStore
from controller.simulator import Simulator

ANSWERS = [f"+2126000003{n:02d}" for n in range(24)]  # ring 1 s, answer: completed
BUSY = [f"+2126000004{n:02d}" for n in range(6)]  # ring 0.5 s, busy: one retry allowed
NAMES = ("callflow-a", "callflow-b")


def owners_holding(url: str) -> int:
    """How many processes hold an owner name in this database (session advisory locks)."""
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
            "AND classid = %s AND objsubid = 2 "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            (sql.ADVISORY_CLASS,),
        ).fetchone()
    return int(row[0]) if row else 0


def test_two_processes_share_a_program_without_a_double_dial(
    tmp_path: Path, simulator: Simulator, postgres_url: str
) -> None:
    add_ringing_callees(simulator, answers=ANSWERS, busy=BUSY)
    esl = simulator.start_inbound()
    configs = [
        write_config(tmp_path / name, esl, postgres_url, instance_name=name) for name in NAMES
    ]
    store = PostgresStore(postgres_url)
    log = tmp_path / "controllers.log"
    processes = [start_controller(config, log) for config in configs]
    try:
        wait_until(lambda: owners_holding(postgres_url) == 2, "both processes to hold their names")
        # Started once both processes are up, so both get a share from the first second.
        start_dial_program(
            store,
            "shared",
            tmp_path / NAMES[0] / "flows",
            numbers=ANSWERS + BUSY,
            name="shared",
            timezone="UTC",
        )
        wait_until(lambda: store.get_program("shared").state == "completed", "the program to end")
    finally:
        for process in processes:
            stop(process)
    try:
        diagnostics = log.read_text()[-3000:]
        rows = {row.phone: row for row in store.contacts("shared")}
        attempts = store.attempts("shared")
        originates = originates_by_number(simulator)
        for phone in ANSWERS:  # answered: exactly one call
            assert (originates[phone], rows[phone].attempts) == (1, 1), (phone, diagnostics)
            assert rows[phone].disposition == "completed"
        for phone in BUSY:  # busy: the call and its one retry, never more
            assert (originates[phone], rows[phone].attempts) == (2, 2), (phone, diagnostics)
            assert rows[phone].disposition == "busy"
        assert len({a.uuid for a in attempts}) == len(attempts) == sum(originates.values())
        by_owner = Counter(attempt.owner for attempt in attempts)
        assert set(by_owner) == set(NAMES), by_owner  # both processes dialled
        assert all(attempt.state == "done" for attempt in attempts)
    finally:
        store.close()
