"""Answering-machine detection after answer, from stock FreeSWITCH applications.

The default engine follows Asterisk's app_amd (initial silence, greeting length, silence after
the greeting, minimum word length, silence between words, maximum number of words, total
analysis time, silence threshold) but is built only from `detect_audio` and `detect_silence`,
shaped by how those really behave (../shared/freeswitch/AUDIO-DETECTION.md):

- Their energy score on a mono channel is about half the true mean level, so the threshold,
  given on Asterisk's scale, is passed halved.
- Digital silence can score loud now and then (stale memory past the frame). So silence is
  never measured by one long `detect_silence` (a single loud frame would restart its count):
  it is measured as "no word started": `detect_audio` with hits = a minimum word's frames and
  the silence still needed as its timeout. A word is that many consecutive loud frames, which
  a stray frame (or a burst shorter than a word) never is.
- The end of a word is a short `detect_silence` (a between-words silence of frames) whose
  timeout is the greeting time still allowed, so a long greeting ends the check by itself.
- Durations come from FreeSWITCH's own clock (the timestamps of each application's
  CHANNEL_EXECUTE and EXECUTE_COMPLETE), never from the controller's, and every application
  gets a timeout: these applications do not stop for uuid_break.

Loop: listen (detect_audio) -> a word started -> wait for its end (detect_silence) -> listen.
Verdicts, as Asterisk: no word within initialSilence -> machine (initial_silence); words >=
maximumNumberOfWords -> machine (max_words); speech totalling >= greeting -> machine
(long_greeting); afterGreetingSilence without a new word after a greeting -> human
(after_greeting_silence); totalAnalysisTime used up -> notsure (total_time).

`engine: mod_amd` runs the voice_amd application instead where `module_exists mod_amd` says it
is loaded (else the builtin engine, and the result says so). `wait_for_beep` uses mod_avmd.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from controller.esl import apps
from controller.esl.channel import Channel
from controller.esl.messages import Event
from controller.exceptions import CallEnded, CommandTimeout, ESLError, NodeError

log = logging.getLogger("callflow.amd")

HUMAN, MACHINE, NOTSURE = "human", "machine", "notsure"
FRAME_MS = 20
BEEP_STEP_MS = 250  # wait_for_beep sleeps in steps this long, watching for the beep event
_RULES = {
    "initial_silence": MACHINE,
    "after_greeting_silence": HUMAN,
    "long_greeting": MACHINE,
    "max_words": MACHINE,
    "total_time": NOTSURE,
}
_MOD_AMD_CAUSES = {
    "INITIALSILENCE": "initial_silence",
    "HUMAN": "after_greeting_silence",
    "LONGGREETING": "long_greeting",
    "MAXWORDS": "max_words",
    "MAXWORDLENGTH": "max_word_length",
    "TOOLONG": "total_time",
}


@dataclass(frozen=True, slots=True)
class BeepResult:
    heard: bool
    after_ms: int  # from avmd_start to the beep (or to giving up), on FreeSWITCH's clock
    frequency: float | None = None
    available: bool = True  # False: mod_avmd is not loaded, nothing was listened for


@dataclass(frozen=True, slots=True)
class AmdResult:
    verdict: str  # human, machine or notsure
    reason: str  # initial_silence, after_greeting_silence, long_greeting, max_words, total_time
    decision_ms: int  # from the answer to the verdict, on FreeSWITCH's clock
    words: int = 0  # words heard (0 from mod_amd, which does not say)
    engine: str = "builtin"  # the engine that decided (mod_amd falls back when not loaded)


_DEFAULTS = {
    "initial_silence": 2500,
    "greeting": 1500,
    "after_greeting_silence": 800,
    "total_analysis_time": 5000,
    "min_word_length": 100,
    "between_words_silence": 50,
    "maximum_number_of_words": 3,
    "silence_threshold": 256,
    "beep_timeout": 20000,
}  # the dial node's schema defaults (controller/nodes/dial.py _AMD_SCHEMA)


@dataclass(frozen=True, slots=True)
class Settings:
    """The dial node's `amd` config (schema defaults), every value checked to be an int."""

    engine: str = "builtin"
    initial_silence: int = 2500
    greeting: int = 1500
    after_greeting_silence: int = 800
    total_analysis_time: int = 5000
    min_word_length: int = 100
    between_words_silence: int = 50
    maximum_number_of_words: int = 3
    silence_threshold: int = 256
    wait_for_beep: bool = False
    beep_timeout: int = 20000

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Settings:
        names = {
            "initialSilence": "initial_silence",
            "greeting": "greeting",
            "afterGreetingSilence": "after_greeting_silence",
            "totalAnalysisTime": "total_analysis_time",
            "minWordLength": "min_word_length",
            "betweenWordsSilence": "between_words_silence",
            "maximumNumberOfWords": "maximum_number_of_words",
            "silenceThreshold": "silence_threshold",
            "beepTimeout": "beep_timeout",
        }
        values: dict[str, Any] = {}
        for key, name in names.items():
            value = config.get(key, _DEFAULTS[name])
            if type(value) is not int or not 1 <= value <= 120_000:
                raise NodeError(f"amd.{key} must be a positive integer, not {value!r}")
            values[name] = value
        engine = config.get("engine", "builtin")
        if engine not in ("builtin", "mod_amd"):
            raise NodeError(f"amd.engine is builtin or mod_amd, not {engine!r}")
        return cls(engine=engine, wait_for_beep=config.get("waitForBeep") is True, **values)

    @property
    def threshold(self) -> int:
        """FreeSWITCH's score is about half the true level: half of Asterisk's threshold."""
        return max(2, min(32767, self.silence_threshold // 2))


def detect(channel: Channel, *, config: Mapping[str, Any], timeout: float) -> AmdResult:
    """Tell a human from a machine on an answered call. `timeout` (s) bounds the whole thing
    in real time (the analysis itself is bounded by totalAnalysisTime). waitForBeep and
    beepTimeout are the caller's business (wait_for_beep, after a machine verdict)."""
    settings = Settings.from_config(config)
    deadline = time.monotonic() + timeout
    result = _mod_amd(channel, settings, deadline) if settings.engine == "mod_amd" else None
    if result is None:
        result = _Builtin(channel, settings, deadline).run()
    log.info("amd %s: %s (%s) after %d ms", channel.uuid, result.verdict, result.reason,
             result.decision_ms)  # fmt: skip
    return result


class _Builtin:
    """The detect_audio / detect_silence engine (see the module docstring)."""

    def __init__(self, channel: Channel, settings: Settings, deadline: float) -> None:
        self.channel = channel
        self.s = settings
        self.deadline = deadline
        # detect_* return after hits+1 frames: a word is min_word_length of loud frames, a
        # pause between_words_silence of quiet ones; at least 2 frames, so one stray frame is
        # never either (and hits=0 would be a usage error).
        self.word_hits = max(1, math.ceil(settings.min_word_length / FRAME_MS) - 1)
        self.gap_hits = max(1, math.ceil(settings.between_words_silence / FRAME_MS) - 1)
        self.gap_ms = (self.gap_hits + 1) * FRAME_MS
        self.start_us = self.now_us = self.answered_us = 0
        self.words = self.voice_ms = 0
        self.quiet_ms = 0  # silence already heard when the next listen starts

    @property
    def elapsed_ms(self) -> int:
        return (self.now_us - self.start_us) // 1000

    def run(self) -> AmdResult:
        while True:
            result = self._listen() or self._word()
            if result is not None:
                return result

    def _budget(self, ms: int, rule: str) -> tuple[int, str]:
        left = self.s.total_analysis_time - self.elapsed_ms
        return (left, "total_time") if left <= ms else (ms, rule)

    def _listen(self) -> AmdResult | None:
        """Silence: wait for the next word, as long as the current rule allows."""
        if self.words:
            ms, rule = self._budget(
                self.s.after_greeting_silence - self.quiet_ms, "after_greeting_silence"
            )
        else:
            ms, rule = self._budget(self.s.initial_silence - self.elapsed_ms, "initial_silence")
        if ms <= 0:
            return self._verdict(rule)
        if not self._run(apps.detect_audio, self.s.threshold, self.word_hits, ms).detected:
            return self._verdict(rule)
        self.words += 1
        self.voice_ms += (self.word_hits + 1) * FRAME_MS
        self.quiet_ms = 0
        if self.words >= self.s.maximum_number_of_words:
            return self._verdict("max_words")
        if self.voice_ms >= self.s.greeting:
            return self._verdict("long_greeting")
        return None

    def _word(self) -> AmdResult | None:
        """In a word: wait for the silence that ends it, as long as the greeting allows."""
        while True:
            ms, rule = self._budget(self.s.greeting - self.voice_ms + self.gap_ms, "long_greeting")
            if ms <= 0:
                return self._verdict(rule)
            before = self.now_us
            found = self._run(apps.detect_silence, self.s.threshold - 1, self.gap_hits, ms)
            heard = found.elapsed_ms or (found.ended_us - before) // 1000
            if found.detected:
                self.voice_ms += max(0, heard - self.gap_ms)
                self.quiet_ms = self.gap_ms
                return self._verdict("long_greeting") if self.voice_ms >= self.s.greeting else None
            self.voice_ms += max(0, heard - found.hits * FRAME_MS)
            if rule == "total_time" or self.voice_ms >= self.s.greeting:
                return self._verdict(rule)
            # A pause had begun when the time ran out: go on waiting for it to be long enough.

    def _run(self, app: Any, threshold: int, hits: int, ms: int) -> apps.Detection:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise CommandTimeout("answering-machine detection ran out of time")
        limit = min(left, ms / 1000 + self.channel.command_timeout)
        found = app(self.channel, threshold=threshold, hits=hits, timeout_ms=ms, timeout=limit)
        if not self.start_us:
            self.start_us = found.started_us or found.ended_us
        self.now_us = found.ended_us
        self.answered_us = found.answered_us or self.answered_us
        return found

    def _verdict(self, rule: str) -> AmdResult:
        since = self.answered_us or self.start_us
        decision = (self.now_us - since) // 1000 if since else 0
        return AmdResult(_RULES[rule], rule, decision, self.words)


def _mod_amd(channel: Channel, settings: Settings, deadline: float) -> AmdResult | None:
    """voice_amd, where mod_amd is loaded; None (use the builtin engine) where it is not."""
    loaded = apps.module_exists(channel, name="mod_amd", timeout=channel.command_timeout)
    if not loaded:
        log.warning("amd %s: mod_amd is %s; using the builtin engine", channel.uuid,
                    "not loaded" if loaded is False else "unknown to this FreeSWITCH")  # fmt: skip
        return None
    overrides = {
        "initial_silence": settings.initial_silence,
        "greeting": settings.greeting,
        "after_greeting_silence": settings.after_greeting_silence,
        "total_analysis_time": settings.total_analysis_time,
        "min_word_length": settings.min_word_length,
        "between_words_silence": settings.between_words_silence,
        "maximum_number_of_words": settings.maximum_number_of_words,
        "silence_threshold": settings.threshold,  # mod_amd scores frames with the same bug
    }
    limit = min(deadline - time.monotonic(), settings.total_analysis_time / 1000 + 5.0)
    found = apps.voice_amd(channel, settings=overrides, timeout=max(0.1, limit))
    verdict = {"HUMAN": HUMAN, "MACHINE": MACHINE}.get(found.result or "", NOTSURE)
    reason = _MOD_AMD_CAUSES.get(found.cause or "", (found.cause or "no_result").lower())
    decision = (found.ended_us - found.answered_us) // 1000 if found.answered_us else 0
    return AmdResult(verdict, reason, decision, 0, engine="mod_amd")


def wait_for_beep(channel: Channel, *, timeout: float) -> BeepResult:
    """Start mod_avmd and wait up to `timeout` s (FreeSWITCH's clock) for the voicemail beep;
    avmd is stopped afterwards. Its events reach the socket only when subscribed to by name,
    and each arrives twice: the beep is the first DETECTED avmd::beep, its copy (same
    Event-Sequence) ignored. The wait is a series of short `sleep`s, so a beep is acted on
    within BEEP_STEP_MS (no uuid_break: one landing after a sleep ended would cut the next
    playback short). Usable after any verdict: a beep after "human" is evidence of a machine."""
    # An application FreeSWITCH does not have hangs the call up (DESTINATION_OUT_OF_ORDER):
    # never send avmd_start without mod_avmd.
    if not apps.module_exists(channel, name="mod_avmd", timeout=channel.command_timeout):
        log.warning("amd %s: mod_avmd is not loaded; not waiting for the beep", channel.uuid)
        return BeepResult(False, 0, None, available=False)
    beeps: dict[str, Event] = {}

    def on_event(event: Event) -> None:
        if (
            event.name == "CUSTOM"
            and event.get("Event-Subclass") == "avmd::beep"
            and event.get("Beep-Status") == "DETECTED"
        ):
            beeps.setdefault(event.get("Event-Sequence") or "", event)

    channel.subscribe("CUSTOM", "avmd::beep")
    channel.listeners.append(on_event)
    started_us = now_us = 0
    try:
        started_us = now_us = apps.avmd_start(channel, timeout=channel.command_timeout)
        until_us = started_us + int(timeout * 1_000_000)
        deadline = time.monotonic() + timeout + channel.command_timeout
        while not beeps and now_us < until_us and time.monotonic() < deadline:
            step = max(1, min(BEEP_STEP_MS, (until_us - now_us) // 1000))
            limit = step / 1000 + channel.command_timeout
            now_us = apps.sleep(channel, milliseconds=step, timeout=limit) or now_us + step * 1000
    finally:
        channel.listeners.remove(on_event)
        if not channel.ended:
            try:
                apps.avmd_stop(channel, timeout=channel.command_timeout)
            except (CallEnded, ESLError) as exc:
                log.info("amd %s: avmd_stop: %s", channel.uuid, exc)
    if not beeps:
        return BeepResult(False, max(0, now_us - started_us) // 1000, None)
    beep = next(iter(beeps.values()))
    try:
        frequency: float | None = float(beep.get("Frequency") or "")
    except ValueError:
        frequency = None
    at = int(beep.get("Event-Date-Timestamp") or 0)
    return BeepResult(True, max(0, at - started_us) // 1000, frequency)


def watch_for_beep(channel: Channel, *, on_beep: Callable[[int], None]) -> bool:
    """After a "human" verdict: keep mod_avmd listening while the flow goes on, and call
    `on_beep(ms since the watch started)` if a voicemail beep is heard — evidence the verdict
    was wrong, kept in the call's record. Nothing waits: the flow is not delayed, and no
    greenlet is started (the channel's reader calls `on_beep`); avmd reports one beep and
    FreeSWITCH removes it at hangup. False when mod_avmd is not loaded (nothing started)."""
    if not apps.module_exists(channel, name="mod_avmd", timeout=channel.command_timeout):
        return False
    heard: list[int] = []
    started_us = [0]  # set once avmd_start returns; read by the reader greenlet

    def on_event(event: Event) -> None:
        if (
            not heard
            and event.name == "CUSTOM"
            and event.get("Event-Subclass") == "avmd::beep"
            and event.get("Beep-Status") == "DETECTED"
        ):
            heard.append(int(event.get("Event-Date-Timestamp") or 0))
            on_beep(max(0, heard[0] - started_us[0]) // 1000)

    channel.subscribe("CUSTOM", "avmd::beep")
    channel.listeners.append(on_event)
    started_us[0] = apps.avmd_start(channel, timeout=channel.command_timeout)
    return True
