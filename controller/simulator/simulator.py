"""The simulator: places calls that connect to a controller like FreeSWITCH's `socket` app.

    sim = Simulator(controller=("127.0.0.1", 8084))
    call = sim.place_call(caller="press 1 after 2s", variables={"flow_id": "hello"})
    outcome = call.wait(timeout=10)
    sim.close()

All greenlets belong to the Simulator's gevent Group and are killed by `close()`, which also
closes every socket. Events go through one bus, as in FreeSWITCH: a socket that subscribes
without `myevents` also receives the other calls' events.
"""

from __future__ import annotations

import contextlib
import itertools
import uuid as uuidlib
from collections.abc import Callable, Mapping
from typing import Any

import gevent
from gevent import socket as gsocket
from gevent.event import Event
from gevent.pool import Group

from controller.simulator.callee import Callee
from controller.simulator.caller import CallerScript, CallerTimeline
from controller.simulator.channel_state import ChannelState
from controller.simulator.clock import MODES, Clock
from controller.simulator.events import EventFactory, SimEvent
from controller.simulator.expand import (
    ApiRun,
    ExpansionRecord,
    VariableReference,
    default_globals,
)
from controller.simulator.inbound import HEARTBEAT_INTERVAL, InboundServer
from controller.simulator.inbound_api import inbound_api
from controller.simulator.originate import Originator
from controller.simulator.outbound import Connection
from controller.simulator.outcome import CallOutcome
from controller.simulator.session import Session


