"""Scripted callers: what the person on the other end of a simulated call does.

A script is a list of steps, written compactly for the CLI (`;` or newlines between steps) or
as a list of dicts/strings in YAML scenarios. Semantics:

- Each input-collecting application (`play_and_get_digits`, `record`) consumes the next step
  when it starts (one step per application, whatever its number of tries).
- `press D [after T]`: types the digits D (0-9, *, #, A-D) starting T after that application
  starts (default 0.5 s), 150 ms apart. Each digit is a DTMF event.
- `silent`: does nothing, so the application times out (or stops on silence).
- `speak T`: speaks for T seconds from the start of the application, then is silent: `record`
  records T seconds of audio and, with silence detection, stops after the silence that follows.
- `press D during playback [after T]`: consumed by the next application that plays audio
  (`playback`, or the prompt of `play_and_get_digits`, which then consumes this step instead
  of the next one): the digits are typed T (default 0.5 s) into it. They produce DTMF events
  and stop the playback only when `playback_terminators` allows (FreeSWITCH's default is `*`);
  `play_and_get_digits` always stops its prompt and collects them.
- `hangup`: hangs up at the start of the next input-collecting application.
- Timers on the whole call, not steps: `hangup after T` hangs up T after the call starts, and
  `press D at T` types D at T after the call starts, whatever runs then (even while parked).
- An exhausted script is silent.

Times are call time (see clock.py): with the simulated clock, time spent inside applications
costs no real time, while time spent parked (waiting for the controller's next command)
follows real time. Durations are `2`, `2s`, `0.5s` or `500ms`.

    CallerScript.parse("press 12# after 0.5s; silent; hangup after 30s")
    CallerScript.from_data([{"press": "1", "after": "2s"}, "silent", {"hangup": {"after": 4}}])
"""

from __future__ import annotations

import bisect
import re
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

DEFAULT_AFTER = 0.5
DIGIT_GAP = 0.15
_DIGITS = re.compile(r"^[0-9*#A-Da-d]+$")
_DURATION = re.compile(r"^(\d+(?:\.\d*)?|\.\d+)\s*(ms|s)?$")

StepKind = Literal["press", "silent", "speak", "hangup"]


def parse_duration(value: Any) -> float:
    """Seconds from `2`, `2.5`, `"2s"`, `"500ms"`; ValueError otherwise."""
    if isinstance(value, bool):
        raise ValueError(f"not a duration: {value!r}")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        match = _DURATION.match(str(value).strip().lower())
        if not match:
            raise ValueError(f"not a duration: {value!r} (use e.g. 2s, 0.5s, 500ms)")
        seconds = float(match.group(1)) / (1000.0 if match.group(2) == "ms" else 1.0)
    if seconds < 0:
        raise ValueError(f"negative duration: {value!r}")
    return seconds


def _digits(value: Any) -> str:
    text = str(value).strip()
    if not _DIGITS.match(text):
        raise ValueError(f"not DTMF digits: {value!r} (use 0-9, *, #, A-D)")
    return text.upper()


def _seconds(value: float) -> str:
    return f"{value:g}s"


@dataclass(frozen=True, slots=True)
class Step:
    kind: StepKind
    digits: str = ""
    after: float | None = None  # press: delay from the consuming application's start
    during_playback: bool = False
    duration: float = 0.0  # speak

    def __str__(self) -> str:
        if self.kind == "press":
            text = f"press {self.digits}"
            if self.during_playback:
                text += " during playback"
            return text + (f" after {_seconds(self.after)}" if self.after is not None else "")
        if self.kind == "speak":
            return f"speak {_seconds(self.duration)}"
        return self.kind


