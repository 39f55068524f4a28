"""Answering-machine detection — placeholder until the detector lands (being written now).

API: detect(channel, *, config, timeout) -> AmdResult; wait_for_beep(channel, *, timeout).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from controller.exceptions import NodeError


@dataclass(frozen=True, slots=True)
class AmdResult:
    verdict: str
    reason: str
    decision_ms: int
    words: int = 0


@dataclass(frozen=True, slots=True)
class BeepResult:
    heard: bool
    after_ms: int
    frequency: float | None = None


def detect(channel: Any, *, config: dict[str, Any], timeout: float) -> AmdResult:
    raise NodeError("answering-machine detection is not available yet")


def wait_for_beep(channel: Any, *, timeout: float) -> BeepResult:
    raise NodeError("beep detection is not available yet")
