"""Typed, keyword-only wrappers for the dialplan applications callflow runs.

Each wrapper builds the application argument from validated values (FreeSWITCH splits most
arguments on spaces, and `!` separates `file_string://` members, so a value containing them
would change the command's meaning) and reads the result the way FreeSWITCH really reports
it (FINDINGS.md, "Application results"):

- playback: `Application-Response` is `FILE PLAYED`, `FILE NOT FOUND` or `PLAYBACK ERROR`;
  an interruption by DTMF still says FILE PLAYED and sets `playback_terminator_used`.
- play_and_get_digits: the response is always `_none_`; the result is in the variable, its
  `<var>_invalid` twin and `read_result`. Each attempt uses a fresh variable name, so a value
  left by an earlier attempt can never be read as this one's.
- record: the app's response is `_none_`; `record_ms` counts audio written (0 for a silent
  caller), and why it stopped is read from `silence_hits_exhausted` and
  `playback_terminator_used`.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from pathlib import PurePosixPath

from controller.esl.channel import Channel
from controller.esl.messages import Event
from controller.exceptions import CallEnded, ESLError, NodeError

_SAFE_TOKEN = re.compile(r"^[^\s!]+$")
_VARIABLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_DIGITS = re.compile(r"^[0-9*#]*$")


BEEP = "tone_stream://%(250,0,1000)"
SILENCE = "silence_stream://1"
# Generated sounds callflow itself writes (never user input): tones and silence.
_GENERATED = re.compile(r"^(tone_stream|silence_stream)://[%(),;0-9]+$")


def safe_path(path: str) -> str:
    """An absolute path (or a generated tone) usable as one argument token and one
    file_string member."""
    if _GENERATED.fullmatch(path):
        return path
    if not PurePosixPath(path).is_absolute() or not _SAFE_TOKEN.fullmatch(path) or ".." in path:
        raise NodeError(f"unsafe path for FreeSWITCH: {path!r}")
    return path


def safe_value(value: str) -> str:
    """A channel-variable value: one line, no NUL."""
    if "\n" in value or "\r" in value or "\0" in value:
        raise NodeError("a channel variable value cannot contain line breaks")
    return value


def file_string(paths: list[str]) -> str:
    """Several files as one gapless playback (`file_string://a!b!c`)."""
    checked = [safe_path(p) for p in paths]
    return checked[0] if len(checked) == 1 else "file_string://" + "!".join(checked)


def answer(channel: Channel, *, timeout: float) -> None:
    channel.execute("answer", "", timeout=timeout)


def set_variable(
    channel: Channel, *, name: str, value: str, export: bool = False, timeout: float
) -> None:
    if not _VARIABLE.fullmatch(name):
        raise NodeError(f"invalid channel variable name {name!r}")
    channel.execute("export" if export else "set", f"{name}={safe_value(value)}", timeout=timeout)


def flush_dtmf(channel: Channel, *, timeout: float) -> None:
    channel.execute("flush_dtmf", "", timeout=timeout)


@dataclass(frozen=True, slots=True)
class PlaybackResult:
    played: bool
    response: str
    terminator: str | None


def playback(channel: Channel, *, files: list[str], timeout: float) -> PlaybackResult:
    event = channel.execute("playback", file_string(files), timeout=timeout)
    response = event.get("Application-Response", "")
    return PlaybackResult(
        played=response == "FILE PLAYED",
        response=response,
        terminator=event.variable("playback_terminator_used"),
    )


@dataclass(frozen=True, slots=True)
class DigitsResult:
    digits: str | None  # the valid entry, None when there was none
    invalid: str | None  # what was typed when it did not match

    @property
    def timed_out(self) -> bool:
        return self.digits is None and not self.invalid


def play_and_get_digits(
    channel: Channel,
    *,
    min_digits: int,
    max_digits: int,
    first_digit_timeout_ms: int,
    terminators: str,
    prompt: list[str],
    invalid_prompt: list[str],
    regex: str,
    inter_digit_timeout_ms: int,
    timeout: float,
) -> DigitsResult:
    """One attempt (tries=1): retries and their prompts are the dtmf node's business."""
    if not _DIGITS.fullmatch(terminators) or not _SAFE_TOKEN.fullmatch(regex):
        raise NodeError("terminators must be keys and the pattern must not contain spaces or !")
    variable = "callflow_digits_" + uuid.uuid4().hex[:12]
    # pagd needs a file in both places; 1 ms of silence stands for "nothing to play".
    nothing = SILENCE
    arg = " ".join(
        [
            str(min_digits),
            str(max_digits),
            "1",
            str(first_digit_timeout_ms),
            terminators or "none",
            file_string(prompt) if prompt else nothing,
            file_string(invalid_prompt) if invalid_prompt else nothing,
            variable,
            regex,
            str(inter_digit_timeout_ms),
        ]
    )
    event = channel.execute("play_and_get_digits", arg, timeout=timeout)
    return _digits_result(event, variable)


