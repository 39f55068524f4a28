"""The simulated channel's own thread: park, run queued commands, hang up.

Mirrors what FreeSWITCH does with an outbound `socket ... async` session (switch_ivr.c,
switch_ivr_park and switch_ivr_parse_event; FINDINGS.md "Command execution"):

- Each `sendmsg` is queued (the socket answers +OK at once) and the parked channel runs it.
  Its PRIVATE_COMMAND event follows once it is done.
- A running application polls the queue on every frame: a queued command runs *inside* it
  (nesting) unless the running command was sent with `event-lock: true`; the outer
  application is suspended meanwhile and resumes afterwards. Under event-lock, commands wait.
- A hangup fires CHANNEL_HANGUP at once, from whoever hangs up; the running application then
  ends, and the session winds down: CHANNEL_UNPARK, the `socket` application's
  EXECUTE_COMPLETE, CHANNEL_STATE, CHANNEL_CALLSTATE, CHANNEL_STATE, CHANNEL_HANGUP_COMPLETE.
  After the hangup nothing queued runs any more.
- `media_wait` is the one place where call time passes for applications: it delivers the
  caller's scheduled digits and hangup, runs nested commands, honours `uuid_break`.
"""

from __future__ import annotations

import uuid as uuidlib
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from gevent.event import Event

from controller.esl.protocol import Frame
from controller.hangup_causes import HANGUP_CAUSES
from controller.simulator.apps import APPLICATIONS
from controller.simulator.channel_state import CALL_STATE_NUMBERS, CS_HANGUP, CS_REPORTING
from controller.simulator.expand import Scope, expand
from controller.simulator.outcome import AppRun
from controller.simulator.recording import stop_session_recordings
from controller.simulator.util import DtmfHandler, atoi, truthy

if TYPE_CHECKING:
    from controller.simulator.simulator import SimulatedCall


FRAME_SECONDS = 0.02


def _drop(digit: str) -> bool:
    return False


