"""Helpers for program tests: contacts, a clock the test moves, a program dialling through
the simulator."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from controller.flowstore import FlowStore
from controller.programs import lifecycle
from controller.programs.importer import ImportedContact
from controller.programs.model import parse_spec
from controller.simulator.callee import Callee, destination_number


def contact(phone: str, line: int = 1, **data: object) -> ImportedContact:
    return ImportedContact(phone, {"phone": phone, **data}, None, line)


@dataclass
class FakeClock:
    """Wall-clock time (epoch seconds) that moves only when the test says."""

    now: float = 1_795_000_000.0  # Wednesday 2026-11-18 11:06:40 UTC

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class FakeMonotonic:
    """time.monotonic for pacing, moved by the test."""

    now: float = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def originates_by_number(simulator: Any) -> Counter[str]:
    """How many originates the simulator received for each number."""
    return Counter(
        destination_number(attempt.request.endpoint)
        for attempt in simulator.originator.attempts.values()
    )


def drive(runner: Any, mono: FakeMonotonic, *, max_rounds: int = 500) -> None:
    """Tick the runner until it has nothing due now: dials placed, their results recorded.
    Pacing waits are skipped by moving the injected monotonic clock, never by sleeping."""
    for _ in range(max_rounds):
        placed = runner.placed
        delay = runner.tick()
        if runner.in_flight:
            assert runner.settled.wait(timeout=30), "calls did not end"
            continue
        if delay is None or (runner.placed == placed and delay >= 1.0):
            return
        mono.advance(delay)
    raise AssertionError("the runner never ran out of due contacts")


def start_dial_program(
    store: Any, program_id: str, flows: Path, *, numbers: list[str], name: str, timezone: str
) -> None:
    """What `callflow program create`, `import` and `start` do, with the test's connection:
    the quick-dial flow (from `flows`), every number once, one retry for a busy line."""
    spec = parse_spec(
        {
            "name": name,
            "flow": "quick-dial",
            "timezone": timezone,
            "defaultCountry": "MA",
            "pacing": {"maxConcurrent": 4, "callsPerSecond": 8},
            "retries": {"busy": {"after": "1s", "times": 1}},
        }
    )
    lifecycle.create(store, program_id, spec, now=time.time())
    contacts = [contact(phone, line) for line, phone in enumerate(numbers, start=2)]
    store.add_contacts(program_id, contacts, now=time.time())
    served = FlowStore(flows)
    served.load_all()
    lifecycle.start(store, program_id, lambda f: served.get(f).version, now=time.time())


def add_ringing_callees(simulator: Any, *, answers: list[str], busy: list[str]) -> None:
    """Callees that ring 1 s then answer, and ones that ring 0.5 s then are busy."""
    for number in answers:
        simulator.add_callee(number, Callee.from_text("ring 1s"))
    for number in busy:
        simulator.add_callee(number, Callee.from_text("ring 0.5s busy"))