@dataclass(frozen=True, slots=True)
class CallerScript:
    """A parsed caller script; see the module docstring for its meaning."""

    steps: tuple[Step, ...] = ()
    hangup_after: float | None = None
    presses_at: tuple[tuple[float, str], ...] = ()

    @classmethod
    def parse(cls, text: str) -> CallerScript:
        return cls.from_data([part for part in re.split(r"[;\n]", text) if part.strip()])

    @classmethod
    def from_data(cls, data: Any) -> CallerScript:
        """A script from YAML-ish data: None, a compact string, one dict, or a list of both."""
        if isinstance(data, CallerScript):
            return data
        if data is None:
            return cls()
        if isinstance(data, str):
            if ";" in data or "\n" in data:
                return cls.parse(data)
            data = [data]
        elif isinstance(data, Mapping):
            data = [data]
        builder = _Builder()
        for item in data:
            if isinstance(item, str):
                builder.add_text(item)
            elif isinstance(item, Mapping):
                builder.add_mapping(item)
            else:
                raise ValueError(f"a caller step is a string or a mapping, not {item!r}")
        return CallerScript(tuple(builder.steps), builder.hangup_after, tuple(builder.presses))

    def __str__(self) -> str:
        parts = [str(step) for step in self.steps]
        parts += [f"press {digits} at {_seconds(at)}" for at, digits in self.presses_at]
        if self.hangup_after is not None:
            parts.append(f"hangup after {_seconds(self.hangup_after)}")
        return "; ".join(parts) or "silent"


@dataclass
class _Builder:
    steps: list[Step] = field(default_factory=list)
    presses: list[tuple[float, str]] = field(default_factory=list)
    hangup_after: float | None = None

    def add_text(self, text: str) -> None:
        words = text.strip().split()
        if not words:
            return
        head, rest = words[0].lower(), words[1:]
        if head == "silent" and not rest:
            self.steps.append(Step("silent"))
        elif head == "speak" and len(rest) == 1:
            self.steps.append(Step("speak", duration=parse_duration(rest[0])))
        elif head == "hangup" and not rest:
            self.steps.append(Step("hangup"))
        elif head == "hangup" and len(rest) == 2 and rest[0].lower() in ("after", "at"):
            self._timer_hangup(parse_duration(rest[1]))
        elif head == "press" and rest:
            self._press(rest[0], self._modifiers(rest[1:], text))
        else:
            raise ValueError(f"unknown caller step {text.strip()!r}")

    @staticmethod
    def _modifiers(words: list[str], text: str) -> dict[str, Any]:
        options: dict[str, Any] = {}
        index = 0
        while index < len(words):
            word = words[index].lower()
            if word in ("after", "at") and index + 1 < len(words):
                options[word] = words[index + 1]
                index += 2
            elif word == "during" and index + 1 < len(words) and words[index + 1] == "playback":
                options["during"] = "playback"
                index += 2
            else:
                raise ValueError(f"cannot read {' '.join(words[index:])!r} in {text.strip()!r}")
        return options

    def add_mapping(self, item: Mapping[str, Any]) -> None:
        keys = set(item)
        if "press" in keys:
            unknown = keys - {"press", "after", "at", "during"}
            if unknown:
                raise ValueError(f"unknown key(s) {sorted(unknown)} in {dict(item)!r}")
            self._press(item["press"], {k: v for k, v in item.items() if k != "press"})
        elif keys == {"silent"}:
            self.steps.append(Step("silent"))
        elif keys == {"speak"}:
            self.steps.append(Step("speak", duration=parse_duration(item["speak"])))
        elif keys == {"hangup"} and isinstance(item["hangup"], Mapping):
            timer = item["hangup"]
            when = timer.get("after", timer.get("at"))
            if when is None or set(timer) - {"after", "at"}:
                raise ValueError(f"hangup takes {{after: T}}, not {dict(timer)!r}")
            self._timer_hangup(parse_duration(when))
        elif keys == {"hangup"}:
            self.steps.append(Step("hangup"))
        elif keys == {"hangup_after"}:
            self._timer_hangup(parse_duration(item["hangup_after"]))
        else:
            raise ValueError(f"unknown caller step {dict(item)!r}")

    def _press(self, digits: Any, options: Mapping[str, Any]) -> None:
        text = _digits(digits)
        during = options.get("during")
        if during not in (None, "playback"):
            raise ValueError(f"press ... during takes 'playback', not {during!r}")
        if "at" in options:
            if during or "after" in options:
                raise ValueError("press ... at T is a call timer: no 'after' or 'during'")
            self.presses.append((parse_duration(options["at"]), text))
            return
        after = parse_duration(options["after"]) if "after" in options else None
        self.steps.append(Step("press", text, after, during_playback=during == "playback"))

    def _timer_hangup(self, seconds: float) -> None:
        if self.hangup_after is not None:
            raise ValueError("only one 'hangup after T' per script")
        self.hangup_after = seconds