def _digits_result(event: Event, variable: str) -> DigitsResult:
    digits = event.variable(variable)
    return DigitsResult(
        digits=digits or None,
        invalid=event.variable(f"{variable}_invalid") or None,
    )


@dataclass(frozen=True, slots=True)
class RecordResult:
    path: str
    milliseconds: int  # audio written; a silent caller gives 0 however long it ran
    stopped_by: str  # "silence", "key" or "limit"


def record(
    channel: Channel,
    *,
    path: str,
    max_seconds: int,
    silence_threshold: int,
    silence_seconds: int,
    terminators: str,
    timeout: float,
) -> RecordResult:
    """Record; why it stopped comes from FreeSWITCH's own variables, not from the length:
    `silence_hits_exhausted` (set afresh by every record run) and `playback_terminator_used`
    (left over from earlier playbacks, so it is cleared first, with the terminators set)."""
    if not _DIGITS.fullmatch(terminators):
        raise NodeError("record terminators must be keys (0-9, *, #)")
    channel.execute(
        "multiset",
        f"playback_terminators={terminators or 'none'} playback_terminator_used=",
        timeout=channel_timeout(channel),
    )
    arg = f"{safe_path(path)} {int(max_seconds)} {int(silence_threshold)} {int(silence_seconds)}"
    event = channel.execute("record", arg, timeout=timeout)
    try:
        milliseconds = int(event.variable("record_ms") or 0)
    except ValueError:
        milliseconds = 0
    if event.variable("silence_hits_exhausted") == "true":
        stopped_by = "silence"
    elif event.variable("playback_terminator_used"):
        stopped_by = "key"
    else:
        stopped_by = "limit"
    return RecordResult(path=path, milliseconds=milliseconds, stopped_by=stopped_by)


def channel_timeout(channel: Channel) -> float:
    return channel.command_timeout


def record_session(channel: Channel, *, path: str, timeout: float) -> None:
    channel.execute("record_session", safe_path(path), timeout=timeout)


# -- audio detection (../shared/freeswitch/AUDIO-DETECTION.md) ---------------------------------
# Every argument is a checked int: a usage error (T or H 0, an argument missing) would set no
# variable and leave an earlier run's value to be misread. A hangup is seen by the channel
# (CallEnded), so the result variables are read without clearing them first, which would cost
# an application run, and with it a frame or two of unanalysed audio, before every check.


def _int(name: str, value: object, low: int, high: int = 2**31 - 1) -> int:
    if type(value) is not int or not low <= value <= high:
        raise NodeError(f"{name} must be an integer from {low} to {high}, not {value!r}")
    return value


def _stamp(event: Event | None, header: str = "Event-Date-Timestamp") -> int:
    try:
        return int((event.get(header) if event is not None else None) or 0)
    except ValueError:
        return 0


def _completed(channel: Channel, app: str, arg: str, timeout: float) -> tuple[Event, int]:
    """Run `app`; return its completion and its start (CHANNEL_EXECUTE's timestamp, 0 if not
    seen), raising CallEnded when it ended with the call (no result variable is set then)."""
    event = channel.execute(app, arg, timeout=timeout)
    channel.raise_if_ended()
    if event.get("Answer-State") == "hangup":
        raise CallEnded(channel.hangup_cause or "NORMAL_CLEARING", by="caller")
    start = channel.last_execute
    same = start is not None and start.get("Application-UUID") == event.get("Application-UUID")
    return event, _stamp(start) if same else 0


@dataclass(frozen=True, slots=True)
class Detection:
    detected: bool  # the frames were found before the timeout
    hits: int  # on a timeout: the run of matching frames when it fired (0 when detected)
    started_us: int  # FreeSWITCH's clock (Event-Date-Timestamp, 20 ms ticks); 0: not seen
    ended_us: int
    answered_us: int  # Caller-Channel-Answered-Time; 0: unknown

    @property
    def elapsed_ms(self) -> int:
        return (self.ended_us - self.started_us) // 1000 if self.started_us else 0


