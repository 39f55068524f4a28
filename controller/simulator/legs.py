"""The channels an `originate` creates, laid out as in the recordings (originate-*.txt).

A loopback originate makes two channels: the A leg (`loopback/<number>-a`, outbound, Unique-ID
= origination_uuid) that the originate returns and that runs the application, and the B leg
(`loopback/<number>-b`, inbound) where the callee "is". Any other endpoint (sofia, user) makes
only the A leg: the callee is outside FreeSWITCH.

What differs from a channel placed by `place_call` (channel_state.ChannelState):
- states before the application runs: CS_INIT at CHANNEL_CREATE, CS_CONSUME_MEDIA while the
  originate waits (A), CS_ROUTING/CS_EXECUTE on the B leg; `Channel-HIT-Dialplan` is false on
  the A leg until its application starts;
- the caller profile leaves out empty fields and carries the callee id (`Outbound Call`,
  the destination), which FreeSWITCH swaps into the caller id when the call is answered
  (`channel_cid_flipped`);
- a SIP A leg has no codec headers before media;
- CDR: `progress_stamp` when it rang, `caller_id` without quotes when there is no name.

Events: CHANNEL_CREATE, CHANNEL_PROGRESS, CHANNEL_ANSWER, CHANNEL_HANGUP and
CHANNEL_HANGUP_COMPLETE, with the file/function/line FreeSWITCH reports (not CHANNEL_STATE,
CHANNEL_CALLSTATE or CHANNEL_DESTROY before a socket takes the leg over). Once an A leg's
`&socket(...)` connects, its SimulatedCall (session.py) fires the rest, on the same state.
`make_a_leg` / `make_b_leg` build the legs with their variables in the recorded order.
"""

from __future__ import annotations

import logging
import uuid as uuidlib
from collections.abc import Sequence
from typing import TYPE_CHECKING

from gevent.event import Event

from controller.simulator.callee import destination_number
from controller.simulator.channel_state import ChannelState, Variables, caller_profile, stamp
from controller.simulator.events import SimEvent
from controller.simulator.expand import has_variable
from controller.simulator.util import truthy

if TYPE_CHECKING:
    from controller.simulator.clock import Clock
    from controller.simulator.dialstring import Originate
    from controller.simulator.simulator import SimulatedCall, Simulator

log = logging.getLogger(__name__)

CS_NEW, CS_INIT, CS_ROUTING, CS_EXECUTE, CS_CONSUME_MEDIA = 1, 2, 3, 4, 7
CS_HANGUP, CS_REPORTING = 10, 11
STATE_NAMES = {1: "CS_NEW", 2: "CS_INIT", 3: "CS_ROUTING", 4: "CS_EXECUTE", 7: "CS_CONSUME_MEDIA",
               10: "CS_HANGUP", 11: "CS_REPORTING"}  # fmt: skip
CALLING = {
    "CHANNEL_CREATE": ("switch_core_state_machine.c", "switch_core_session_run", 626),
    "CHANNEL_PROGRESS": (
        "switch_channel.c",
        "switch_channel_perform_mark_ring_ready_value",
        3507,
    ),
    "CHANNEL_ANSWER": ("switch_channel.c", "switch_channel_perform_mark_answered", 3848),
    "CHANNEL_HANGUP": ("switch_channel.c", "switch_channel_perform_hangup", 3447),
    "CHANNEL_HANGUP_COMPLETE": (
        "switch_core_state_machine.c",
        "switch_core_session_reporting_state",
        943,
    ),
}
_BIT_RATES = {"PCMU": 64000, "PCMA": 64000, "G722": 64000, "G729": 8000}