class SimulatedCall:
    """One call: its channel, caller, session greenlet and socket."""

    def __init__(
        self,
        sim: Simulator,
        caller: Any,
        *,
        variables: Mapping[str, str],
        answered: bool,
        socket_args: str,
        uuid: str,
        destination: str,
        channel_name: str | None,
        direction: str,
        caller_id_name: str,
        caller_id_number: str,
        address: tuple[str, int] | None = None,
        channel: ChannelState | None = None,
        clock: Clock | None = None,
        audio: Any = None,
    ) -> None:
        """`address`: where the socket app connects (default: sim.controller). `channel` and
        `clock`: an originated A leg the call takes over (its variables already set; the
        socket app adds its own). `audio`: what the far end sends (session.audio_timeline)."""
        self.sim = sim
        self.clock = clock or Clock(sim.clock_mode, sim.start_time)
        start = self.clock.now()
        words = [w.lower() for w in socket_args.split()]
        self.full = "full" in words
        self.static = "async" not in words
        self.address = address or sim.controller
        host, port = self.address
        self.socket_data = f"{host}:{port} {socket_args}".strip()
        if channel is None:
            self.channel = ChannelState(
                uuid,
                name=channel_name or f"loopback/{destination}-a",
                created=start,
                answered=answered,
                direction=direction,
                destination=destination,
                caller_id_name=caller_id_name,
                caller_id_number=caller_id_number,
            )
            self._initial_variables(variables, answered, str(host))
        else:
            self.channel = channel
            for name, value in (
                ("current_application_data", self.socket_data),
                ("current_application", "socket"),
                ("socket_host", str(host)),
            ):
                channel.variables.set(name, value)
        # The dialplan ran `socket` itself: it is the last application until another runs.
        self.channel.last_app, self.channel.last_arg = "socket", self.socket_data
        self.timeline = CallerTimeline(CallerScript.from_data(caller), start)
        self.outcome = CallOutcome(uuid, started_at=start)
        self.session = Session(self)
        self.session.audio_timeline = audio
        self.connection = Connection(self, None)
        self.done = Event()

    @property
    def uuid(self) -> str:
        return self.channel.uuid

    def _initial_variables(self, variables: Mapping[str, str], answered: bool, host: str) -> None:
        channel = self.channel
        items = [("direction", channel.direction)]
        if channel.direction == "outbound":
            items.append(("is_outbound", "true"))
        items += [
            ("session_id", str(next(self.sim.session_ids))),
            ("read_codec", "L16"),
            ("read_rate", "8000"),
            ("write_codec", "L16"),
            ("write_rate", "8000"),
            ("channel_name", channel.name),
            ("uuid", channel.uuid),
            *((str(k), str(v)) for k, v in variables.items()),
        ]
        if answered and "endpoint_disposition" not in variables:
            items.append(("endpoint_disposition", "ANSWER"))
        items += [
            ("call_uuid", channel.uuid),
            ("current_application_data", self.socket_data),
            ("current_application", "socket"),
            ("socket_host", host),
        ]
        for name, value in items:
            channel.variables.set(name, value)

    # -- running --------------------------------------------------------------------------

    def run(self, sock: Any = None) -> None:
        """Connect (or use `sock`, already connected), then serve the socket."""
        error = None
        if sock is None and self.channel.up:  # a test may hang up before the socket app starts
            try:
                sock = gsocket.create_connection(self.address, timeout=5.0)
                # mod_event_socket's listener_run sets TCP_NODELAY on every connection.
                sock.setsockopt(gsocket.IPPROTO_TCP, gsocket.TCP_NODELAY, 1)
            except OSError as exc:
                error = f"cannot connect to the controller: {exc}"
        if sock is None:
            self.fail_to_connect(error)
            return
        sock.settimeout(None)
        # As mod_event_socket: replies and events are small, Nagle would hold them back.
        sock.setsockopt(gsocket.IPPROTO_TCP, gsocket.TCP_NODELAY, 1)
        self.connection.sock = sock
        self.sim.spawn(self.session.run)
        self.connection.run()

    def fail_to_connect(self, error: str | None) -> None:
        """FreeSWITCH: the socket app fails, the dialplan ends, the call is hung up."""
        if error:
            self.outcome.error = error
        self.session.controlled = False
        self.session.hangup("NORMAL_CLEARING", by="freeswitch", async_side=False)
        self.connection.closed.set()
        self.session.finish()

    def on_socket_closed(self) -> None:
        self.session.controlled = False
        self.session.wake.set()
        self._check_done()

    def on_session_end(self) -> None:
        self.outcome.variables = self.channel.variables.as_dict()
        self.outcome.digits_dialed = self.channel.digits_dialed
        self._check_done()

    def _check_done(self) -> None:
        if self.connection.closed.is_set() and self.session.ended.is_set():
            self.sim.calls.pop(self.uuid, None)
            self.done.set()

    # -- for tests ------------------------------------------------------------------------

    def hangup(self, cause: str = "NORMAL_CLEARING") -> None:
        """The caller hangs up now."""
        self.session.hangup(cause, by="caller", async_side=True)

    def vanish(self) -> None:
        """FreeSWITCH disappears (a crash, a cable pulled): the socket closes at once, with
        no hangup event and no disconnect notice."""
        connection = self.connection
        if connection.sock is not None:
            with contextlib.suppress(OSError):
                connection.sock.shutdown(gsocket.SHUT_RDWR)
        connection._mark_closed("freeswitch")
        self.session.hangup("CRASH", by="freeswitch", async_side=True)

    def wait(self, timeout: float, *, until: str = "closed") -> CallOutcome:
        """Wait until the socket is closed and the session over ("closed"), or only until
        CHANNEL_HANGUP_COMPLETE ("hangup": a bare `linger` never closes). TimeoutError if it
        does not happen in `timeout` seconds."""
        if until not in ("closed", "hangup"):
            raise ValueError(f"until is 'closed' or 'hangup', not {until!r}")
        target = self.done if until == "closed" else self.session.ended
        if not target.wait(timeout=timeout):
            raise TimeoutError(
                f"call {self.uuid} not {until} after {timeout:g} s (apps: {self.outcome.app_names})"
            )
        return self.outcome


