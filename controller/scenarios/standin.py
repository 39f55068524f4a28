"""Silent stand-ins for dictionary clips an audio root does not have, during a scenario run.

Scenarios test a flow's logic. Recorded dictionaries (numbers, dates, words) are often not in
the repository that holds the flows (`make audio` keeps its synthesized ones out of git), and
without them every play node that speaks a number would take onError. So `callflow test`
plays a short silence for a token that has no clip, and counts it; `callflow validate` and
`callflow lint` are where missing clips are reported, and `--strict-audio` turns stand-ins
off. Values that cannot be spoken at all (a number that is not one) still take onError:
only the lookup of an existing token's clip is stood in for.
"""

from __future__ import annotations

import threading
import wave
from pathlib import Path

from controller.speech.dictionary import Dictionaries, Dictionary

STAND_IN_SECONDS = 0.2
RATE = 8000


def write_silence(path: Path, seconds: float = STAND_IN_SECONDS) -> Path:
    """An 8 kHz mono 16-bit WAV of silence (what the simulator times playback by)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as clip:
        clip.setnchannels(1)
        clip.setsampwidth(2)
        clip.setframerate(RATE)
        clip.writeframes(b"\0\0" * int(RATE * seconds))
    return path


class StandInDictionary:
    """A language's dictionary whose missing clips are the stand-in (see module docstring)."""

    def __init__(self, real: Dictionary, owner: StandInDictionaries) -> None:
        self.real = real
        self.owner = owner
        self.language = real.language
        self.root = real.root
        self.clips = real.clips

    def file(self, token: str) -> str | None:
        found = self.real.file(token)
        if found is not None:
            return found
        self.owner.note(self.language, token)
        return str(self.owner.stand_in)

    def missing(self, tokens: set[str] | frozenset[str]) -> list[str]:
        return self.real.missing(tokens)


class StandInDictionaries(Dictionaries):
    """The audio root's dictionaries, with a silent stand-in for every clip they lack."""

    def __init__(self, root: Path, stand_in: Path) -> None:
        super().__init__(root)
        self.stand_in = stand_in
        self.stood_in: set[tuple[str, str]] = set()  # (language, token)
        self._wrapped: dict[str, StandInDictionary] = {}
        self._noted = threading.Lock()

    def get(self, language: str) -> StandInDictionary:  # type: ignore[override]
        wrapped = self._wrapped.get(language)
        if wrapped is None:
            wrapped = self._wrapped[language] = StandInDictionary(super().get(language), self)
        return wrapped

    def note(self, language: str, token: str) -> None:
        with self._noted:
            self.stood_in.add((language, token))