class LegState(ChannelState):
    """A channel made by `originate` (see the module docstring)."""

    def __init__(self, uuid: str, *, name: str, created: float, direction: str, **kw: str) -> None:
        super().__init__(uuid, name=name, created=created, answered=False, direction=direction)
        self.destination = kw.get("destination", "")
        self.caller_id_name = kw.get("caller_id_name", "")
        self.caller_id_number = kw.get("caller_id_number", "0000000000")
        self.orig_caller_id_number = self.caller_id_number
        self.callee_id_name = kw.get("callee_id_name", "")
        self.callee_id_number = kw.get("callee_id_number", "")
        self.ani = self.caller_id_number
        self.context = kw.get("context", "default")
        self.source = kw.get("source", "mod_loopback")
        self.dialplan = kw.get("dialplan", "xml")
        self.codec = kw.get("codec", "L16")
        self.media = kw.get("media", "yes") == "yes"  # codec headers before media (not SIP)
        self.hit_dialplan = direction == "inbound"
        self.state_number = self.running_state = CS_INIT
        self.call_state = "DOWN"
        self.progress_at = 0.0

    def set_running_state(self, number: int) -> None:
        self.state_number = self.running_state = number

    def flip_cid(self) -> None:
        """switch_channel_flip_cid on answer: the callee id becomes the caller id."""
        self.variables.set("pre_transfer_caller_id_number", self.caller_id_number)
        self.caller_id_name, self.caller_id_number = self.callee_id_name, self.callee_id_number
        self.callee_id_name, self.callee_id_number = "", self.orig_caller_id_number
        self.variables.set("channel_cid_flipped", "yes")

    # -- header blocks -------------------------------------------------------------------

    def profile(self, prefix: str) -> list[tuple[str, str]]:
        return caller_profile(
            prefix, direction=self.direction, dialplan=self.dialplan,
            caller_id_name=self.caller_id_name, caller_id_number=self.caller_id_number,
            orig_caller_id_number=self.orig_caller_id_number,
            callee_id_name=self.callee_id_name, callee_id_number=self.callee_id_number,
            ani=self.ani, destination=self.destination, uuid=self.uuid, source=self.source,
            context=self.context, name=self.name, created=self.created,
            answered=self.answered_at, progress=self.progress_at, hangup=self.hangup_at,
            keep_empty=False,
        )  # fmt: skip

    def basic(self) -> list[tuple[str, str]]:
        headers = [
            ("Channel-State", STATE_NAMES.get(self.running_state, "CS_EXECUTE")),
            ("Channel-Call-State", self.call_state),
            ("Channel-State-Number", str(self.state_number)),
            ("Channel-Name", self.name),
            ("Unique-ID", self.uuid),
            ("Call-Direction", self.direction),
            ("Presence-Call-Direction", self.direction),
            ("Channel-HIT-Dialplan", "true" if self.hit_dialplan else "false"),
            ("Channel-Call-UUID", self.uuid),
            ("Answer-State", self.answer_state),
        ]
        if self.hangup_cause is not None:
            headers.append(("Hangup-Cause", self.hangup_cause))
        if self.media or self.answered_at:
            codec = self.variables.get("read_codec") or self.codec
            rate = self.variables.get("read_rate") or "8000"
            bits = _BIT_RATES.get(codec, int(rate) * 16 if rate.isdigit() else 128000)
            for side in ("Read", "Write"):
                headers += [
                    (f"Channel-{side}-Codec-Name", codec),
                    (f"Channel-{side}-Codec-Rate", rate),
                    (f"Channel-{side}-Codec-Bit-Rate", str(bits)),
                ]
        return headers + self.profile("Caller")

    def add_cdr_variables(self, end: float) -> None:
        super().add_cdr_variables(end)
        name, number = self.caller_id_name, self.caller_id_number
        fixed: list[tuple[str, str]] = []
        replace = {"caller_id": f'"{name}" <{number}>' if name else number}
        q850 = self.variables.get("hangup_cause_q850") or "0"
        if q850.isdigit() and int(q850) > 127:  # switch_channel_cause_q850: not a Q.850 cause
            replace["hangup_cause_q850"] = "16"
        if self.progress_at:
            replace["progress_epoch"] = str(int(self.progress_at))
            replace["progress_uepoch"] = str(int(self.progress_at * 1_000_000))
        for key, value in self.variables:
            if key == "end_stamp" and self.progress_at:
                fixed.append(("progress_stamp", stamp(self.progress_at)))
            fixed.append((key, replace.get(key, value)))
        self.variables = Variables(fixed)


