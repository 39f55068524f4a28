"""Who is on the other end of a scenario's call, in the simulator's terms.

An inbound flow's caller is a caller script (`controller.simulator.caller`). A flow that starts
with a dial node reaches a *callee*: what the dialled line does, written as

    [ring <T>] <what>

where `<what>` is `person` (answers and says "hello": answering-machine detection hears a
human), `machine` (a voicemail greeting, then the beep), `busy`, `no answer`, `rejected`,
`error` (the network fails the call: NORMAL_TEMPORARY_FAILURE), one of the simulator's own
outcomes (`unreachable`, `unallocated`) or any FreeSWITCH hangup cause (`SUBSCRIBER_ABSENT`).
Whoever answers then does what the scenario's `caller` script says, and an `audio` timeline
(`controller.simulator.audio_timeline`) replaces the default greeting of a person or machine.
"""

from __future__ import annotations

from typing import Any

from controller.simulator.audio_timeline import AudioTimeline
from controller.simulator.callee import Callee
from controller.simulator.caller import CallerScript, parse_duration

# What the far end sends after answering: a person's "hello", a machine's greeting and beep.
PERSON_AUDIO = "speech 0.2-0.9; silence"
MACHINE_AUDIO = "speech 0-4.6 words 9; tone 4.6-5.6 1000Hz; silence"
ANSWERERS = {"person": PERSON_AUDIO, "human": PERSON_AUDIO, "machine": MACHINE_AUDIO}
ALIASES = {
    "answers": "person",
    "answer": "person",
    "rejected": "reject",
    "rejects": "reject",
    "error": "NORMAL_TEMPORARY_FAILURE",
    "fails": "NORMAL_TEMPORARY_FAILURE",
}
CALLEE_WORDS = "person, machine, busy, no answer, rejected, error, unreachable, unallocated"


def caller_script(data: Any) -> CallerScript:
    """A caller script from scenario data; ValueError naming the step that does not parse."""
    return CallerScript.from_data(data)


def audio_timeline(data: Any) -> AudioTimeline | None:
    """An audio timeline from scenario data (None when not given); ValueError when invalid."""
    return None if data is None else AudioTimeline.from_data(data)


def callee(text: Any, *, caller: CallerScript, audio: AudioTimeline | None) -> Callee:
    """The simulator's Callee for a scenario's `callee` text; ValueError when it is unknown."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"callee is text such as 'person' or 'ring 5s busy', not {text!r}")
    words = text.split()
    ring = 0.0
    if len(words) >= 2 and words[0].lower() == "ring":
        ring = parse_duration(words[1])
        words = words[2:]
    what = " ".join(words).lower() or "person"
    what = ALIASES.get(what, what)
    if what in ANSWERERS:
        timeline = audio or AudioTimeline.parse(ANSWERERS[what])
        return Callee("answer", ring, caller, timeline)
    if caller.steps or caller.hangup_after is not None or caller.presses_at:
        raise ValueError(f"a {text.strip()!r} line never answers, so it has no caller script")
    try:
        return Callee(what, ring, None)
    except ValueError:
        raise ValueError(
            f"unknown callee {text.strip()!r}: use {CALLEE_WORDS} or a hangup cause "
            "(e.g. USER_BUSY), optionally after 'ring <time>'"
        ) from None
