"""Sounds: what a playback target is and how long it lasts, and switch_ivr_play_file.

Durations come from the real files (wave module; 8 kHz samples like the recorded channel),
from the simulator's `media` map (path -> seconds, e.g. for paths of another machine), or a
default duration for non-WAV files and, with `audio_check=False`, for missing ones.
`file_string://a!b` skips missing members silently; `tone_stream://` and
`silence_stream://N` are generated. Variables and events follow switch_ivr_play_file:
`playback_ms` of an interrupted playback is the read-ahead position (whole 16384-sample
reads: 2048 ms after 1 s), not the time played. Recording lives in recording.py.
"""

from __future__ import annotations

import math
import os
import re
import wave
from dataclasses import dataclass
from typing import TYPE_CHECKING

from controller.simulator.util import DtmfHandler, atoi

if TYPE_CHECKING:
    from controller.simulator.session import Session

RATE = 8000
FRAME = 160  # samples per 20 ms frame
READ_AHEAD = 16384  # samples per file read in switch_ivr_play_file
# file_string:// played ~250 ms longer than its members in the recordings (both with two and
# three members, playback-filestring.txt vs execute-queue-event-lock.txt): modelled as is.
FILE_STRING_EXTRA = 2000
_TONE = re.compile(r"%\(([\d.]+),([\d.]+)")


@dataclass(frozen=True, slots=True)
class Sound:
    path: str  # as FreeSWITCH reports it (Playback-File-Path)
    samples: int | None  # None: endless
    file_type: str | None = None  # Playback-File-Type (tone_stream)


def _wav_samples(path: str) -> int | None:
    try:
        with wave.open(path, "rb") as handle:
            return round(handle.getnframes() * RATE / max(1, handle.getframerate()))
    except (OSError, EOFError, wave.Error):
        return None


def _file_samples(session: Session, path: str) -> int | None:
    """Samples of one file, or None when it cannot be found."""
    sim = session.call.sim
    if path in sim.media:
        seconds = sim.media[path]
        return None if seconds is None else round(seconds * RATE)
    if os.path.isfile(path):
        if path.lower().endswith(".wav"):
            samples = _wav_samples(path)
            if samples is not None:
                return samples
        return round(sim.default_duration * RATE)
    if not sim.audio_check:
        return round(sim.default_duration * RATE)
    return None


def _absolute(session: Session, path: str) -> str:
    if path.startswith("/") or "://" in path:
        return path
    prefix = session.channel.variables.get("sound_prefix") or session.call.sim.sounds_dir
    return os.path.join(prefix, path)


def _tone_samples(script: str) -> int | None:
    loops = 1
    total = 0.0
    for raw in script.split(";"):
        part = raw.strip()
        if part.upper().startswith("L="):
            loops = int(part[2:]) if part[2:].lstrip("-").isdigit() else 1
        for on, off in _TONE.findall(part):
            total += float(on) + float(off)
    if loops < 0:
        return None
    return round((total or 1000.0) * max(1, loops) * RATE / 1000)


def resolve(session: Session, target: str) -> Sound | None:
    """The sound `target` names, or None for FILE NOT FOUND."""
    lowered = target.lower()
    if lowered.startswith("file_string://"):
        members = [m for m in target[len("file_string://") :].split("!") if m]
        found = [_file_samples(session, _absolute(session, m)) for m in members]
        present = [s for s in found if s is not None]
        if not present:
            return None
        return Sound(target, sum(present) + FILE_STRING_EXTRA)
    if lowered.startswith("tone_stream://"):
        return Sound(target, _tone_samples(target[len("tone_stream://") :]), "tone_stream")
    if lowered.startswith("silence_stream://"):
        ms = target[len("silence_stream://") :].split(",", maxsplit=1)[0]
        millis = int(ms) if ms.lstrip("-").isdigit() else 0
        return Sound(target, None if millis <= 0 else millis * RATE // 1000)
    if "://" in target:  # another stream module: trust it exists
        return Sound(target, round(session.call.sim.default_duration * RATE))
    path = _absolute(session, target)
    if "." not in os.path.basename(path):
        path += ".wav"
    samples = _file_samples(session, path)
    return None if samples is None else Sound(path, samples)


def play_file(session: Session, target: str, on_dtmf: DtmfHandler | None, skip: int = 0) -> str:
    """switch_ivr_play_file, `skip` samples into the sound. Returns "done", "break" (uuid_break
    or a digit that on_dtmf accepted), "hangup", "notfound" or "error" (nothing to play)."""
    if not target or not session.channel.up:
        return "error"
    sound = resolve(session, target)
    if sound is None:
        return "notfound"
    if skip and sound.samples is not None:
        sound = Sound(sound.path, max(0, sound.samples - skip), sound.file_type)
    where = [("Playback-File-Type", sound.file_type)] if sound.file_type else []
    where.append(("Playback-File-Path", sound.path))
    session.fire("PLAYBACK_START", post=where)
    duration = None if sound.samples is None else sound.samples / RATE
    status, elapsed = session.media_wait(duration, on_dtmf)
    total = sound.samples
    if status == "done" and total is not None:
        offset = samples_in = total
    else:
        offset = math.ceil(elapsed * RATE / FRAME) * FRAME
        samples_in = math.ceil(max(offset, 1) / READ_AHEAD) * READ_AHEAD
        if total is not None:
            offset, samples_in = min(offset, total), min(samples_in, total)
    variables = session.channel.variables
    variables.set("playback_last_offset_pos", str(offset))
    variables.set("playback_seconds", str(samples_in // RATE))
    variables.set("playback_ms", str(samples_in * 1000 // RATE))
    variables.set("playback_samples", str(samples_in))
    broke = status in ("break", "dtmf")
    session.fire("PLAYBACK_STOP", post=[*where, ("Playback-Status", "break" if broke else "done")])
    return "break" if broke else status


def terminator_handler(session: Session) -> DtmfHandler:
    """mod_dptools on_dtmf: a digit in playback_terminators (default `*`; `any`, `none`)
    stops the playback/recording and is kept in playback_terminator_used."""

    def on_dtmf(digit: str) -> bool:
        terminators = session.channel.variables.get("playback_terminators") or "*"
        if terminators.lower() == "any":
            terminators = "1234567890*#"
        elif terminators.lower() == "none":
            terminators = ""
        if digit in terminators:
            session.channel.variables.set("playback_terminator_used", digit)
            return True
        return False

    return on_dtmf


def playback(session: Session, arg: str) -> None:
    """mod_dptools playback: FILE PLAYED (also when broken), FILE NOT FOUND, PLAYBACK ERROR."""
    session.channel.variables.delete("playback_terminator_used")
    # A scripted `press D during playback` types into this playback.
    session.timeline.apply(session.timeline.take_playback_step(), session.clock.now())
    target, _, offset = arg.partition("@@")  # file@@<samples>: start that far in
    status = play_file(session, target, terminator_handler(session), atoi(offset))
    response = {"done": "FILE PLAYED", "break": "FILE PLAYED", "notfound": "FILE NOT FOUND"}
    session.channel.variables.set(
        "current_application_response", response.get(status, "PLAYBACK ERROR")
    )


def sleep(session: Session, arg: str) -> None:
    """sleep <ms>: time passes; digits are read (DTMF events) without ending it."""
    words = arg.split()
    millis = int(words[0]) if words and words[0].isdigit() else 0
    session.media_wait(millis / 1000, lambda digit: False)
