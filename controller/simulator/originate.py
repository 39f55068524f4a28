"""`originate` (api and bgapi): create the channels, ring the callee, run the application.

Results and timing, as recorded (FINDINGS.md "The originate / &socket trap", originate-*.txt):

- `error/<cause>` answers `-ERR <CAUSE>` at once and creates no channel; an endpoint type the
  simulator does not know (anything but loopback, sofia, user) answers `-ERR CHAN_NOT_IMPLEMENTED`.
- Over the sessions-per-second budget (`Simulator(sessions_per_second=N)`; a loopback call
  takes 2 sessions, any other 1; counted per wall-clock second) the originate fails at once
  with `-ERR DESTINATION_OUT_OF_ORDER`, no channel events.
- Otherwise CHANNEL_CREATE (A, then B for loopback); the callee rings (CHANNEL_PROGRESS) when it
  has `ring_seconds` or never answers; then either it answers (CHANNEL_ANSWER A, B) or the call
  fails: CHANNEL_HANGUP of the side that ends it, then of the other, the two
  CHANNEL_HANGUP_COMPLETEs, and only then the result `-ERR <CAUSE>`.
- Timeouts use FreeSWITCH's whole-second arithmetic on the call clock: `originate_timeout=N`
  (default: the 7th argument, else 60) fires N-1..N s after the start with NO_ANSWER;
  `leg_timeout=N` N..N+1 s after with ALLOTTED_TIMEOUT.
- After the answer the A leg runs the application. `&socket(host:port ...)` connects to that
  address like the existing outbound machinery (a SimulatedCall on the A leg, `socket_args`
  from the app's argument: without `async` static mode, without `full` single-channel); the
  result `+OK <uuid>` comes once the controller has sent `connect` (waited for up to 1 s with
  the simulated clock; with the real clock up to 20 ms after the answer, and never sooner).
  If nothing listens there, the result is `+OK <uuid>` all the same and the call is hung up
  right after it (20 ms later in real-clock mode) with NORMAL_CLEARING. Any other
  application (`&park()`, ...) or a dialplan extension leaves the A leg parked until someone
  hangs it up.
- A loopback call's legs hang up together (the other leg's CHANNEL_HANGUP right after the
  first). CHANNEL_HANGUP_COMPLETE comes 20 ms of real time after the hangup, in both clock
  modes (each channel's own thread reports it; a client leaving at once does not see it).
- `uuid_kill`, `hupall` or a restart while it rings: the result is `-ERR <that cause>`.
- With the simulated clock, ringing and timeouts cost no real time (like media), so a ringing
  call can only be cancelled from outside with the real clock.
"""

from __future__ import annotations

import ipaddress
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import gevent
from gevent import socket as gsocket
from gevent.event import Event

from controller.hangup_causes import HANGUP_CAUSES
from controller.simulator.callee import SIP_STATUS, Callee, CalleeBook, destination_number
from controller.simulator.clock import Clock
from controller.simulator.dialstring import Originate, parse_originate, socket_target
from controller.simulator.expand import Scope, expand
from controller.simulator.legs import (
    CS_CONSUME_MEDIA,
    CS_EXECUTE,
    CS_ROUTING,
    Leg,
    make_a_leg,
    make_b_leg,
)

if TYPE_CHECKING:
    from controller.simulator.simulator import SimulatedCall, Simulator

ENDPOINTS = ("loopback", "sofia", "user")
RESULT_DELAY = 0.02  # BACKGROUND_JOB ~20 ms after the answer (one media tick)
# How long the result of a `&socket` originate waits for the controller's `connect`: real
# clock, as FreeSWITCH (a slow controller gets the result first); simulated, long enough
# that a live controller always connects first.
CONNECT_WAIT = {"real": RESULT_DELAY, "simulated": 1.0}
# CHANNEL_HANGUP_COMPLETE comes from each channel's own thread a media tick after the hangup
# (real time, in both clock modes: what hangs up and leaves at once does not see it).
COMPLETE_DELAY = 0.02
B_LEG_SLEEP = {"answer": "30000", "ring": "120000"}  # what the recorded callees ran


@dataclass
class Result:
    """An api result and what must happen once it has been sent (a refused socket's hangup)."""

    body: str
    after: Callable[[], None] | None = None


