"""Helpers for program tests: contacts, a clock the test moves."""

from __future__ import annotations

from dataclasses import dataclass

from controller.programs.importer import ImportedContact


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