def detect_audio(
    channel: Channel, *, threshold: int, hits: int, timeout_ms: int, timeout: float
) -> Detection:
    """Done after hits+1 consecutive frames score >= threshold, or after timeout_ms (a budget
    taken before each 20 ms frame is scored). timeout_ms is required: these applications do
    not stop for uuid_break, so without it only a hangup would end one."""
    return _detect(
        channel,
        "detect_audio",
        threshold=threshold,
        hits=hits,
        timeout_ms=timeout_ms,
        timeout=timeout,
    )


def detect_silence(
    channel: Channel, *, threshold: int, hits: int, timeout_ms: int, timeout: float
) -> Detection:
    """Done after hits+1 consecutive frames score <= threshold, or after timeout_ms."""
    return _detect(
        channel,
        "detect_silence",
        threshold=threshold,
        hits=hits,
        timeout_ms=timeout_ms,
        timeout=timeout,
    )


def _detect(
    channel: Channel, app: str, *, threshold: int, hits: int, timeout_ms: int, timeout: float
) -> Detection:
    arg = f"{_int('threshold', threshold, 1, 32767)} {_int('hits', hits, 1)} "
    arg += str(_int("timeout_ms", timeout_ms, 1))
    channel.watch_executes(timeout=channel_timeout(channel))  # when the detection began
    event, started = _completed(channel, app, arg, timeout)
    flag = event.variable(f"{app}_timeout")
    if flag not in ("true", "false"):
        raise ESLError(f"{app} {arg} set no {app}_timeout")
    count = event.variable(f"{app}_hits") if flag == "true" else None
    return Detection(
        detected=flag == "false",
        hits=int(count) if count and count.isdigit() else 0,
        started_us=started,
        ended_us=_stamp(event),
        answered_us=_stamp(event, "Caller-Channel-Answered-Time"),
    )


def sleep(channel: Channel, *, milliseconds: int, timeout: float) -> int:
    """sleep; returns when it ended on FreeSWITCH's clock (µs)."""
    event, _ = _completed(channel, "sleep", str(_int("milliseconds", milliseconds, 1)), timeout)
    return _stamp(event)


def avmd_start(channel: Channel, *, timeout: float) -> int:
    """Start mod_avmd's beep detector (one beep per start); returns when, in µs on
    FreeSWITCH's clock. Its events need `channel.subscribe("CUSTOM", "avmd::beep")`."""
    event, _ = _completed(channel, "avmd_start", "", timeout)
    return _stamp(event)


def avmd_stop(channel: Channel, *, timeout: float) -> None:
    channel.execute("avmd_stop", "", timeout=timeout)


@dataclass(frozen=True, slots=True)
class VoiceAmdResult:
    result: str | None  # HUMAN, MACHINE, NOTSURE; None: mod_amd set nothing
    cause: str | None  # INITIALSILENCE, HUMAN, LONGGREETING, MAXWORDS, MAXWORDLENGTH, TOOLONG
    ended_us: int
    answered_us: int


def voice_amd(channel: Channel, *, settings: dict[str, int], timeout: float) -> VoiceAmdResult:
    """mod_amd's voice_amd with `name=value` overrides of amd.conf (ints). The result
    variables are cleared first: this runs once per call, so the extra round trip is cheap."""
    pairs = [f"{name}={_int(name, value, 1)}" for name, value in settings.items()]
    if not all(_VARIABLE.fullmatch(name) for name in settings):
        raise NodeError("voice_amd setting names are identifiers")
    channel.execute("multiset", "amd_result= amd_cause=", timeout=channel_timeout(channel))
    event, _ = _completed(channel, "voice_amd", " ".join(pairs), timeout)
    return VoiceAmdResult(
        result=event.variable("amd_result"),
        cause=event.variable("amd_cause"),
        ended_us=_stamp(event),
        answered_us=_stamp(event, "Caller-Channel-Answered-Time"),
    )


def module_exists(channel: Channel, *, name: str, timeout: float) -> bool | None:
    """Whether FreeSWITCH has module `name` loaded; None when it cannot say (no such api)."""
    if not _VARIABLE.fullmatch(name):
        raise NodeError(f"invalid module name {name!r}")
    try:
        answer = channel.api(f"module_exists {name}", timeout=timeout).strip()
    except ESLError:
        return None
    return {"true": True, "false": False}.get(answer)
