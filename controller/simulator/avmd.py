"""mod_avmd, emulated: `avmd_start` / `avmd_stop` and the `avmd start|stop` form.

One beep per start, AVMD_DELAY after a tone starts (or after the start, if the tone is on).
The CUSTOM events avmd::start, ::beep, ::stop reach only sockets subscribed to them, each
twice: bare at once, then with the channel's data once the session idles. `avmd stop` sends
no avmd::stop (avmd-app-form). See detect.py for the frames and the clock they share.
"""

from __future__ import annotations

import math
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from controller.simulator.audio_timeline import FRAME, Segment
from controller.simulator.detect import timeline_of
from controller.simulator.events import SimEvent

if TYPE_CHECKING:
    from controller.simulator.session import Session

AVMD_DELAY = 0.11  # median delay of a beep report after the tone starts (max ~0.24 s measured)
AVMD_CALLING = ("mod_avmd.c", "avmd_fire_event", 700)
AVMD_BUG = [("Media-Bug-Function", "avmd"), ("Media-Bug-Target", "N/A")]


@dataclass(slots=True)
class _Avmd:
    started: float
    beep_at: float | None = None  # epoch, while a beep is still to come
    tone: Segment | None = None
    detected: bool = False


# session -> its running bug (the state holds no reference to the session: weak keys)
_RUNNING: weakref.WeakKeyDictionary[Any, _Avmd] = weakref.WeakKeyDictionary()


class _Listening:
    """The session's caller timeline, plus the avmd bug's beep as one more thing due: every
    wait of the session (parked, playing, detecting) then reports the beep on time."""

    def __init__(self, inner: Any, state: _Avmd, session: Session) -> None:
        self.inner = inner
        self.state = state
        self.session = session

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def next_time(self, *, digits: bool = True) -> float | None:
        when, beep = self.inner.next_time(digits=digits), self.state.beep_at
        if beep is None:
            return when
        return beep if when is None else min(when, beep)

    def pop_due(self, now: float, *, digits: bool = True) -> str | None:
        beep = self.state.beep_at
        if beep is not None and now >= beep - 1e-6:
            self.state.beep_at = None
            _beep(self.session, self.state)
        return self.inner.pop_due(now, digits=digits)


def _custom(session: Session, subclass: str, fields: list[tuple[str, str]]) -> None:
    """avmd_fire_event: fired bare, and queued to the session, which sends it with the
    channel's data when it next idles (after the application's EXECUTE_COMPLETE)."""
    sim, channel = session.call.sim, session.channel
    if not sim.wants("CUSTOM", channel.uuid):
        return
    head = [("Event-Subclass", subclass)]
    head += sim.events.core("CUSTOM", session.clock.now(), AVMD_CALLING)
    head += [("Unique-ID", channel.uuid), ("Call-command", "avmd"), *fields]
    sim.publish(SimEvent("CUSTOM", channel.uuid, head, subclass=subclass))

    def queued() -> None:  # the channel's data as it is when the session takes the event
        full = [*head, *channel.basic(), *channel.variable_headers()]
        sim.publish(SimEvent("CUSTOM", channel.uuid, full, subclass=subclass))

    sim.spawn(queued)


def _first_beep(session: Session, since: float) -> tuple[float, Segment] | None:
    """When the bug started at `since` (epoch) reports a beep, and the tone it hears."""
    timeline = timeline_of(session)
    origin = session.channel.answered_at
    if timeline is None or not origin:
        return None
    for tone in timeline.tones():
        at = max(tone.start, since - origin) + AVMD_DELAY
        if tone.end is None or at <= tone.end:
            return origin + math.ceil(at / FRAME - 1e-4) * FRAME, tone
    return None


def avmd_start(session: Session, arg: str) -> None:
    if session in _RUNNING:
        return  # "avmd already started": no second bug
    now = session.clock.now()
    state = _Avmd(now)
    _RUNNING[session] = state
    session.fire("MEDIA_BUG_START", pre=AVMD_BUG)
    _custom(session, "avmd::start", [("Start-time", str(int(now * 1_000_000)))])
    beep = _first_beep(session, now)
    if beep is not None:
        state.beep_at, state.tone = beep
        session.timeline = _Listening(session.timeline, state, session)


def _beep(session: Session, state: _Avmd) -> None:
    tone = state.tone
    assert tone is not None
    elapsed = int((session.clock.now() - state.started) * 1_000_000)
    state.detected = True
    session.channel.variables.set("avmd_total_time", f"[{elapsed // 1000}]")
    session.channel.variables.set("avmd_detect", "TRUE")
    # fmt: off
    fields = [("Beep-Status", "DETECTED"), ("Frequency", f"{tone.frequency or 0:f}"),
              ("Frequency-variance", "0.000022"), ("Amplitude", f"{tone.level * math.pi / 2:f}"),
              ("Amplitude-variance", "0.000000"), ("Detection-time", str(elapsed)),
              ("Detector-resolution", "1"), ("Detector-offset", "0"), ("Detector-index", "0")]
    # fmt: on
    _custom(session, "avmd::beep", fields)


def _stop(session: Session, *, report: bool) -> None:
    state = _RUNNING.pop(session, None)
    if state is None:
        return
    timeline = session.timeline
    if isinstance(timeline, _Listening) and timeline.state is state:
        session.timeline = timeline.inner
    if report:
        status = "DETECTED" if state.detected else "NOTDETECTED"
        total = str(int((session.clock.now() - state.started) * 1_000_000))
        _custom(session, "avmd::stop", [("Beep-Status", status), ("Total-time", total)])
    session.fire("MEDIA_BUG_STOP", pre=AVMD_BUG)


def avmd_stop(session: Session, arg: str) -> None:
    _stop(session, report=True)


def avmd(session: Session, arg: str) -> None:
    """`avmd start|stop`: the same bug; its stop sends no avmd::stop (avmd-app-form.txt)."""
    words = arg.split()
    command = words[0].lower() if words else ""
    if command == "start":
        avmd_start(session, " ".join(words[1:]))
    elif command == "stop":
        _stop(session, report=False)
