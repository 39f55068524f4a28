"""Fixtures for the simulator tests: WAV files of known length."""

from __future__ import annotations

import wave
from collections.abc import Callable
from pathlib import Path

import pytest


@pytest.fixture
def make_wav(tmp_path: Path) -> Callable[[str, float], str]:
    """Write an 8 kHz mono WAV of `seconds` of silence; returns its path."""

    def make(name: str, seconds: float) -> str:
        path = tmp_path / name
        with wave.open(str(path), "wb") as handle:
            handle.setnchannels(1)
            handle.setsampwidth(2)
            handle.setframerate(8000)
            handle.writeframes(b"\0\0" * round(seconds * 8000))
        return str(path)

    return make
