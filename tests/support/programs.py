"""Helpers for program tests: contacts, a clock the test moves."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from controller.programs.importer import ImportedContact
from controller.simulator.callee import destination_number


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
