"""record and record_session, as switch_ivr_record_file / the session_record media bug.

`record <path> [<limit s> [<silence threshold> [<silence s>]]]` (FINDINGS.md):
- the file is opened first; a path that cannot be written hangs the call up with
  DESTINATION_OUT_OF_ORDER (no RECORD_START);
- the limit is FreeSWITCH's whole-second epoch arithmetic: it stops when
  `floor(now) - floor(start) > limit`, i.e. after limit..limit+1 s (3 s gave 3.16-3.2 s);
- with a threshold, it stops after `silence` seconds (3 by default) without speech
  (`silence_hits_exhausted=true`);
- a digit in playback_terminators (default `*`) stops it and sets playback_terminator_used;
- only speech is written (a loopback callee's silence is CNG and is not recorded, so a silent
  caller leaves a 44-byte file and record_ms=0). The simulator writes a real 8 kHz WAV file
  holding a 440 Hz tone for each second of speech;
- Application-Response is `_none_`; the length is in record_ms and its siblings.
"""

from __future__ import annotations

import math
import os
import struct
import wave
from typing import TYPE_CHECKING

from controller.simulator.events import SESSION_RECORD_START, SESSION_RECORD_STOP
from controller.simulator.media import FRAME, RATE, terminator_handler
from controller.simulator.util import atoi

if TYPE_CHECKING:
    from controller.simulator.session import Session

_TONE_SECOND = b"".join(
    struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * n / RATE))) for n in range(RATE)
)
CODEC_HEADERS = [
    ("channel-read-codec-name", "L16"),
    ("channel-read-codec-rate", "8000"),
    ("channel-read-codec-bit-rate", "128000"),
]


class _WavFile:
    """A WAV file being written: opened first (that is when a bad path fails), written with
    the recorded length at the end."""

    def __init__(self, path: str) -> None:
        self.file = open(path, "wb")  # noqa: SIM115 - closed by write()

    def write(self, samples: int) -> int:
        """Write `samples` of tone, close, and return the file size."""
        with self.file, wave.open(self.file, "wb") as handle:
            handle.setnchannels(1)
            handle.setsampwidth(2)
            handle.setframerate(RATE)
            remaining = samples * 2
            while remaining > 0:
                chunk = _TONE_SECOND[: min(remaining, len(_TONE_SECOND))]
                handle.writeframes(chunk)
                remaining -= len(chunk)
        return 44 + samples * 2


def _open(path: str) -> _WavFile | None:
    try:
        return _WavFile(path)
    except OSError:
        return None


def _path(session: Session, path: str) -> str:
    if path.startswith("/"):
        return path
    prefix = session.channel.variables.get("sound_prefix") or session.call.sim.sounds_dir
    return os.path.join(prefix, path)


def _codec(session: Session) -> None:
    session.fire("CODEC", post=CODEC_HEADERS)
    session.channel.variables.set("read_codec", "L16")
    session.channel.variables.set("read_rate", "8000")


def record(session: Session, arg: str) -> None:
    argv = arg.split()
    if not argv:
        return  # "No file specified."
    limit = atoi(argv[1].lstrip("+")) if len(argv) > 1 else 0
    threshold = atoi(argv[2]) if len(argv) > 2 else 0
    silence = atoi(argv[3]) if len(argv) > 3 else 0
    variables = session.channel.variables
    variables.delete("playback_terminator_used")
    timeline = session.timeline
    start = session.clock.now()
    if timeline.apply(timeline.take_input_step(), start):
        session.hangup("NORMAL_CLEARING", by="caller", async_side=True)
        return
    path = _path(session, argv[0])
    handle = _open(path)
    if handle is None:
        session.hangup("DESTINATION_OUT_OF_ORDER", by="freeswitch", async_side=False)
        return
    session.call.outcome.recordings.append(path)
    variables.set("silence_hits_exhausted", "false")
    _codec(session)
    session.fire("RECORD_START", post=[("Record-File-Path", path)])
    stops = []
    if limit:
        stops.append(math.floor(start) + limit + 1 - start)
    quiet_at = None
    if threshold:
        quiet_at = timeline.silence_done(start, silence or 3) - start
        stops.append(quiet_at)
    status, elapsed = session.media_wait(min(stops) if stops else None, terminator_handler(session))
    if status == "done" and quiet_at is not None and elapsed >= quiet_at - 1e-6:
        variables.set("silence_hits_exhausted", "true")
    speech = timeline.speech_between(start, start + elapsed)
    samples = round(speech * RATE) // FRAME * FRAME
    size = str(handle.write(samples))
    variables.set("record_record_file_size", size)
    variables.set("record_file_size", size)
    variables.set("record_seconds", str(samples // RATE))
    variables.set("record_ms", str(samples * 1000 // RATE))
    variables.set("record_samples", str(samples))
    session.fire("RECORD_STOP", post=[("Record-File-Path", path)])
    _codec(session)


def record_session(session: Session, arg: str) -> None:
    """record_session <path> [+<limit>]: a media bug records both directions until stopped
    or hangup; its own EXECUTE_COMPLETE comes at once. (The limit is not enforced.)"""
    argv = arg.split()
    if not argv:
        return
    path = _path(session, argv[0])
    handle = _open(path)
    if handle is None:
        return  # FreeSWITCH logs the error; the call goes on
    handle.write(0)
    session.call.outcome.recordings.append(path)
    session.record_bugs[path] = session.clock.now()
    session.fire("RECORD_START", calling=SESSION_RECORD_START, post=[("Record-File-Path", path)])
    session.fire(
        "MEDIA_BUG_START",
        pre=[("Media-Bug-Function", "session_record"), ("Media-Bug-Target", path)],
    )


def stop_record_session(session: Session, arg: str) -> None:
    words = arg.split()
    stop_session_recordings(session, _path(session, words[0]) if words else "all")


def stop_session_recordings(session: Session, which: str) -> None:
    """Close record_session bugs (`which` = a path or "all"): RECORD_STOP, MEDIA_BUG_STOP."""
    variables = session.channel.variables
    for path in list(session.record_bugs):
        if which not in ("all", path):
            continue
        started = session.record_bugs.pop(path)
        samples = round(max(0.0, session.clock.now() - started) * RATE) // FRAME * FRAME
        handle = _open(path)
        size = str(handle.write(samples)) if handle is not None else "0"
        variables.set("record_file_size", size)
        variables.set("record_samples", str(samples))
        variables.set("record_seconds", str(samples // RATE))
        variables.set("record_ms", str(samples * 1000 // RATE))
        variables.set("record_completion_cause", "success-maxtime")
        session.fire(
            "RECORD_STOP",
            calling=SESSION_RECORD_STOP,
            post=[("Record-File-Path", path), ("Record-Completion-Cause", "success-maxtime")],
        )
        session.fire(
            "MEDIA_BUG_STOP",
            pre=[("Media-Bug-Function", "session_record"), ("Media-Bug-Target", path)],
        )
