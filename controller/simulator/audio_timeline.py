"""What the far end of a simulated call sends, as a timeline from the answer.

A timeline is a list of segments in seconds after the answer: `speech` (words separated by
short pauses, at a level), `tone` (a frequency, at a level: a voicemail beep) and `silence`.
Time no segment covers is digital silence; where segments overlap, the later one wins (a short
tone inside speech models a vowel that mod_avmd mistakes for a beep). Written compactly:

    "speech 0.2-0.9; silence"                                   a human's "hello"
    "speech 0-4.6 words 9; tone 4.6-5.6 1000Hz; silence"        a machine's greeting and beep
    "silence"                                                   nobody says anything
    "speech 0.2-0.9; noise 0.1 seed 7"                          spurious loud frames (below)

or as a list of dicts: `[{"speech": "0.2-0.9", "words": 1}, {"tone": [4.6, 5.6],
"frequency": 1000}, {"noise": 0.1, "seed": 7}]`. A range is `a-b` or `a-` (open); a segment
given a duration instead (`speech 0.7s`) starts where the previous one ended. Options: `words
N` (default: one per half second), `pause S` (between words, default 0.15 s), `level L` (mean
absolute sample value; speech 2000, tone 9000, silence 0), `<F>Hz`/`frequency F` and `odd` (a
signal on odd samples only).

`frame_score(k)` is the energy score FreeSWITCH computes for the 20 ms frame k (AUDIO-DETECTION.md
"detect_audio / detect_silence"): its mono loop reads every second sample and as many values
past the frame, so a frame at true mean level L scores about L/2 on clean memory, a signal on
odd samples only scores nothing, and on loopback the memory past the frame is stale, often old
audio: with `noise P` each quiet frame scores loud with probability P (a seeded, per-frame
deterministic draw, so any order of queries gives the same answers).
"""

from __future__ import annotations

import bisect
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

FRAME = 0.02  # seconds per frame (8 kHz L16, 20 ms packets)
SPEECH_LEVEL = 2000
TONE_LEVEL = 9000
NOISE_LEVEL = 2000  # the stale audio a spurious frame reads
WORD_SECONDS = 0.5  # default words: one per half second of speech
PAUSE = 0.15
KINDS = ("speech", "tone", "silence")
_RANGE = re.compile(r"^(\d+(?:\.\d*)?)s?-(\d+(?:\.\d*)?)?s?$")
_DURATION = re.compile(r"^(\d+(?:\.\d*)?)s$")
_HZ = re.compile(r"^(\d+(?:\.\d*)?)hz$", re.IGNORECASE)
_MASK = (1 << 64) - 1


@dataclass(frozen=True, slots=True)
class Segment:
    kind: str  # speech, tone or silence
    start: float
    end: float | None  # None: for ever
    level: int = 0
    frequency: float | None = None  # tone
    words: tuple[tuple[float, float], ...] = ()  # speech: (start, end) of each word
    odd: bool = False  # the signal is on odd samples only

    def covers(self, t: float) -> bool:
        return self.start <= t and (self.end is None or t < self.end)

    def loud_at(self, t: float) -> bool:
        """Whether the signal is on at t (speech: inside a word)."""
        if self.kind == "silence" or not self.covers(t):
            return False
        if self.kind == "tone":
            return True
        index = bisect.bisect_right(self.words, (t, math.inf)) - 1
        return index >= 0 and t < self.words[index][1]


