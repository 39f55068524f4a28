"""Two callflow processes sharing one program on PostgreSQL: real `callflow run` subprocesses
with their own instance names, one database, one simulated FreeSWITCH whose inbound side
counts originates per number. Both dial, and nobody is dialled twice beyond their rule."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from support.controllers import start_controller, stop, wait_until, write_config
from support.programs import originates_by_number

from controller.flowstore import FlowStore
from controller.programs import lifecycle, sql
from controller.programs.importer import ImportedContact
from controller.programs.model import parse_spec
from controller.programs.postgres_store import PostgresStore
from controller.simulator import Simulator
from controller.simulator.callee import Callee

ANSWERS = [f"+2126000003{n:02d}" for n in range(24)]  # ring 1 s, answer: completed
BUSY = [f"+2126000004{n:02d}" for n in range(6)]  # ring 0.5 s, busy: one retry allowed
NAMES = ("callflow-a", "callflow-b")


@pytest.fixture
def simulator() -> Iterator[Simulator]:
    sim = Simulator(controller=("127.0.0.1", 9), clock="real")
    try:
        yield sim
    finally:
        sim.close()


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


def create_program(store: PostgresStore, flows: Path) -> None:
    spec = parse_spec(
        {
            "name": "shared",
            "flow": "quick-dial",
            "timezone": "UTC",
            "defaultCountry": "MA",
            "pacing": {"maxConcurrent": 4, "callsPerSecond": 8},
            "retries": {"busy": {"after": "1s", "times": 1}},
        }
    )
    lifecycle.create(store, "shared", spec, now=time.time())
    contacts = [
        ImportedContact(phone, {"phone": phone}, None, line)
        for line, phone in enumerate(ANSWERS + BUSY, start=2)
    ]
    store.add_contacts("shared", contacts, now=time.time())
    served = FlowStore(flows)
    served.load_all()
    # Started once both processes are up, so both get a share from the first second.
    lifecycle.start(store, "shared", lambda f: served.get(f).version, now=time.time())


def test_two_processes_share_a_program_without_a_double_dial(
    tmp_path: Path, simulator: Simulator, postgres_url: str
) -> None:
    for number in ANSWERS:
        simulator.add_callee(number, Callee.from_text("ring 1s"))
    for number in BUSY:
        simulator.add_callee(number, Callee.from_text("ring 0.5s busy"))
    esl = simulator.start_inbound()
    configs = [
        write_config(tmp_path / name, esl, postgres_url, instance_name=name) for name in NAMES
    ]
    store = PostgresStore(postgres_url)
    log = tmp_path / "controllers.log"
    processes = [start_controller(config, log) for config in configs]
    try:
        wait_until(lambda: owners_holding(postgres_url) == 2, "both processes to hold their names")
        create_program(store, tmp_path / NAMES[0] / "flows")
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