class Throttle:
    """FreeSWITCH's sessions-per-second limit: a budget refilled every second (of real time,
    from the first session of the second)."""

    def __init__(self, per_second: int | None) -> None:
        self._per_second = per_second
        self._since = -math.inf
        self._left = 0

    @property
    def per_second(self) -> int | None:
        return self._per_second

    @per_second.setter
    def per_second(self, value: int | None) -> None:  # `fsctl sps N`: a fresh budget
        self._per_second, self._since = value, -math.inf

    def take(self, sessions: int) -> bool:
        if self._per_second is None:
            return True
        now = time.monotonic()
        if now - self._since >= 1.0:
            self._since, self._left = now, self._per_second
        ok = self._left >= sessions
        self._left = max(0, self._left - sessions)  # the sessions made before one failed
        return ok


def error_cause(name: str) -> str:
    """The error endpoint's cause (switch_channel_str2cause: a name or a Q.850 number)."""
    upper = name.strip().upper()
    if upper in HANGUP_CAUSES:
        return upper
    if upper.isdigit():
        return next((k for k, v in HANGUP_CAUSES.items() if v == int(upper)), "NORMAL_CLEARING")
    return "NORMAL_CLEARING"


def _ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return host == "localhost"
    return True


class Attempt:
    """One originate: its legs, its callee, its application."""

    def __init__(self, originator: Originator, request: Originate, callee: Callee) -> None:
        sim = originator.sim
        self.sim = sim
        self.originator = originator
        self.request = request
        self.callee = callee
        self.clock = Clock(sim.clock_mode, sim.start_time)
        self.start = self.clock.now()
        self.wake = Event()
        self.result: str | None = None
        self.a = make_a_leg(sim, request, self.clock, self.start)
        self.b = make_b_leg(self.a, request) if request.tech == "loopback" else None
        for leg in self.legs:
            leg.wake = self.wake  # any hangup wakes the originate waiting on the callee

    # -- the legs -------------------------------------------------------------------------

    @property
    def legs(self) -> list[Leg]:
        return [self.a] if self.b is None else [self.a, self.b]

    def peer(self, leg: Leg) -> Leg | None:
        return self.b if leg is self.a else self.a

    # -- the originate --------------------------------------------------------------------

    def run(self) -> Result:
        a, b, callee = self.a, self.b, self.callee
        routed = callee.cause != "NO_ROUTE_DESTINATION"  # the callee's dialplan has it
        a.fire("CHANNEL_CREATE")
        a.channel.set_running_state(CS_CONSUME_MEDIA)
        if b is not None:
            b.fire("CHANNEL_CREATE")
            b.channel.call_state = "RINGING"
            b.channel.variables.set("call_uuid", b.uuid)
            b.channel.set_running_state(CS_EXECUTE if routed else CS_ROUTING)
        rings = callee.ring_seconds > 0 or callee.outcome == "no_answer"
        if rings:
            a.progress()
            if b is not None:
                b.set_app("ring_ready")
                b.progress()
                b.set_app("sleep", B_LEG_SLEEP["ring"])
        deadline, timeout_cause = self._deadline()
        ring_end = math.inf if callee.outcome == "no_answer" else self.start + callee.ring_seconds
        self._wait_until(min(ring_end, deadline))
        down = next((leg for leg in self.legs if not leg.up), None)
        if down is not None:  # uuid_kill, hupall, a restart while it rang
            return self._failed(down.channel.hangup_cause or "NORMAL_CLEARING")
        if self.clock.now() >= deadline and ring_end >= deadline:
            self.hangup(a, timeout_cause)
            return self._failed(timeout_cause)
        if callee.cause is not None:
            if b is not None:
                if routed:
                    b.set_app("hangup", callee.cause)
                self.hangup(b, callee.cause)
            else:
                status = SIP_STATUS.get(callee.cause)
                self.hangup(a, callee.cause, [("sip_term_status", status)] if status else [])
            return self._failed(callee.cause)
        self._answer()
        return self._start_application()

    def _deadline(self) -> tuple[float, str]:
        timeout = self.request.timeout
        value = self.request.variable("originate_timeout")
        if value and value.strip().isdigit() and int(value) > 0:
            timeout = int(value)
        base = math.floor(self.start)
        deadline, cause = base + max(timeout, 1), "NO_ANSWER"
        leg = self.request.variable("leg_timeout")
        if leg and leg.strip().isdigit() and int(leg) > 0 and base + int(leg) + 1 <= deadline:
            deadline, cause = base + int(leg) + 1, "ALLOTTED_TIMEOUT"
        return deadline, cause

    def _wait_until(self, when: float) -> None:
        while all(leg.up for leg in self.legs):
            remaining = when - self.clock.now()
            if remaining <= 1e-9:
                return
            self.wake.clear()
            self.clock.media_wait(remaining, self.wake)

    def _failed(self, cause: str) -> Result:
        """The result comes after both CHANNEL_HANGUP_COMPLETEs."""
        for leg in self.legs:
            self.hangup(leg, cause)
        for leg in self.legs:
            leg.ended.wait(timeout=5)
        self.result = f"-ERR {cause}\n"
        return Result(self.result)

    def _answer(self) -> None:
        a, b = self.a, self.b
        a.answer()
        if b is not None:
            b.set_app("answer")
            b.answer()
            b.set_app("sleep", B_LEG_SLEEP["answer"])
        if b is None:  # SIP: media now, PCMU
            for name, value in (("read_codec", "PCMU"), ("read_rate", "8000"),
                                ("write_codec", "PCMU"), ("write_rate", "8000")):  # fmt: skip
                a.channel.variables.set(name, value)
        a.channel.flip_cid()
        a.channel.variables.set("call_uuid", a.uuid)
        a.channel.hit_dialplan = True
        a.channel.set_running_state(CS_EXECUTE)

    def _start_application(self) -> Result:
        request, a = self.request, self.a
        self.result = f"+OK {a.uuid}\n"
        if request.app is not None:
            # The A leg runs `&app(arg)` through switch_core_session_exec: arg is expanded.
            scope = Scope(self.sim, a.channel, request.app)
            request.app_arg = expand(request.app_arg, scope)
        if request.app is not None and request.app.lower() == "socket":
            return self._socket()
        if request.app is not None:
            a.set_app(request.app, request.app_arg)
        hangup_after = self.callee.caller.hangup_after
        if hangup_after is not None:
            self.sim.spawn(self._callee_hangs_up, hangup_after)
        self._pace()
        return Result(self.result)

    def _pace(self) -> None:
        """Real clock: the result comes a media tick after the answer."""
        if not self.clock.simulated:
            answered = self.a.channel.answered_at
            gevent.sleep(max(0.0, answered + RESULT_DELAY - self.clock.now()))

    def _callee_hangs_up(self, after: float) -> None:
        """A parked call's callee with `hangup after T`: it hangs up T after the answer."""
        end = self.a.channel.answered_at + after
        while self.a.up and (remaining := end - self.clock.now()) > 1e-9:
            self.wake.clear()
            self.clock.media_wait(remaining, self.wake)
        self.hangup(self.b or self.a, "NORMAL_CLEARING")

    def _socket(self) -> Result:
        from controller.simulator.simulator import SimulatedCall  # noqa: PLC0415 (a cycle)

        a, callee = self.a, self.callee
        host, port, words = socket_target(self.request.app_arg)
        call = SimulatedCall(
            self.sim, callee.caller, variables={}, answered=True, socket_args=words,
            uuid=a.uuid, destination=a.channel.destination, channel_name=a.channel.name,
            direction="outbound", caller_id_name=a.channel.caller_id_name,
            caller_id_number=a.channel.caller_id_number, address=(host, port),
            channel=a.channel, clock=self.clock, audio=callee.audio,
        )  # fmt: skip
        a.call = call
        self.sim.calls[a.uuid] = call
        call.session.hangup_hooks.append(self._on_call_hangup)
        self.originator.forget(a)
        sock, error = None, f"cannot connect to {host}:{port}"
        if _ip_literal(host) and 0 < port < 65536:
            try:
                sock = gsocket.create_connection((host, port), timeout=5.0)
            except OSError as exc:
                error = f"cannot connect to the controller: {exc}"
        if sock is None:
            return Result(self.result or "", lambda: self._socket_failed(call, error))
        self.sim.spawn(call.run, sock)
        call.session.connected.wait(timeout=CONNECT_WAIT[self.sim.clock_mode])
        self._pace()
        return Result(self.result or "")

    def _socket_failed(self, call: SimulatedCall, error: str) -> None:
        if not self.clock.simulated:
            gevent.sleep(RESULT_DELAY)
        call.fail_to_connect(error)

    # -- hanging up -----------------------------------------------------------------------

    def hangup(self, leg: Leg, cause: str, extra: list[tuple[str, str]] | None = None) -> None:
        """`leg` ends the call with `cause`: its CHANNEL_HANGUP, the other leg's, then both
        CHANNEL_HANGUP_COMPLETEs. A leg run by a SimulatedCall hangs up through its session
        (which reports its own completion)."""
        peer = self.peer(leg)
        if leg.call is not None:
            by = "freeswitch" if cause in ("SYSTEM_SHUTDOWN", "CRASH") else "controller"
            leg.call.session.hangup(cause, by=by, async_side=True)
            return
        if not leg.hangup(cause, extra or ()):
            return
        if peer is not None and peer.call is not None:
            peer.call.session.hangup(cause, by="caller", async_side=True)
        elif peer is not None:
            peer.hangup(cause)
        ending = [leg] if peer is None or peer.call is not None else [leg, peer]
        self.sim.spawn(self._complete, ending)

    def _complete(self, legs: list[Leg]) -> None:
        gevent.sleep(COMPLETE_DELAY)
        for leg in legs:
            leg.complete()
        self.originator.forget(*legs)

    def _on_call_hangup(self, cause: str) -> None:
        """The A leg's session hung up (controller, caller script, socket gone...)."""
        b = self.b
        if b is not None and b.hangup(cause):
            self.sim.spawn(self._complete_after_call, b)

    def _complete_after_call(self, b: Leg) -> None:
        call = self.a.call
        if call is not None:
            call.session.ended.wait(timeout=10)
        self._complete([b])