def leg_event(
    sim: Simulator,
    name: str,
    channel: ChannelState,
    now: float,
    pre: Sequence[tuple[str, str]] = (),
) -> SimEvent:
    headers = [*sim.events.core(name, now, CALLING[name]), *pre, *channel.basic()]
    return SimEvent(name, channel.uuid, headers + channel.variable_headers())


class Leg:
    """One originated channel until its CHANNEL_HANGUP_COMPLETE (or until a SimulatedCall
    takes the A leg over: `call`)."""

    def __init__(self, sim: Simulator, channel: LegState, clock: Clock, role: str) -> None:
        self.sim = sim
        self.channel = channel
        self.clock = clock
        self.role = role  # "A" or "B"
        self.call: SimulatedCall | None = None
        self.ended = Event()  # CHANNEL_HANGUP_COMPLETE fired
        self.wake = Event()  # set on hangup: wakes the originate waiting for this leg

    @property
    def uuid(self) -> str:
        return self.channel.uuid

    @property
    def up(self) -> bool:
        return self.channel.up

    def fire(self, name: str, pre: Sequence[tuple[str, str]] = ()) -> None:
        if self.sim.wants(name, self.uuid):
            self.sim.publish(leg_event(self.sim, name, self.channel, self.clock.now(), pre))

    def set_app(self, app: str, data: str = "") -> None:
        variables = self.channel.variables
        variables.set("current_application_data", data)
        variables.set("current_application", app)
        self.channel.last_app, self.channel.last_arg = app, data

    def progress(self) -> None:
        """ring_ready: CHANNEL_PROGRESS with the call state it had, then RINGING."""
        self.channel.progress_at = self.clock.now()
        self.fire("CHANNEL_PROGRESS")
        self.channel.call_state = "RINGING"

    def answer(self) -> None:
        self.channel.answered_at = self.clock.now()
        self.fire("CHANNEL_ANSWER")
        self.channel.call_state = "ACTIVE"
        self.channel.variables.set("endpoint_disposition", "ANSWER")

    def hangup(self, cause: str, extra: Sequence[tuple[str, str]] = ()) -> bool:
        """CHANNEL_HANGUP (False if the leg was down already); `extra`: variables FreeSWITCH
        sets with the hangup (sip_term_status ...)."""
        if not self.channel.up:
            return False
        for name, value in extra:
            self.channel.variables.set(name, value)
        self.channel.mark_hangup(cause)
        self.fire("CHANNEL_HANGUP")
        self.wake.set()
        return True

    def complete(self) -> None:
        """CS_REPORTING: the CDR variables and CHANNEL_HANGUP_COMPLETE, once."""
        if self.ended.is_set() or self.channel.up:
            return
        channel = self.channel
        channel.set_running_state(CS_REPORTING)
        channel.call_state = "HANGUP"
        channel.hangup_at = self.clock.now()
        channel.add_cdr_variables(channel.hangup_at)
        self.fire("CHANNEL_HANGUP_COMPLETE", pre=[("Hangup-Cause", channel.hangup_cause or "")])
        self.ended.set()


# -- making the legs of an originate ---------------------------------------------------------