@dataclass(frozen=True, slots=True)
class AudioTimeline:
    """See the module docstring."""

    segments: tuple[Segment, ...] = ()
    noise: float = 0.0  # probability that a quiet frame reads stale audio
    seed: int = 0
    noise_level: int = NOISE_LEVEL
    _cache: dict[int, int] = field(default_factory=dict, compare=False, repr=False)

    # -- building -----------------------------------------------------------------------------

    @classmethod
    def parse(cls, text: str) -> AudioTimeline:
        return cls.from_data([part for part in re.split(r"[;\n]", text) if part.strip()])

    @classmethod
    def from_data(cls, data: Any) -> AudioTimeline:
        """A timeline from None (digital silence), a compact string, a dict or a list of both."""
        if isinstance(data, AudioTimeline):
            return data
        if data is None:
            return cls()
        if isinstance(data, str):
            return cls.parse(data) if (";" in data or "\n" in data) else cls.from_data([data])
        if isinstance(data, Mapping):
            data = [data]
        builder = _Builder()
        for item in data:
            if isinstance(item, str):
                builder.add_words(item.split())
            elif isinstance(item, Mapping):
                builder.add_mapping(item)
            else:
                raise ValueError(f"an audio segment is a string or a mapping, not {item!r}")
        return cls(tuple(builder.segments), builder.noise, builder.seed, builder.noise_level)

    # -- what the far end sends -----------------------------------------------------------------

    def segment_at(self, t: float) -> Segment | None:
        for segment in reversed(self.segments):
            if segment.covers(t):
                return segment
        return None

    def level_at(self, t: float) -> int:
        """The true mean absolute sample level at t (0 in pauses and silence)."""
        segment = self.segment_at(t)
        if segment is None:
            return 0
        if segment.kind == "silence":
            return segment.level
        return segment.level if segment.loud_at(t) else 0

    def speech_at(self, t: float) -> bool:
        segment = self.segment_at(t)
        return segment is not None and segment.kind == "speech" and segment.loud_at(t)

    def words(self) -> list[tuple[float, float]]:
        """Every word as (start, end), in time order."""
        return sorted(w for s in self.segments if s.kind == "speech" for w in s.words)

    def tones(self) -> list[Segment]:
        return sorted((s for s in self.segments if s.kind == "tone"), key=lambda s: s.start)

    def steady_after(self) -> float:
        """From when on every frame scores the same (no segment starts or ends later, and
        there is no noise); math.inf when that never happens."""
        if self.noise > 0:
            return math.inf
        return max((s.start if s.end is None else s.end for s in self.segments), default=0.0)

    # -- what FreeSWITCH computes ---------------------------------------------------------------

    def frame_score(self, index: int) -> int:
        """The energy score of frame `index` (0: the first 20 ms after the answer)."""
        if index < 0:
            return 0
        cached = self._cache.get(index)
        if cached is not None:
            return cached
        t = (index + 0.5) * FRAME
        segment = self.segment_at(t)
        level = self.level_at(t)
        # energy += abs(data[j++]); j += channels: 80 even samples and 80 values past the
        # frame, divided by 160. On clean memory (zeros past the frame) that is half the level;
        # a signal on odd samples only is never read.
        score = 0 if segment is not None and segment.odd else level // 2
        if self.noise > 0 and score < self.noise_level // 4:
            draw = _mix(self.seed, index)
            if (draw & 0xFFFFFFFF) / 2**32 < self.noise:
                factor = 0.5 + ((draw >> 32) & 0xFFFF) / 0xFFFF  # 0.5 .. 1.5
                score = max(score, int(self.noise_level / 2 * factor))
        if len(self._cache) < 200_000:
            self._cache[index] = score
        return score

    def score(self, t: float) -> int:
        """The score of the frame holding time t (seconds after the answer)."""
        return self.frame_score(math.floor(t / FRAME + 1e-4))

    def describe(self) -> str:
        parts = []
        for s in self.segments:
            end = "" if s.end is None else f"{s.end:g}"
            text = f"{s.kind} {s.start:g}-{end}"
            if s.kind == "speech":
                text += f" words {len(s.words)}"
            if s.frequency:
                text += f" {s.frequency:g}Hz"
            parts.append(text)
        if self.noise:
            parts.append(f"noise {self.noise:g} seed {self.seed}")
        return "; ".join(parts) or "silence"


def _mix(seed: int, index: int) -> int:
    """splitmix64 of (seed, index): the same draw for the same frame, whatever the order."""
    z = (seed * 0x9E3779B97F4A7C15 + index * 0xBF58476D1CE4E5B9 + 0x94D049BB133111EB) & _MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
    return z ^ (z >> 31)


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool):
        raise ValueError(f"{what} is a number, not {value!r}")
    try:
        number = float(str(value).lower().removesuffix("hz").removesuffix("s"))
    except ValueError:
        raise ValueError(f"{what} is a number, not {value!r}") from None
    if number < 0 or math.isnan(number):
        raise ValueError(f"{what} cannot be {value!r}")
    return number


def _word_spans(
    start: float, end: float, count: int, pause: float
) -> tuple[tuple[float, float], ...]:
    """`count` words of equal length filling [start, end], `pause` apart (shortened if the
    words would be shorter than two frames)."""
    length = end - start
    if count > 1 and count * 2 * FRAME + (count - 1) * pause > length:
        pause = max(0.0, (length - count * 2 * FRAME) / (count - 1))
    word = (length - (count - 1) * pause) / count
    spans = [(start + i * (word + pause), start + i * (word + pause) + word) for i in range(count)]
    spans[-1] = (spans[-1][0], end)  # exactly: the speech ends where the segment says
    return tuple(spans)