class Originator:
    """The simulator's `originate`: callees, the sessions-per-second budget, live legs."""

    def __init__(self, sim: Simulator, sessions_per_second: int | None = None) -> None:
        self.sim = sim
        self.callees = CalleeBook()
        self.throttle = Throttle(sessions_per_second)
        self.legs: dict[str, tuple[Attempt, Leg]] = {}  # channels not run by a SimulatedCall
        self.attempts: dict[str, Attempt] = {}  # by A-leg uuid, every originate that made one
        self.sessions = 0  # channels made so far

    def originate(self, arg: str | None) -> Result:
        request = parse_originate(arg)
        if isinstance(request, str):
            return Result(request)
        tech = request.tech
        if tech == "error":
            return Result(f"-ERR {error_cause(request.endpoint.partition('/')[2])}\n")
        if tech not in ENDPOINTS or "/" not in request.endpoint:
            return Result("-ERR CHAN_NOT_IMPLEMENTED\n")
        if not self.throttle.take(2 if tech == "loopback" else 1):
            return Result("-ERR DESTINATION_OUT_OF_ORDER\n")
        callee = self.callees.find(destination_number(request.endpoint))
        attempt = Attempt(self, request, callee)
        self.attempts[attempt.a.uuid] = attempt
        for leg in attempt.legs:
            self.legs[leg.uuid] = (attempt, leg)
        self.sessions += len(attempt.legs)
        return attempt.run()

    def forget(self, *legs: Leg | None) -> None:
        for leg in legs:
            if leg is not None and (leg.call is not None or leg.ended.is_set()):
                self.legs.pop(leg.uuid, None)

    def find(self, uuid: str) -> tuple[Attempt, Leg] | None:
        return self.legs.get(uuid)

    def kill(self, uuid: str, cause: str) -> bool:
        found = self.legs.get(uuid)
        if found is None:
            return False
        attempt, leg = found
        attempt.hangup(leg, cause)
        return True

    def hangup_all(self, cause: str, *, at_once: bool = False) -> None:
        """Every originated leg, newest first (B before A, as hupall did in the recording).
        `at_once`: their CHANNEL_HANGUP_COMPLETE too, now (FreeSWITCH going away)."""
        found = list(self.legs.values())
        for attempt, leg in reversed(found):
            if leg.up:
                attempt.hangup(leg, cause)
        if at_once:
            for _, leg in found:
                if leg.call is None:
                    leg.complete()
                    self.forget(leg)