class CallerTimeline:
    """One call's caller at run time: the steps still to consume and what is scheduled
    (digits, speech, a hangup) in call time. Applications ask it what happens when."""

    def __init__(self, script: CallerScript, start: float) -> None:
        self.steps: deque[Step] = deque(script.steps)
        self.hangup_at = None if script.hangup_after is None else start + script.hangup_after
        self._digits: list[tuple[float, int, str]] = []  # (time, order, digit), sorted
        self._order = 0
        self.speech: list[tuple[float, float]] = []
        for at, digits in script.presses_at:
            self._schedule(start + at, digits)

    def take_input_step(self) -> Step | None:
        """The step for an input-collecting application (any kind), or None when exhausted."""
        return self.steps.popleft() if self.steps else None

    def take_playback_step(self) -> Step | None:
        """The next step if it types during playback (consumed by playback-like apps)."""
        if self.steps and self.steps[0].kind == "press" and self.steps[0].during_playback:
            return self.steps.popleft()
        return None

    def apply(self, step: Step | None, app_start: float) -> bool:
        """Schedule what `step` does for an application starting at `app_start`; True when
        the caller hangs up right now."""
        if step is None:
            return False
        if step.kind == "press":
            after = DEFAULT_AFTER if step.after is None else step.after
            self._schedule(app_start + after, step.digits)
        elif step.kind == "speak" and step.duration > 0:
            self.speech.append((app_start, app_start + step.duration))
            self.speech.sort()
        return step.kind == "hangup"

    def _schedule(self, at: float, digits: str) -> None:
        for index, digit in enumerate(digits):
            self._order += 1
            bisect.insort(self._digits, (at + index * DIGIT_GAP, self._order, digit))

    def next_time(self, *, digits: bool = True) -> float | None:
        """When the next scheduled hangup (or digit, with `digits`) happens; None: nothing."""
        first_digit = self._digits[0][0] if self._digits and digits else None
        times = [t for t in (self.hangup_at, first_digit) if t is not None]
        return min(times) if times else None

    def pop_due(self, now: float, *, digits: bool = True) -> str | None:
        """The earliest thing due by `now`: "hangup", one digit (with `digits`), or None."""
        digit_at = self._digits[0][0] if self._digits and digits else None
        hangup_due = self.hangup_at is not None and self.hangup_at <= now
        if hangup_due and (digit_at is None or self.hangup_at <= digit_at):  # type: ignore[operator]
            self.hangup_at = None
            return "hangup"
        if digit_at is not None and digit_at <= now:
            return self._digits.pop(0)[2]
        return None

    def drop_due_digits(self, now: float) -> None:
        """flush_dtmf: forget the digits typed so far and not yet read."""
        while self._digits and self._digits[0][0] <= now:
            self._digits.pop(0)

    def speech_between(self, start: float, end: float) -> float:
        """Seconds of speech within [start, end]."""
        return sum(max(0.0, min(end, b) - max(start, a)) for a, b in self.speech)

    def silence_done(self, start: float, silence: float) -> float:
        """When `silence` seconds without speech have passed, counting from `start`."""
        quiet_from = start
        for begin, end in self.speech:
            if end <= quiet_from:
                continue
            if begin >= quiet_from + silence:
                break
            quiet_from = max(quiet_from, end)
        return quiet_from + silence
