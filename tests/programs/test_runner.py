"""A program running against the simulator: outcomes, retries, do-not-call, windows, pacing.

The wall clock (windows, retry times) and the monotonic clock (pacing) are injected and moved
by the tests; calls run on the simulator's event socket in simulated media time.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from support.harness import REPO, DialHarness, build_dial_harness, close_dial_harness
from support.programs import FakeClock, FakeMonotonic, contact, drive, originates_by_number

from controller.metrics import REGISTRY
from controller.programs import lifecycle
from controller.programs.manager import ProgramManager
from controller.programs.model import parse_spec
from controller.programs.runner import ProgramRunner
from controller.programs.sqlite_store import SQLiteStore
from controller.simulator.audio_timeline import AudioTimeline
from controller.simulator.callee import Callee

HUMAN = AudioTimeline.parse("speech 0.2-0.9; silence")
MACHINE = AudioTimeline.parse("speech 0-4.6 words 9; tone 4.6-5.6 1000Hz; silence")


@dataclass
class Bench:
    dial: DialHarness
    store: SQLiteStore
    clock: FakeClock
    mono: FakeMonotonic
    manager: ProgramManager

    def program(self, phones: list[str], **spec: Any) -> ProgramRunner:
        document = {
            "name": "test",
            "flow": "payment-reminder",
            "timezone": "Europe/Paris",
            "defaultCountry": "MA",
            "pacing": {"maxConcurrent": 5, "callsPerSecond": 20},
            **spec,
        }
        lifecycle.create(self.store, "p1", parse_spec(document), now=self.clock())
        rows = [contact(phone, line) for line, phone in enumerate(phones, start=2)]
        self.store.add_contacts("p1", rows, now=self.clock())
        flows = self.dial.controller.flows
        lifecycle.start(self.store, "p1", lambda f: flows.get(f).version, now=self.clock())
        return self.manager.runner_for("p1")

    def contacts(self) -> dict[str, Any]:
        return {row.phone: row for row in self.store.contacts("p1")}


@pytest.fixture
def bench(tmp_path: Path) -> Iterator[Bench]:
    flows_dir = tmp_path / "flows"
    shutil.copytree(REPO / "flows", flows_dir)
    dial = build_dial_harness(tmp_path, flows_dir)
    store = SQLiteStore(tmp_path / "programs.db")
    clock, mono = FakeClock(), FakeMonotonic()
    manager = ProgramManager(
        store,
        dial.controller.outbound,
        dial.controller.flows,
        records_path=dial.controller.settings.records,
        default_gateway="gw1",
        clock=clock,
        monotonic=mono,
    )
    try:
        yield Bench(dial, store, clock, mono, manager)
    finally:
        close_dial_harness(dial)
        store.close()


A, B, C, D = "+212600000001", "+212600000002", "+212600000003", "+212600000004"


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_outcomes_retries_and_final_dispositions(bench: Bench) -> None:
    busy_before = sample("callflow_program_attempts_total", outcome="busy")
    sim = bench.dial.simulator
    sim.add_callee(A, Callee.from_text("answer: press 1", audio=HUMAN))
    sim.add_callee(B, "busy")
    sim.add_callee(C, Callee.from_text("answer", audio=MACHINE))
    sim.add_callee(D, "no_answer")
    runner = bench.program(
        [A, B, C, D],
        retries={"busy": {"after": "10m", "times": 2}, "no_answer": {"after": "30m", "times": 1}},
    )
    drive(runner, bench.mono)
    assert originates_by_number(sim) == {A: 1, B: 1, C: 1, D: 1}
    bench.clock.advance(599)
    drive(runner, bench.mono)
    assert originates_by_number(sim)[B] == 1  # not yet: ten minutes after the busy
    bench.clock.advance(1)
    drive(runner, bench.mono)
    assert originates_by_number(sim) == {A: 1, B: 2, C: 1, D: 1}
    bench.clock.advance(1800)
    drive(runner, bench.mono)  # B's third and D's second
    bench.clock.advance(3600)
    drive(runner, bench.mono)
    assert originates_by_number(sim) == {A: 1, B: 3, C: 1, D: 2}
    rows = bench.contacts()
    assert {phone: (r.disposition, r.attempts) for phone, r in rows.items()} == {
        A: ("completed", 1),
        B: ("busy", 3),
        C: ("voicemail", 1),
        D: ("no_answer", 2),
    }
    assert rows[A].last_variables["customerResponse"] == "1"
    assert bench.store.get_program("p1").state == "completed"
    assert sample("callflow_program_attempts_total", outcome="busy") == busy_before + 3
    bench.manager.check()
    assert sample("callflow_programs", state="completed") == 1
    # Every attempt's uuid is its call's: the record's callId or its dial's uuid.
    records = {r["callId"] for r in bench.dial.written_records()}
    records |= {(r.get("dial") or {}).get("uuid") for r in bench.dial.written_records()}
    assert {a.uuid for a in bench.store.attempts("p1")} <= records


def test_do_not_call_lists_are_checked_at_dial_time(bench: Bench) -> None:
    sim = bench.dial.simulator
    sim.add_callee(None, "busy")
    bench.store.add_dnc([A], now=bench.clock())  # global, before the start
    runner = bench.program([A, B, C], retries={"busy": {"after": "10m", "times": 3}})
    drive(runner, bench.mono)
    assert originates_by_number(sim) == {B: 1, C: 1}
    # Added during the run: B on the program's list, C on the global one.
    bench.store.add_dnc([B], scope="p1", now=bench.clock())
    bench.store.add_dnc([C], now=bench.clock())
    bench.clock.advance(600)
    drive(runner, bench.mono)
    assert originates_by_number(sim) == {B: 1, C: 1}
    assert {p: r.disposition for p, r in bench.contacts().items()} == {A: "dnc", B: "dnc", C: "dnc"}


def test_contacts_are_called_in_their_own_windows(bench: Bench) -> None:
    sim = bench.dial.simulator
    sim.add_callee(None, Callee.from_text("answer: press 2", audio=HUMAN))
    # Now is Wednesday 11:06 UTC: 12:06 in Paris (open), 20:06 in Tokyo (closed).
    runner = bench.program(
        [A, B],
        window={"days": ["mon", "tue", "wed", "thu", "fri"], "hours": ["09:00-19:00"]},
    )
    bench.store.add_contacts(
        "p1", [contact(B, 3).__class__(B, {"phone": B}, "Asia/Tokyo", 3)], now=bench.clock()
    )
    drive(runner, bench.mono)
    assert originates_by_number(sim) == {A: 1}
    tokyo = bench.contacts()[B]
    assert (tokyo.status, tokyo.next_at) == ("pending", 1795046400.0)  # Thu 09:00 JST
    bench.clock.now = tokyo.next_at - 1
    drive(runner, bench.mono)
    assert originates_by_number(sim) == {A: 1}
    bench.clock.now = tokyo.next_at
    drive(runner, bench.mono)
    assert originates_by_number(sim) == {A: 1, B: 1}


def test_pacing_counts_dials_against_the_injected_clock(bench: Bench) -> None:
    sim = bench.dial.simulator
    sim.add_callee(None, "busy")
    phones = [f"+2126000001{n:02d}" for n in range(30)]
    runner = bench.program(phones, pacing={"maxConcurrent": 30, "callsPerSecond": 2})
    for _step in range(20):  # five seconds in quarter-second steps
        runner.tick()
        assert runner.settled.wait(timeout=30)
        bench.mono.advance(0.25)
    assert sum(originates_by_number(sim).values()) == 10  # 2 a second, the first at once
    assert all(r.last_outcome != "throttled" for r in bench.store.contacts("p1"))