class Session:
    """One call's session greenlet and its command queue (see the module docstring)."""

    def __init__(self, call: SimulatedCall) -> None:
        self.call = call
        self.channel = call.channel
        self.clock = call.clock
        self.timeline = call.timeline
        self.queue: deque[Frame] = deque()
        self.wake = Event()
        self.connected = Event()
        self.ended = Event()  # CHANNEL_HANGUP_COMPLETE was fired
        self.controlled = True  # the socket is still there
        self.parked = False
        self.lock_depth = 0  # event-locked commands running
        self.depth = 0  # applications running (nesting)
        self.break_one = False
        self.break_all_depth = 0  # `uuid_break all`: every level up to this one breaks
        self.record_bugs: dict[str, float] = {}  # record_session: path -> start
        self.socket_app_uuid = str(uuidlib.uuid4())
        # What the far end sends (an audio timeline, for the audio-detection apps), or None.
        self.audio_timeline: Any = None
        # Called with the cause right after CHANNEL_HANGUP (an originate's other loopback leg).
        self.hangup_hooks: list[Callable[[str], None]] = []

    # -- events ---------------------------------------------------------------------------

    def fire(self, name: str, **parts: object) -> None:
        """Build and publish a channel event, if anyone listens for it."""
        sim = self.call.sim
        if sim.wants(name, self.channel.uuid):
            event = sim.events.channel_event(name, self.channel, self.clock.now(), **parts)
            sim.publish(event)

    def dtmf(self, digit: str) -> None:
        self.channel.digits_dialed += digit
        self.fire(
            "DTMF",
            post=[("DTMF-Digit", digit), ("DTMF-Duration", "2000"), ("DTMF-Source", "UNKNOWN")],
        )

    # -- the greenlet ---------------------------------------------------------------------

    def run(self) -> None:
        """Wait for `connect`, park until the call ends, then wind down."""
        while self.channel.up and self.controlled and not self.connected.is_set():
            self._idle_step(None)  # not parked yet: digits stay queued
        if self.channel.up and self.controlled and not self.call.static:
            self.parked = True
            self.fire("CHANNEL_PARK")
            while self.channel.up and self.controlled:
                self.break_one, self.break_all_depth = False, 0
                if self.queue:
                    self._next_frame()
                    self.parse_next()
                else:
                    self._idle_step(_drop)  # the park loop dequeues digits and drops them
        while self.call.static and self.channel.up and self.controlled:
            # The listener runs commands itself in static mode; keep the caller's timers.
            if self.depth:
                self.clock.idle_wait(None, self.wake)
            else:
                self._idle_step(_drop)
        self.finish()

    def _next_frame(self) -> float:
        """Real clock: FreeSWITCH reads queued commands once per 20 ms media frame, so a
        command runs at the next frame boundary (both +OKs of two back-to-back sendmsgs
        come before the first CHANNEL_EXECUTE). Returns the time waited."""
        if self.clock.simulated:
            return 0.0
        into = (self.clock.now() - self.channel.created) % FRAME_SECONDS
        return self.clock.media_wait(FRAME_SECONDS - into, Event())

    def _idle_step(self, on_dtmf: DtmfHandler | None) -> None:
        """One wait while no application runs: real time, cut short by any activity."""
        self.wake.clear()
        if self._deliver_due(on_dtmf) is not None or (self.queue and self.connected.is_set()):
            return
        when = self.timeline.next_time(digits=on_dtmf is not None)
        self.clock.idle_wait(None if when is None else when - self.clock.now(), self.wake)

    def _deliver_due(self, on_dtmf: DtmfHandler | None) -> str | None:
        """Handle one due caller action; returns "hangup", the digit, or None."""
        item = self.timeline.pop_due(self.clock.now(), digits=on_dtmf is not None)
        if item == "hangup":
            self.hangup("NORMAL_CLEARING", by="caller", async_side=True)
        elif item is not None:
            self.dtmf(item)
        return item

    # -- commands -------------------------------------------------------------------------

    def queue_private(self, frame: Frame) -> None:
        self.queue.append(frame)
        self.wake.set()

    def parse_next(self) -> None:
        """switch_ivr_parse_next_event: run one queued command, then PRIVATE_COMMAND."""
        self.parse_next_now(self.queue.popleft())

    def parse_next_now(self, frame: Frame) -> None:
        self.parse_event(frame)
        lead = [("Command", (frame.raw_head + b"\n\n").decode("utf-8", "replace"))]
        lead += [(k, v) for k, v in frame.headers.items() if v]  # FS drops empty values
        self.fire("PRIVATE_COMMAND", lead=lead, body=frame.body.decode("utf-8", "replace") or None)

    def parse_event(self, frame: Frame) -> None:
        """switch_ivr_parse_event: execute (with loops) or hangup."""
        headers = {k.lower(): v for k, v in frame.headers.items()}
        command = headers.get("call-command", "").lower()
        locked = truthy(headers.get("event-lock"))
        self.lock_depth += locked
        try:
            if command == "execute" and headers.get("execute-app-name"):
                self._execute_loops(headers, frame.body)
            elif command == "hangup":
                cause = headers.get("hangup-cause", "").upper()
                cause = cause if cause in HANGUP_CAUSES else "NORMAL_CLEARING"
                self.hangup(cause, by="controller", async_side=False)
        finally:
            self.lock_depth -= locked

    def _execute_loops(self, headers: dict[str, str], body: bytes) -> None:
        arg = headers.get("execute-app-arg", "")
        if not arg and headers.get("content-type", "").lower() == "text/plain":
            arg = body.decode("utf-8", "replace")
        loops = atoi(headers["loops"]) if "loops" in headers else 1
        variables = self.channel.variables
        count = 0
        while count < loops or loops < 0:
            before = self.clock.now()
            if headers.get("event-uuid"):
                variables.set("app_uuid", headers["event-uuid"])  # taken by the app's start
            variables.set("current_loop", str(count + 1))
            variables.set("total_loops", str(loops))
            if not self.execute_application(headers["execute-app-name"], arg):
                break
            # switch_ivr_parse_event stops looping after a run shorter than 0.5 s; a 0.5 s
            # beep with `loops: 2` ran once in the recording (execute-queue-uuid.txt).
            if not self.channel.up or self.clock.now() - before < 0.5 + FRAME_SECONDS:
                break
            count += 1
        variables.delete("current_loop")
        variables.delete("total_loops")

    def execute_application(self, name: str, arg: str) -> bool:
        """switch_core_session_execute_application: events, variables, the app itself."""
        found = APPLICATIONS.get(name.lower())
        if found is None:
            # Unknown application: FreeSWITCH hangs the channel up, no events for the app.
            app_uuid = self.channel.variables.get("app_uuid") or ""  # stays set, as recorded
            self.call.outcome.apps.append(AppRun(name, arg, app_uuid, self.clock.now()))
            self.hangup("DESTINATION_OUT_OF_ORDER", by="freeswitch", async_side=False)
            return False
        app_name, function = found
        variables = self.channel.variables
        # switch_core_session_exec takes the sendmsg's Event-UUID from app_uuid, or makes one,
        # and only then expands the argument (an unknown application's never is).
        app_uuid = variables.get("app_uuid") or str(uuidlib.uuid4())
        variables.delete("app_uuid")
        expanded = self.expand(arg, app_name)
        data = [("Application-Data", expanded)] if expanded else []
        variables.delete("current_application_response")
        variables.set("current_application", app_name)
        variables.set("current_application_data", expanded)
        self.fire(
            "CHANNEL_EXECUTE",
            post=[("Application", app_name), *data, ("Application-UUID", app_uuid)],
        )
        variables.set("current_application_data", expanded)
        variables.set("current_application", app_name)
        self.channel.last_app, self.channel.last_arg = app_name, expanded
        run = AppRun(app_name, expanded, app_uuid, self.clock.now())
        self.call.outcome.apps.append(run)
        before = variables.as_dict()
        self.depth += 1
        try:
            function(self, expanded)
        finally:
            self.depth -= 1
        response = variables.get("current_application_response") or "_none_"
        run.variables = {k: v for k, v in variables if before.get(k) != v}
        run.response, run.ended_at, run.completed = response, self.clock.now(), True
        self.fire(
            "CHANNEL_EXECUTE_COMPLETE",
            post=[
                ("Application", app_name),
                *data,
                ("Application-Response", response),
                ("Application-UUID", app_uuid),
            ],
        )
        return True

    def expand(self, text: str, application: str) -> str:
        """switch_channel_expand_variables on this channel (expand.py): what FreeSWITCH does
        to an application's argument, and mod_dptools again to a `set` value."""
        return expand(text, Scope(self.call.sim, self.channel, application, self.call.outcome))

    # -- media time -----------------------------------------------------------------------

    def media_wait(self, seconds: float | None, on_dtmf: DtmfHandler | None) -> tuple[str, float]:
        """Let up to `seconds` of media play (None: until something happens). Returns
        (status, seconds that passed): "done", "dtmf" (on_dtmf accepted a digit), "break"
        (uuid_break) or "hangup". With on_dtmf None, digits stay queued (not dequeued)."""
        level = self.depth
        elapsed = 0.0
        while True:
            self.wake.clear()
            if not self.channel.up:
                return "hangup", elapsed
            if level <= self.break_all_depth or self.break_one:
                self.break_one = False
                return "break", elapsed
            if self.queue and not self.lock_depth:
                elapsed += self._next_frame()
                self.parse_next()  # nested: its time is not this wait's time
                continue
            item = self._deliver_due(on_dtmf)
            if item is not None:
                if item != "hangup" and on_dtmf is not None and on_dtmf(item):
                    return "dtmf", elapsed
                continue
            remaining = None if seconds is None else seconds - elapsed
            if remaining is not None and remaining <= 1e-9:
                return "done", elapsed
            when = self.timeline.next_time(digits=on_dtmf is not None)
            step = remaining
            if when is not None:
                until = max(0.0, when - self.clock.now())
                step = until if step is None else min(step, until)
            if step is None:  # endless media, nothing scheduled: it ends from outside
                before = self.clock.now()
                self.clock.idle_wait(None, self.wake)
                elapsed += self.clock.now() - before
            else:
                elapsed += self.clock.media_wait(step, self.wake)

    def request_break(self, everything: bool) -> None:
        """uuid_break [all]: stop the running media; `all` also drops queued commands and
        stops every nested level."""
        if everything:
            self.queue.clear()
            self.break_all_depth = max(self.depth, 1)
        else:
            self.break_one = True
        self.wake.set()

    # -- hangup ---------------------------------------------------------------------------

    def hangup(self, cause: str, *, by: str, async_side: bool) -> None:
        """switch_channel_hangup. `async_side`: the hangup comes from outside the session
        (caller, uuid_kill), so the socket notices it before the session winds down."""
        if not self.channel.up:
            return
        self.channel.mark_hangup(cause)
        outcome = self.call.outcome
        outcome.hangup_cause, outcome.hangup_by = cause, by
        outcome.ended_at = self.clock.now()
        self.fire("CHANNEL_HANGUP")
        for hook in list(self.hangup_hooks):
            hook(cause)
        if async_side:
            self.call.connection.on_hangup()
        self.wake.set()

    def finish(self) -> None:
        """The socket application returns and the state machine reports the hangup."""
        channel = self.channel
        if channel.up:  # the controller closed the socket: the dialplan ends, the call too
            self.hangup("NORMAL_CLEARING", by="controller", async_side=False)
        if self.parked:
            self.fire("CHANNEL_UNPARK")
        response = channel.variables.get("current_application_response") or "_none_"
        self.fire(
            "CHANNEL_EXECUTE_COMPLETE",
            post=[
                ("Application", "socket"),
                ("Application-Data", self.call.socket_data),
                ("Application-Response", response),
                ("Application-UUID", self.socket_app_uuid),
            ],
        )
        channel.set_running_state(CS_HANGUP)
        self.fire("CHANNEL_STATE")
        stop_session_recordings(self, "all")
        channel.hangup_at = self.clock.now()
        previous, channel.call_state = channel.call_state, "HANGUP"
        self.fire(
            "CHANNEL_CALLSTATE",
            pre=[
                ("Original-Channel-Call-State", previous),
                ("Channel-Call-State-Number", str(CALL_STATE_NUMBERS["HANGUP"])),
            ],
        )
        channel.set_running_state(CS_REPORTING)
        self.fire("CHANNEL_STATE")
        channel.add_cdr_variables(channel.hangup_at)
        self.fire("CHANNEL_HANGUP_COMPLETE", pre=[("Hangup-Cause", channel.hangup_cause or "")])
        self.ended.set()
        self.call.connection.on_hangup()
        self.call.on_session_end()
