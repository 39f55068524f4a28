"""Audio detection against what the far end sends (`session.audio_timeline`, from the answer;
none: digital silence), as /work/shared/freeswitch/AUDIO-DETECTION.md describes FreeSWITCH:

- `detect_audio T H TO` / `detect_silence T H TO [file]`: done after H+1 consecutive frames
  scoring >= T (<= T); the timeout is a sample budget taken before each frame is scored.
  Detection sets `<app>_timeout=false`; a timeout `<app>_timeout=true` and `<app>_hits` (the
  current run). A usage error (under 3 arguments, T or H not positive) or a hangup sets
  nothing. Scores are AudioTimeline.frame_score, FreeSWITCH's mono energy bug included.
- `wait_for_silence T S L TO [file]`: loopback frames all have sequence number 0 and are
  skipped, so it never hears audio there: L>0 always times out, L=0 returns after S+25 frames.
- `voice_amd [key=value ...]` (mod_amd, optional): Asterisk's algorithm on the same scores;
  sets `amd_result` (HUMAN, MACHINE, NOTSURE) and `amd_cause`.
- mod_avmd's applications: avmd.py, on the same frames and clock.

Frames are the channel's 20 ms packets counted from the answer. An application reads the
frames that arrive after it starts and ends when the deciding frame arrives, so the call's
clock moves by the time FreeSWITCH really takes. Like FreeSWITCH's loops, these applications
neither run queued commands nor stop for uuid_break: only a hangup ends them early.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from controller.simulator.audio_timeline import FRAME, AudioTimeline
from controller.simulator.media import resolve
from controller.simulator.util import atoi

if TYPE_CHECKING:
    from controller.simulator.session import Session

SAMPLES = 160  # per frame
MAX_FRAMES = 180_000  # an hour: a wait that has not ended by then waits for the hangup
# fmt: off
AMD_DEFAULTS = {"initial_silence": 2500, "greeting": 1500, "after_greeting_silence": 800,
                "total_analysis_time": 5000, "min_word_length": 100, "between_words_silence": 50,
                "maximum_number_of_words": 3, "maximum_word_length": 5000,
                "silence_threshold": 256}  # mod_amd's amd.conf defaults
# fmt: on


# -- frames and time ----------------------------------------------------------------------------


def timeline_of(session: Session) -> AudioTimeline | None:
    data = getattr(session, "audio_timeline", None)
    if data is None or isinstance(data, AudioTimeline):
        return data
    timeline = AudioTimeline.from_data(data)
    session.audio_timeline = timeline
    return timeline


@dataclass(frozen=True, slots=True)
class _Frames:
    origin: float  # the answer (epoch); frame k covers origin + [k, k+1) * FRAME
    first: int  # the first frame this application reads
    score: Callable[[int], int]
    steady: float  # from this frame time on every score is the same

    def end(self, index: int) -> float:
        """When frame `index` has arrived."""
        return self.origin + (index + 1) * FRAME

    def hopeless(self, index: int) -> bool:
        return index * FRAME > self.steady + FRAME or index - self.first > MAX_FRAMES


def _frames(session: Session) -> _Frames:
    channel = session.channel
    timeline = timeline_of(session)
    origin = channel.answered_at or channel.created
    first = max(0, math.floor((session.clock.now() - origin) / FRAME + 1e-4))
    if not channel.answered_at or timeline is None:
        return _Frames(origin, first, lambda index: 0, 0.0)  # nothing queued: scores 0
    return _Frames(origin, first, timeline.frame_score, timeline.steady_after())


def pass_until(session: Session, until: float | None) -> bool:
    """Media time passes until `until` (None: until the call ends): the caller's timers and
    media bugs (avmd) run, queued commands wait, uuid_break is not looked at. False when the
    call hung up."""
    while True:
        session.wake.clear()
        if not session.channel.up:
            return False
        if session._deliver_due(None) is not None:  # the caller's `hangup after`
            continue
        now = session.clock.now()
        if until is not None and now >= until - 1e-6:
            return True
        when = session.timeline.next_time(digits=False)
        step = None if until is None else until - now
        if when is not None:
            step = max(0.0, when - now) if step is None else min(step, max(0.0, when - now))
        if step is None:
            session.clock.idle_wait(None, session.wake)
        else:
            session.clock.media_wait(step, session.wake)


class _Budget:
    """The timeout as FreeSWITCH keeps it: samples, taken before each frame is scored."""

    def __init__(self, timeout_ms: int) -> None:
        self.samples = 8 * max(0, timeout_ms)  # (samples per second / 1000) * timeout_ms

    def spent(self) -> bool:
        if not self.samples:
            return False  # 0: no timeout
        self.samples -= SAMPLES
        return self.samples <= 0


def _finish(session: Session, frames: _Frames, index: int | None, found: dict[str, str]) -> None:
    """Let the time pass until frame `index` has arrived (None: never), then set `found`."""
    if index is None:
        pass_until(session, None)
        return
    if pass_until(session, frames.end(index)):
        for name, value in found.items():
            session.channel.variables.set(name, value)


# -- detect_audio / detect_silence -------------------------------------------------------------


def detect_audio(session: Session, arg: str) -> None:
    _detect(session, arg, "detect_audio", loud=True)


def detect_silence(session: Session, arg: str) -> None:
    _detect(session, arg, "detect_silence", loud=False)


def _detect(session: Session, arg: str, name: str, *, loud: bool) -> None:
    argv = arg.split()
    if len(argv) < 3:
        return  # "Usage: <threshold> <audio_hits> <timeout_ms> [<file>]": nothing set
    threshold, needed, timeout_ms = atoi(argv[0]), atoi(argv[1]), atoi(argv[2])
    if threshold <= 0 or needed <= 0:
        return
    if len(argv) > 3 and resolve(session, argv[3]) is None:
        return  # the file cannot be opened: SWITCH_STATUS_NOTFOUND before any frame
    frames = _frames(session)
    budget = _Budget(timeout_ms)
    hits = 0
    index = frames.first
    while True:
        if budget.spent():
            found = {f"{name}_timeout": "true", f"{name}_hits": str(hits)}
            break
        score = frames.score(index)
        hits = hits + 1 if (score >= threshold if loud else score <= threshold) else 0
        if hits > needed:
            found = {f"{name}_timeout": "false"}
            break
        if not timeout_ms and not hits and frames.hopeless(index):
            _finish(session, frames, None, {})
            return
        index += 1
    _finish(session, frames, index, found)


# -- wait_for_silence ---------------------------------------------------------------------------


def wait_for_silence(session: Session, arg: str) -> None:
    argv = arg.split()
    if len(argv) < 3:
        return
    threshold, silence_hits, listen_hits = atoi(argv[0]), atoi(argv[1]), atoi(argv[2])
    timeout_ms = max(0, atoi(argv[3])) if len(argv) > 3 else 0
    if threshold <= 0 or silence_hits <= 0:
        return
    if len(argv) > 4 and resolve(session, argv[4]) is None:
        return
    frames = _frames(session)
    # Loopback frames all have sequence number 0 and are skipped: nothing is ever loud.
    deaf = session.channel.name.startswith("loopback/")
    if deaf and listen_hits and not timeout_ms:
        pass_until(session, None)  # it can only wait for the hangup
        return
    budget = _Budget(timeout_ms)
    remaining, listening, countdown = silence_hits, 0, 0
    index = frames.first
    while True:
        if budget.spent():
            found = {"wait_for_silence_timeout": "true"}
            found["wait_for_silence_listenhits"] = str(listening)
            found["wait_for_silence_silence_hits"] = str(remaining)
            break
        if countdown:
            countdown -= 1
            if not countdown:
                found = {"wait_for_silence_timeout": "false"}
                break
            index += 1
            continue
        score = 0 if deaf else frames.score(index)
        listening += score >= threshold
        if (listening > listen_hits or not listen_hits) and score < threshold:
            remaining -= 1
            if not remaining:
                countdown = 25  # a fixed 500 ms after S quiet frames
        else:
            remaining = silence_hits
        if not timeout_ms and index - frames.first > MAX_FRAMES:
            _finish(session, frames, None, {})
            return
        index += 1
    _finish(session, frames, index, found)


# -- voice_amd (mod_amd) ------------------------------------------------------------------------


def voice_amd(session: Session, arg: str) -> None:
    """mod_amd: Asterisk's app_amd on FreeSWITCH's frame scores; `key=value` overrides."""
    params = dict(AMD_DEFAULTS)
    for word in re.split(r"[\s;,]+", arg.strip()):
        key, _, value = word.partition("=")
        if key in params and atoi(value) > 0:
            params[key] = atoi(value)
    frames = _frames(session)
    budget = _Budget(params["total_analysis_time"])
    vad = _Vad(params)
    index = frames.first
    while True:
        if budget.spent():
            result = ("NOTSURE", "TOOLONG")
            break
        voiced = frames.score(index) >= params["silence_threshold"]
        result = vad.voiced() if voiced else vad.silence()
        if result is not None:
            break
        if not params["total_analysis_time"] and index - frames.first > MAX_FRAMES:
            _finish(session, frames, None, {})
            return
        index += 1
    _finish(session, frames, index, {"amd_result": result[0], "amd_cause": result[1]})


class _Vad:
    """mod_amd's amd_vad_t and its two frame handlers."""

    def __init__(self, params: dict[str, int]) -> None:
        self.p = params
        self.in_word = True  # VAD_STATE_IN_WORD at the start
        self.silence_ms = self.voice_ms = self.words = 0
        self.initial, self.greeting = True, False

    def silence(self) -> tuple[str, str] | None:
        self.silence_ms += 20
        if self.silence_ms >= self.p["between_words_silence"]:
            self.in_word, self.voice_ms = False, 0
        if self.initial and self.silence_ms >= self.p["initial_silence"]:
            return "MACHINE", "INITIALSILENCE"
        if self.greeting and self.silence_ms >= self.p["after_greeting_silence"]:
            return "HUMAN", "HUMAN"
        return None

    def voiced(self) -> tuple[str, str] | None:
        self.voice_ms += 20
        word = self.voice_ms >= self.p["min_word_length"]
        if word and not self.in_word:
            self.words += 1
            self.in_word = True
        if self.voice_ms >= self.p["maximum_word_length"]:
            return "MACHINE", "MAXWORDLENGTH"
        if self.words >= self.p["maximum_number_of_words"]:
            return "MACHINE", "MAXWORDS"
        if self.greeting and self.voice_ms >= self.p["greeting"]:
            return "MACHINE", "LONGGREETING"
        if word:
            self.silence_ms = 0
            self.initial, self.greeting = False, True
        return None