def _profile(request: Originate) -> dict[str, str]:
    endpoint = request.endpoint
    number = destination_number(endpoint)
    loopback = request.tech == "loopback"
    return {
        "destination": number,
        "caller_id_number": request.variable("origination_caller_id_number")
        or request.cid_num
        or "0000000000",
        "caller_id_name": request.variable("origination_caller_id_name") or request.cid_name or "",
        "callee_id_name": "Outbound Call",
        "callee_id_number": endpoint.rstrip("/").rsplit("/", 1)[-1] if loopback else number,
        "context": ([*endpoint.split("/"), "", ""][2] or "default") if loopback else "default",
        "source": "mod_loopback" if loopback else "src/switch_ivr_originate.c",
        "dialplan": "xml" if loopback else "",
        "codec": "L16" if loopback else "PCMU",
        "media": "yes" if loopback else "no",
    }


def _user_variables(request: Originate, *, legs_first: bool) -> list[tuple[str, str]]:
    """`[leg]` then `{call}` variables on the A leg, the other way round on a loopback B leg;
    a name given in both keeps the first value. The values are not expanded; one holding
    `${` is refused (switch_channel_set_variable_var_check with oglobals.check_vars, on
    unless origination_nested_vars=true): FINDINGS.md read such a variable back `_undef_`."""
    first, second = request.leg_variables, request.variables
    if not legs_first:
        first, second = second, first
    check = not (
        truthy(request.variable("origination_nested_vars"))
        or "origination_nested_vars=true" in request.arg.lower()
    )
    seen: set[str] = set()
    items = []
    for name, value in [*first, *second]:
        if name not in seen:
            seen.add(name)
            if check and has_variable(value):
                log.warning("originate: %s not set, its value holds ${ (var_check)", name)
                continue
            items.append((name, value))
    return items


def make_a_leg(sim: Simulator, request: Originate, clock: Clock, start: float) -> Leg:
    """The originated channel, its variables in the recorded order (Unique-ID =
    origination_uuid when given)."""
    uuid = request.variable("origination_uuid") or str(uuidlib.uuid4())
    loopback = request.tech == "loopback"
    name = f"loopback/{destination_number(request.endpoint)}-a" if loopback else request.endpoint
    channel = LegState(uuid, name=name, created=start, direction="outbound", **_profile(request))
    var = channel.variables.set
    var("direction", "outbound")
    var("is_outbound", "true")
    if loopback:
        var("session_id", str(next(sim.session_ids)))
        for key, value in (("read_codec", "L16"), ("read_rate", "8000"),
                           ("write_codec", "L16"), ("write_rate", "8000")):  # fmt: skip
            var(key, value)
        var("channel_name", name)
        var("uuid", uuid)
        var("call_uuid", uuid)
    else:
        var("uuid", uuid)
        var("call_uuid", uuid)
        var("session_id", str(next(sim.session_ids)))
        var("channel_name", name)
        var("sip_destination_url", f"sip:{request.endpoint.split('/', 2)[-1]}")
    for key, value in _user_variables(request, legs_first=True):
        var(key, value)
    var("originate_early_media", "true")
    var("originate_endpoint", request.tech)
    return Leg(sim, channel, clock, "A")


def make_b_leg(a: Leg, request: Originate) -> Leg:
    """A loopback call's other channel, where the callee is; links itself and the A leg."""
    sim = a.sim
    uuid = str(uuidlib.uuid4())
    name = f"loopback/{destination_number(request.endpoint)}-b"
    channel = LegState(
        uuid, name=name, created=a.channel.created, direction="inbound", **_profile(request)
    )
    for key, value in (("direction", "inbound"), ("uuid", uuid), ("call_uuid", uuid),
                       ("session_id", str(next(sim.session_ids))),
                       ("channel_name", name), ("read_codec", "L16"), ("read_rate", "8000"),
                       ("write_codec", "L16"), ("write_rate", "8000"),
                       *_user_variables(request, legs_first=False),
                       ("other_loopback_leg_uuid", a.uuid), ("loopback_leg", "B")):  # fmt: skip
        channel.variables.set(key, value)
    a.channel.variables.set("other_loopback_leg_uuid", uuid)
    a.channel.variables.set("loopback_leg", "A")
    return Leg(sim, channel, a.clock, "B")