class Simulator:
    """FreeSWITCH's outbound side for tests and `callflow simulate` (see module docstring).

    - controller: (host, port) of the controller's outbound-socket server.
    - clock: "simulated" (media time costs no real time) or "real" (see clock.py).
    - audio_check: False plays missing audio files as if present (default_duration s),
      to run flows without their audio; True answers FILE NOT FOUND as FreeSWITCH does.
    - media: path -> seconds (None: missing) for files that are not on this machine.
    - sounds_dir: where relative paths are looked for (the `sound_prefix` variable wins).
    - connect_timeout: how long the first command may take (FreeSWITCH: 25 s).
    - start_time: the epoch every call's clock starts at (reproducible timestamps).
    - record_frames: keep every frame each way in CallOutcome (memory for big runs).
    - sessions_per_second: FreeSWITCH's throttle for `originate` (None: no limit; see
      originate.py). The inbound side (event socket, originate, callees) is in inbound.py."""

    def __init__(
        self,
        controller: tuple[str, int],
        *,
        clock: str = "simulated",
        audio_check: bool = True,
        media: Mapping[str, float | None] | None = None,
        default_duration: float = 1.0,
        sounds_dir: str = "/usr/share/freeswitch/sounds",
        connect_timeout: float = 25.0,
        hostname: str = "callflow-sim",
        start_time: float | None = None,
        record_frames: bool = True,
        sessions_per_second: int | None = None,
    ) -> None:
        if clock not in MODES:
            raise ValueError(f"clock must be one of {', '.join(MODES)}, not {clock!r}")
        self.controller = controller
        self.clock_mode = clock
        self.audio_check = audio_check
        self.media: dict[str, float | None] = dict(media or {})
        self.default_duration = default_duration
        self.sounds_dir = sounds_dir
        self.connect_timeout = connect_timeout
        self.start_time = start_time
        self.record_frames = record_frames
        self.events = EventFactory(hostname)
        # What `$${name}` and the last step of `${name}` find (global_getvar shows them).
        self.global_variables = default_globals(hostname, sounds_dir)
        self.expansion = ExpansionRecord()  # every reference and API call expansions made
        self.session_ids = itertools.count(1)
        self.calls: dict[str, SimulatedCall] = {}
        self.group = Group()
        self._global: set[Connection] = set()  # sockets listening beyond their own channel
        self._closed = False
        self.originator = Originator(self, sessions_per_second)
        self.inbound: InboundServer | None = None

    @property
    def expansions_run(self) -> list[ApiRun]:
        """Every API call FreeSWITCH would have run while expanding ${...} (none ran)."""
        return self.expansion.expansions_run

    @property
    def references_expanded(self) -> list[VariableReference]:
        """Every ${name} an expansion looked up (see expand.assert_nothing_expanded)."""
        return self.expansion.references_expanded

    def spawn(self, function: Callable[..., Any], *args: Any) -> gevent.Greenlet:
        return self.group.spawn(function, *args)

    def place_call(
        self,
        caller: CallerScript | str | list[Any] | None = None,
        *,
        variables: Mapping[str, str] | None = None,
        answered: bool = True,
        socket_args: str = "async full",
        uuid: str | None = None,
        destination: str = "callflow",
        channel_name: str | None = None,
        direction: str = "outbound",
        caller_id_name: str = "Simulated Caller",
        caller_id_number: str = "0000000000",
        audio: Any = None,
    ) -> SimulatedCall:
        """Start a call: it connects to the controller at once, in the background.
        socket_args: "async full" (quoted &socket(...)), or e.g. "" for the static,
        single-channel socket an unquoted &socket(...) in an originate gives.
        audio: what the caller's side sends, for the audio-detection apps."""
        if self._closed:
            raise RuntimeError("the simulator is closed")
        call = SimulatedCall(
            self,
            caller,
            variables=variables or {},
            answered=answered,
            socket_args=socket_args,
            uuid=uuid or str(uuidlib.uuid4()),
            destination=destination,
            channel_name=channel_name,
            direction=direction,
            caller_id_name=caller_id_name,
            caller_id_number=caller_id_number,
            audio=audio,
        )
        self.calls[call.uuid] = call
        self.spawn(call.run)
        return call

    def hangup(self, cause: str = "NORMAL_CLEARING", *, uuid: str | None = None) -> None:
        """The caller hangs up now: the call `uuid`, or every call in progress."""
        targets = (
            [self.calls[uuid]] if uuid in self.calls else [] if uuid else list(self.calls.values())
        )
        for call in targets:
            call.hangup(cause)

    def api(self, name: str, arg: str | None) -> str:
        """An `api` command; what must follow its result (a refused socket's hangup) runs
        once the caller has sent it."""
        result = inbound_api(self, name, arg)
        if result.after is not None:
            self.spawn(result.after)
        return result.body

    # -- the inbound side (inbound.py, originate.py, callee.py) ---------------------------

    def start_inbound(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        password: str = "ClueCon",
        *,
        heartbeat_interval: float | None = HEARTBEAT_INTERVAL,
    ) -> tuple[str, int]:
        """Listen like mod_event_socket (8021); returns the address (port 0: a free one).
        heartbeat_interval: seconds between HEARTBEAT events (FreeSWITCH: 20; None: none)."""
        if self.inbound is None:
            self.inbound = InboundServer(
                self, host, port, password, heartbeat_interval=heartbeat_interval
            )
        return self.inbound.start()

    def restart_inbound(self, down_seconds: float | None = None, *, crash: bool = False) -> None:
        """FreeSWITCH restarts: see InboundServer.restart."""
        if self.inbound is None:
            raise RuntimeError("start_inbound() first")
        self.inbound.restart(down_seconds, crash=crash)

    def resume_inbound(self) -> None:
        """FreeSWITCH is back: the event socket accepts connections again."""
        if self.inbound is not None:
            self.inbound.resume()

    def add_callee(self, number: str | None, callee: Callee | str | None = None) -> Callee:
        """Who answers `originate`s to `number` (None or "*": everyone else); see callee.py."""
        return self.originator.callees.add(number, callee)

    def originate(self, arg: str) -> str:
        """`api originate <arg>` without a socket: the result text."""
        return self.api("originate", arg)

    # -- the event bus --------------------------------------------------------------------

    def listen(self, conn: Connection) -> None:
        if conn.subscription.enabled and not conn.subscription.myevents:
            self._global.add(conn)
        else:
            self._global.discard(conn)

    def unlisten(self, conn: Connection) -> None:
        self._global.discard(conn)

    def wants(self, name: str, uuid: str | None) -> bool:
        if self.inbound is not None and self.inbound.wants(name):
            return True
        call = self.calls.get(uuid) if uuid else None
        if call is not None and call.connection.subscription.wants_name(name):
            return True
        return any(conn.subscription.wants_name(name) for conn in self._global)

    def publish(self, event: SimEvent) -> None:
        # Inbound (8021) listeners first: they see CHANNEL_HANGUP_COMPLETE before the call's
        # own socket does (FINDINGS.md, "Hangup / disconnect / linger").
        if self.inbound is not None:
            self.inbound.deliver(event)
        call = self.calls.get(event.uuid) if event.uuid else None
        own = call.connection if call is not None else None
        if own is not None:
            own.deliver(event)
        for conn in list(self._global):
            if conn is not own:
                conn.deliver(event)

    # -- lifecycle ------------------------------------------------------------------------

    def close(self) -> None:
        """Stop every call: kill the greenlets, close the sockets."""
        self._closed = True
        if self.inbound is not None:
            self.inbound.close()
        self.group.kill(block=True, timeout=5)
        for call in list(self.calls.values()):
            sock = call.connection.sock
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.close()
        self.calls.clear()
        self._global.clear()

    def __enter__(self) -> Simulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
