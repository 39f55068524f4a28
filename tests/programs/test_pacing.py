"""Pacing by count on injected clocks: concurrency, per-gateway limits, rates, FreeSWITCH's sps."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gevent
import pytest
from gevent.event import AsyncResult
from support.harness import REPO
from support.programs import FakeClock, FakeMonotonic, contact

from controller.flowstore import FlowStore
from controller.programs import lifecycle
from controller.programs.manager import ProgramManager
from controller.programs.model import parse_spec
from controller.programs.pacing import TokenBucket
from controller.programs.sqlite_store import SQLiteStore
from controller.records import CallRecord


class HeldCalls:
    """A placer whose calls last until the test ends them."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, AsyncResult]] = []

    def place(self, flow_id: str, *, contact: Any = None, call_id: Any = None, **_: Any) -> Any:
        result: AsyncResult = AsyncResult()
        self.calls.append((call_id, result))
        return result

    def open(self) -> list[tuple[str, AsyncResult]]:
        return [(uuid, result) for uuid, result in self.calls if not result.ready()]

    def end(self, count: int) -> None:
        for uuid, result in self.open()[:count]:
            result.set(CallRecord(uuid, "outbound", result="completed", dial={"uuid": uuid}))
        gevent.sleep(0)  # the runner's rawlink callbacks run on the hub


@pytest.fixture
def flows() -> FlowStore:
    store = FlowStore(REPO / "flows")
    store.load_all()
    return store


def manager_for(tmp_path: Path, flows: FlowStore, sps: float = 30.0) -> tuple[Any, ...]:
    store = SQLiteStore(tmp_path / "p.db")
    calls, clock, mono = HeldCalls(), FakeClock(), FakeMonotonic()
    manager = ProgramManager(
        store,
        calls,
        flows,
        records_path=tmp_path / "r.jsonl",
        freeswitch_sps=sps,
        default_gateway="gw1",
        clock=clock,
        monotonic=mono,
    )
    return store, calls, clock, mono, manager


def add_program(
    store: SQLiteStore, flows: FlowStore, program_id: str, count: int, **pacing: Any
) -> None:
    spec = {"name": program_id, "flow": "payment-reminder", "timezone": "UTC", "pacing": pacing}
    lifecycle.create(store, program_id, parse_spec(spec), now=0)
    phones = [f"+2126{program_id[-1]}00000{n:02d}" for n in range(count)]
    store.add_contacts(program_id, [contact(p) for p in phones], now=0)
    lifecycle.start(store, program_id, lambda f: flows.get(f).version, now=0)


def test_token_bucket_counts() -> None:
    mono = FakeMonotonic()
    bucket = TokenBucket(2.0, 1.0, mono)
    assert bucket.take() and not bucket.take()
    assert bucket.wait() == 0.5
    mono.advance(0.25)
    assert not bucket.take()
    mono.advance(0.25)
    assert bucket.take()
    mono.advance(100)  # idle time saves up no more than the burst
    assert bucket.available() == 1
    taken = 0
    for _ in range(1000):  # ten seconds in 10 ms steps
        taken += bucket.take()
        mono.advance(0.01)
    assert taken == 20


def test_max_concurrent_calls(tmp_path: Path, flows: FlowStore) -> None:
    store, calls, _clock, mono, manager = manager_for(tmp_path, flows)
    add_program(store, flows, "p1", 10, maxConcurrent=3, callsPerSecond=20)
    runner = manager.runner_for("p1")
    for _ in range(20):
        runner.tick()
        mono.advance(1)
    assert len(calls.calls) == 3 and runner.in_flight == 3
    calls.end(2)
    for _ in range(20):
        runner.tick()
        mono.advance(1)
    assert len(calls.calls) == 5 and len(calls.open()) == 3


def test_a_gateway_limit_holds_across_programs(tmp_path: Path, flows: FlowStore) -> None:
    store, calls, _clock, mono, manager = manager_for(tmp_path, flows)
    add_program(store, flows, "p1", 5, maxConcurrent=5, callsPerSecond=20, gatewayLimits={"gw1": 3})
    add_program(store, flows, "p2", 5, maxConcurrent=5, callsPerSecond=20, gatewayLimits={"gw1": 3})
    first, second = manager.runner_for("p1"), manager.runner_for("p2")
    for _ in range(10):
        first.tick()
        second.tick()
        mono.advance(1)
    assert len(calls.open()) == 3  # the payment-reminder flow dials through gw1 (default)
    assert manager.gateways.active == {"gw1": 3}
    calls.end(3)
    assert manager.gateways.active == {"gw1": 0}


def test_programs_together_stay_below_freeswitch_sessions_per_second(
    tmp_path: Path, flows: FlowStore
) -> None:
    # FreeSWITCH allows 5 sessions a second: programs together use at most 4 (80 %).
    store, calls, _clock, mono, manager = manager_for(tmp_path, flows, sps=5)
    add_program(store, flows, "p1", 40, maxConcurrent=40, callsPerSecond=4)
    add_program(store, flows, "p2", 40, maxConcurrent=40, callsPerSecond=4)
    runners = [manager.runner_for("p1"), manager.runner_for("p2")]
    for _ in range(50):  # five seconds in 100 ms steps
        for runner in runners:
            runner.tick()
        mono.advance(0.1)
    # Each program alone would dial 20 in that time (40 together); the shared bucket allows
    # its burst of 4 at once, then 4 a second over the 4.9 s of ticks: 4 + 19.
    assert len(calls.calls) == 23
