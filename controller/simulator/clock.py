"""The time a simulated call lives in.

Each call has its own clock. `now()` is call time as an epoch (event timestamps, `record`'s
whole-second limit, scripted `hangup after 4s` are all measured on it).

- `simulated` (the default): media time does not pass in real time. When an application
  "plays" for 3 s, `media_wait` moves the call's clock forward by 3 s at once, so a whole flow
  runs in milliseconds and hundreds of calls can run in one test. Between applications, while
  the channel is parked waiting for the controller, the clock follows real time (the
  controller sets that pace, and a call that the controller forgets must still time out).
- `real`: media waits really sleep (gevent), so timing, `uuid_break` during a playback and a
  second `sendmsg` arriving mid-playback behave as with FreeSWITCH.

Every wait takes a gevent Event that cuts it short (a break, a hangup, a queued command): no
wait is a busy loop, and none lasts more than a second without its loop re-checking.
"""

from __future__ import annotations

import time

import gevent
from gevent.event import Event

MODES = ("simulated", "real")
IDLE_RECHECK = 1.0


class Clock:
    """One call's clock; see the module docstring for the two modes."""

    __slots__ = ("_offset", "simulated")

    def __init__(self, mode: str = "simulated", start: float | None = None) -> None:
        if mode not in MODES:
            raise ValueError(f"clock must be one of {', '.join(MODES)}, not {mode!r}")
        self.simulated = mode == "simulated"
        # start: the epoch the call begins at (tests pin it for reproducible timestamps).
        self._offset = 0.0 if start is None else start - time.time()

    def now(self) -> float:
        return time.time() + self._offset

    def media_wait(self, seconds: float, wake: Event) -> float:
        """Let up to `seconds` of media time pass; return the time that passed. Ends early
        when `wake` is set. Simulated: first yield once, so that commands already on the
        socket are read (they may interrupt), then jump."""
        start = self.now()
        if self.simulated:
            gevent.sleep(0)
            if not wake.is_set():
                self._offset += max(0.0, seconds)
        else:
            wake.wait(timeout=max(0.0, seconds))
        return self.now() - start

    def idle_wait(self, seconds: float | None, wake: Event) -> None:
        """Wait in real time (both modes) for `wake` or `seconds` (None: nothing scheduled).
        Used while parked, where the controller sets the pace. Never longer than
        IDLE_RECHECK: the loops around it re-check their state, so a lost wake-up costs a
        second at most."""
        limit = IDLE_RECHECK if seconds is None else min(max(0.0, seconds), IDLE_RECHECK)
        wake.wait(timeout=limit)