class _Builder:
    def __init__(self) -> None:
        self.segments: list[Segment] = []
        self.noise = 0.0
        self.seed = 0
        self.noise_level = NOISE_LEVEL
        self._end = 0.0  # where the previous segment ended

    def add_words(self, words: list[str]) -> None:
        if not words:
            return
        kind, rest = words[0].lower(), words[1:]
        if kind == "noise":
            self._noise(rest)
            return
        if kind not in KINDS:
            raise ValueError(f"unknown audio segment {' '.join(words)!r}")
        options: dict[str, Any] = {}
        index = 0
        while index < len(rest):
            word = rest[index].lower()
            if _RANGE.match(word) or _DURATION.match(word):
                options["range"] = word
            elif _HZ.match(word):
                options["frequency"] = word
            elif word == "odd":
                options["odd"] = True
            elif word in ("words", "pause", "level", "freq", "frequency") and index + 1 < len(rest):
                options["frequency" if word == "freq" else word] = rest[index + 1]
                index += 1
            else:
                raise ValueError(f"cannot read {rest[index]!r} in {' '.join(words)!r}")
            index += 1
        self._segment(kind, options)

    def add_mapping(self, item: Mapping[str, Any]) -> None:
        if "noise" in item:
            self._noise_options(item)
            return
        kinds = [k for k in KINDS if k in item]
        if len(kinds) != 1:
            raise ValueError(f"an audio segment names one of {', '.join(KINDS)}: {dict(item)!r}")
        kind = kinds[0]
        options = {k: v for k, v in item.items() if k != kind}
        unknown = set(options) - {"words", "pause", "level", "frequency", "odd", "start", "end"}
        if unknown:
            raise ValueError(f"unknown key(s) {sorted(unknown)} in {dict(item)!r}")
        value = item[kind]
        if isinstance(value, list | tuple):
            options["start"], options["end"] = [*value, None][:2]
        elif value is not None and value is not True:
            options["range"] = str(value)
        self._segment(kind, options)

    def _noise(self, words: list[str]) -> None:
        options: dict[str, Any] = {"noise": words[0] if words else 0.1}
        for name, value in zip(words[1::2], words[2::2], strict=False):
            options[name.lower()] = value
        self._noise_options(options)

    def _noise_options(self, options: Mapping[str, Any]) -> None:
        unknown = set(options) - {"noise", "seed", "level"}
        if unknown:
            raise ValueError(f"noise takes a probability, seed and level, not {sorted(unknown)}")
        self.noise = _number(options["noise"], "noise")
        if self.noise > 1:
            raise ValueError("noise is a probability per frame (0..1)")
        self.seed = int(_number(options.get("seed", 0), "seed"))
        self.noise_level = int(_number(options.get("level", NOISE_LEVEL), "noise level"))

    def _span(self, kind: str, options: Mapping[str, Any]) -> tuple[float, float | None]:
        text = options.get("range")
        if text is None and "start" in options:
            start = _number(options["start"], "start")
            end = options.get("end")
            return start, None if end is None else _number(end, "end")
        if text is None:
            if kind != "silence":
                raise ValueError(f"{kind} needs a time range (a-b) or a duration (0.7s)")
            return self._end, None
        duration = _DURATION.match(text.lower())
        if duration:
            return self._end, self._end + float(duration.group(1))
        match = _RANGE.match(text.lower())
        if not match:
            raise ValueError(f"not a time range: {text!r} (use e.g. 0.2-0.9 or 4.6-)")
        start = float(match.group(1))
        return start, None if match.group(2) is None else float(match.group(2))

    def _segment(self, kind: str, options: Mapping[str, Any]) -> None:
        start, end = self._span(kind, options)
        if end is not None and end <= start:
            raise ValueError(f"{kind} ends before it starts ({start:g}-{end:g})")
        if end is None and kind == "speech":
            raise ValueError("speech needs an end (the words are spread over it)")
        default = {"speech": SPEECH_LEVEL, "tone": TONE_LEVEL, "silence": 0}[kind]
        level = int(_number(options.get("level", default), "level"))
        frequency = None
        if kind == "tone":
            frequency = _number(options.get("frequency", 1000), "frequency")
        words: tuple[tuple[float, float], ...] = ()
        if kind == "speech" and end is not None:
            count = options.get("words")
            count = max(1, round((end - start) / WORD_SECONDS)) if count is None else count
            count = int(_number(count, "words"))
            if count < 1:
                raise ValueError("speech has at least one word")
            words = _word_spans(start, end, count, _number(options.get("pause", PAUSE), "pause"))
        odd = bool(options.get("odd", False))
        self.segments.append(Segment(kind, start, end, level, frequency, words, odd))
        self._end = start if end is None else end
