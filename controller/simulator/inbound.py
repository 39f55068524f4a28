"""FreeSWITCH's event socket (mod_event_socket on 8021), the inbound side of the simulator.

    host, port = sim.start_inbound(password="ClueCon")   # port 0: a free port

Each connection gets `Content-Type: auth/request`. mod_event_socket.c parse_command's order of
checks, wording and quirks (a command matches by case-insensitive prefix; replies as recorded
in inbound-auth-api.txt):

- `exit` (even before auth): `+OK bye`, the disconnect notice, close.
- before `auth`: `auth <password>` -> `+OK accepted`, or `-ERR invalid` + disconnect notice +
  close; anything else -> `-ERR command not found` (the socket stays open).
- `event plain|json|xml NAME ... [CUSTOM sub::class ...]` -> `+OK event listener enabled
  <format>`; `nixevent`, `noevents`, `filter` as on the outbound socket (subscription.py);
  `myevents <uuid> [plain|json]` keeps only that channel's events (the uuid may be an
  origination_uuid not dialled yet; with a format, an unknown uuid is `-ERR invalid uuid`).
- `api <cmd> <arg>`: `api/response`. The connection is busy meanwhile, as FreeSWITCH's
  listener thread is: an `api originate` that rings 30 s holds every event for this
  connection until its response has gone out (then they follow, in order).
- `bgapi <cmd> <arg>` (a `Job-UUID:` header chooses the job's uuid): `+OK Job-UUID: <uuid>`
  at once, later a BACKGROUND_JOB event with the result as its body.
- `sendmsg <uuid>` queues on a socket-controlled call; `log`/`nolog`, `linger`/`nolinger`
  (`-ERR not controlling a session`), `sendevent`, `divert_events` are answered.

Events reach every authenticated connection whose subscription accepts them, before the
call's own outbound socket (simulator.publish).

HEARTBEAT: switch_core.c's send_heartbeat fires one every `event-heartbeat-interval` seconds
(switch.conf.xml; 20 by default), with the headers it adds (Event-Info: System Ready, Up-Time,
Session-Count, ...). `heartbeat_interval` sets it here (None: none).

`freeze()` / `thaw()` (a test hook: FreeSWITCH stopped, e.g. SIGSTOP or a stuck event thread,
its TCP connections still open): nothing is read, processed or written on any event-socket
connection and no HEARTBEAT fires; the kernel still accepts new connections, which get no
auth/request. What the clients send meanwhile waits in the socket buffers and what the
simulator would have sent waits in each connection; `thaw()` sends the latter, then reads
and runs the former, as a stopped FreeSWITCH does when it is continued (a command queued
before the client hung up still runs: its reply then goes nowhere).

`restart()` (FreeSWITCH restarting): the listening socket closes (connections are refused),
every inbound connection is dropped at once with no disconnect notice, then every call is hung
up with SYSTEM_SHUTDOWN, as an orderly `shutdown` does (FreeSWITCH hangs up all channels
before unloading its modules; the outbound sockets see the usual hangup and notice), or with
`crash=True` vanishes (CRASH: outbound sockets cut, no events). The inbound connections were
dropped first, so they see none of it. `resume()` listens again on the same port, with a new
Core-UUID.
"""

from __future__ import annotations

import contextlib
import time
import uuid as uuidlib
from typing import TYPE_CHECKING, Any

import gevent
from gevent import socket as gsocket
from gevent.event import Event
from gevent.lock import Semaphore
from gevent.server import StreamServer

from controller.esl.protocol import GOODBYE, Frame, FrameReader, ProtocolError
from controller.esl.serialize import (
    encode_api_response,
    encode_auth_request,
    encode_disconnect_notice,
)
from controller.simulator.commands import LOG_LEVELS, _filter, _nixevent
from controller.simulator.events import SimEvent
from controller.simulator.inbound_api import inbound_api
from controller.simulator.originate import Result
from controller.simulator.subscription import Subscription

if TYPE_CHECKING:
    from controller.simulator.simulator import Simulator

RECV_BYTES = 65536


class InboundConnection:
    """One client of the event socket, from auth/request to close."""

    def __init__(self, server: InboundServer, sock: Any) -> None:
        self.server = server
        self.sim = server.sim
        self.sock = sock
        self.authed = False
        self.logging = False
        self.subscription = Subscription("")
        self.closed = Event()
        self._write_lock = Semaphore()
        self._held: list[bytes] | None = None  # events waiting for an api response
        self._unsent: list[bytes] = []  # output while the server is frozen
        self.commands: list[str] = []  # what the client sent, for tests

    # -- output ---------------------------------------------------------------------------

    def send(self, *chunks: bytes) -> None:
        if self.closed.is_set():
            return
        if self.server.frozen:
            self._unsent.extend(chunks)
            return
        with self._write_lock:
            try:
                for data in chunks:
                    self.sock.sendall(data)
            except OSError:
                self.drop()

    def reply(self, text: str, extra: str = "") -> None:
        text = text or "-ERR command not found"
        self.send(f"Content-Type: command/reply\nReply-Text: {text}\n{extra}\n".encode())

    def wants(self, name: str) -> bool:
        return self.authed and self.subscription.wants_name(name)

    def deliver(self, event: SimEvent) -> None:
        if self.closed.is_set() or not self.authed or not self.subscription.accepts(event):
            return
        data = event.encode(self.subscription.format)
        if self._held is not None:
            self._held.append(data)
        else:
            self.send(data)

    def flush(self) -> None:
        """Send what was held back while the server was frozen (before anything new)."""
        unsent, self._unsent = self._unsent, []
        if not unsent or self.closed.is_set():
            return
        with self._write_lock:
            try:
                for data in unsent:
                    self.sock.sendall(data)
            except OSError:
                self.drop()

    def goodbye(self) -> None:
        """The disconnect notice, then close (listener_run's end)."""
        self.send(encode_disconnect_notice(message=GOODBYE))
        self.drop()

    def drop(self) -> None:
        """Close with no notice (also what a FreeSWITCH restart looks like)."""
        if self.closed.is_set():
            return
        self.closed.set()
        with contextlib.suppress(OSError):
            self.sock.shutdown(gsocket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            self.sock.close()

    # -- input ----------------------------------------------------------------------------

    def run(self) -> None:
        self.server.thawed.wait()  # a frozen FreeSWITCH accepts (the kernel does), says nothing
        self.send(encode_auth_request())
        reader = FrameReader(commands=True)
        try:
            while not self.closed.is_set():
                data = self.sock.recv(RECV_BYTES)
                self.server.thawed.wait()
                if not data or self.closed.is_set():
                    break
                for frame in reader.feed(data):
                    self.handle(frame)
                    if self.closed.is_set():
                        return
        except (OSError, ProtocolError):
            pass
        finally:
            self.drop()

    def handle(self, frame: Frame) -> None:
        command = frame.command or ""
        self.commands.append(command)
        low = command.lower()
        if low.startswith(("exit", "...")):
            self.reply("+OK bye")
            self.goodbye()
        elif not self.authed:
            self._auth(command, low)
        elif low.startswith("filter "):
            _filter(self, command[7:])  # type: ignore[arg-type]
        elif low.startswith("myevents "):
            self._myevents(command)
        elif low.startswith("divert_events"):
            value = command[13:].strip().lower()
            self.reply(
                "-ERR missing value."
                if not value
                else "+OK events diverted"
                if value == "on"
                else "+OK events not diverted"
            )
        elif low.startswith("sendmsg"):
            self._sendmsg(frame, command[7:])
        elif low.startswith("sendevent"):
            self.reply(f"+OK {uuidlib.uuid4()}")
        elif low.startswith("api "):
            self._api(command[4:])
        elif low.startswith("bgapi "):
            self._bgapi(frame, command[6:])
        else:
            self._listener_command(command, low)

    def _auth(self, command: str, low: str) -> None:
        if not low.startswith("auth "):
            self.reply("-ERR command not found")
        elif command[5:] == self.server.password:
            self.authed = True
            self.reply("+OK accepted")
        else:
            self.reply("-ERR invalid")
            self.goodbye()

    def _listener_command(self, command: str, low: str) -> None:
        if low.startswith("log"):
            level = command[4:]
            number = LOG_LEVELS.get(level.lower(), int(level) if level.isdigit() else None)
            if not level:
                number = LOG_LEVELS["debug"]
            if number is None or number > LOG_LEVELS["debug"]:
                self.reply("-ERR invalid log level")
            else:
                self.logging = True
                self.reply(f"+OK log level {level} [{number}]")  # no log lines are sent
        elif low.startswith(("linger", "nolinger")):
            self.reply("-ERR not controlling a session")
        elif low.startswith("nolog"):
            self.reply("+OK no longer logging" if self.logging else "-ERR not loging")
            self.logging = False
        elif low.startswith("event"):
            _, _, rest = command.partition(" ")
            self._event(rest.split(" ") if rest else [])
        elif low.startswith("nixevent"):
            _nixevent(self, command.split(" ")[1:])  # type: ignore[arg-type]
        elif low.startswith("noevents"):
            if self.subscription.enabled:
                self.subscription.clear()
                self.reply("+OK no longer listening for events")
            else:
                self.reply("-ERR not listening for events")
        else:
            self.reply("-ERR command not found")

    # -- commands -------------------------------------------------------------------------

    def _event(self, words: list[str]) -> None:
        if not self.subscription.add_events(words):
            self.reply("-ERR no keywords supplied")
            return
        self.reply(f"+OK event listener enabled {self.subscription.format}")

    def _myevents(self, command: str) -> None:
        sub = self.subscription
        if sub.myevents:
            self.reply("-ERR aready enabled.")
            return
        uuid, _, fmt = command[9:].strip().partition(" ")
        exists = uuid in self.sim.calls or self.sim.originator.find(uuid) is not None
        if fmt and not exists:
            self.reply("-ERR invalid uuid")
            return
        sub.own_uuid = uuid
        sub.enable_myevents(command)
        self.reply("+OK Events Enabled")

    def _sendmsg(self, frame: Frame, rest: str) -> None:
        headers = {k.lower(): v for k, v in frame.headers.items()}
        uuid = rest.strip() or headers.get("session-id", "")
        call = self.sim.calls.get(uuid)
        if call is None or not call.session.controlled:
            self.reply(f"-ERR invalid session id [{uuid}]")
            return
        call.session.queue_private(frame)
        self.reply("+OK")

    def _api(self, line: str) -> None:
        name, _, arg = line.partition(" ")
        self._held = []
        try:
            # In the simulator's group, so that closing it stops a ringing `api originate`.
            result = self.sim.spawn(inbound_api, self.sim, name, arg or None).get()
        finally:
            held, self._held = self._held, None
        if not isinstance(result, Result):  # killed: the simulator is closing
            return
        self.send(encode_api_response(result.body), *held)
        if result.after is not None:
            self.sim.spawn(result.after)

    def _bgapi(self, frame: Frame, line: str) -> None:
        headers = {k.lower(): v for k, v in frame.headers.items()}
        job = headers.get("job-uuid") or str(uuidlib.uuid4())
        self.reply(f"+OK Job-UUID: {job}", f"Job-UUID: {job}\n")
        name, _, arg = line.partition(" ")
        self.sim.spawn(run_job, self.sim, job, name, arg or None)


def run_job(sim: Simulator, job: str, name: str, arg: str | None) -> None:
    """A bgapi job: run the command, fire BACKGROUND_JOB with its result, then what follows."""
    result = inbound_api(sim, name, arg)
    sim.publish(sim.events.background_job((job, None), name, arg, result.body, time.time()))
    if result.after is not None:
        result.after()


HEARTBEAT_CALLING = ("switch_core.c", "send_heartbeat", 112)  # the line is not recorded
HEARTBEAT_INTERVAL = 20.0  # FreeSWITCH's default event-heartbeat-interval


class InboundServer:
    """The listening event socket and its connections (see the module docstring)."""

    def __init__(
        self,
        sim: Simulator,
        host: str,
        port: int,
        password: str,
        *,
        heartbeat_interval: float | None = HEARTBEAT_INTERVAL,
    ) -> None:
        self.sim = sim
        self.host = host
        self.port = port
        self.password = password
        self.heartbeat_interval = heartbeat_interval
        self.connections: set[InboundConnection] = set()
        self.thawed = Event()  # cleared while frozen (freeze/thaw)
        self.thawed.set()
        self.heartbeats = 0  # fired, for tests
        self._server: StreamServer | None = None
        self._resume: gevent.Greenlet | None = None
        self._heartbeat: gevent.Greenlet | None = None
        self._started_at = time.monotonic()

    @property
    def listening(self) -> bool:
        return self._server is not None

    def start(self) -> tuple[str, int]:
        if self._server is None:
            self._server = StreamServer((self.host, self.port), self._handle)
            self._server.start()
            self.port = self._server.server_port
        if self._heartbeat is None and self.heartbeat_interval is not None:
            self._heartbeat = self.sim.spawn(self._beat, self.heartbeat_interval)
        return self.host, self.port

    # -- HEARTBEAT, and a FreeSWITCH that stops without closing anything -------------------

    def _beat(self, interval: float) -> None:
        while True:
            gevent.sleep(interval)
            if not self.frozen and self._server is not None:
                self.heartbeats += 1
                self.sim.publish(self._heartbeat_event())

    def _heartbeat_event(self) -> SimEvent:
        uptime = time.monotonic() - self._started_at
        seconds, millis = int(uptime), int(uptime * 1000) % 1000
        minutes, hours = seconds // 60 % 60, seconds // 3600 % 24
        sessions = str(len(self.sim.calls))
        headers = self.sim.events.core("HEARTBEAT", time.time(), HEARTBEAT_CALLING)
        headers += [
            ("Event-Info", "System Ready"),
            (
                "Up-Time",
                f"0 years, {seconds // 86400} days, {hours} hours, {minutes} minutes, "
                f"{seconds % 60} seconds, {millis} milliseconds, 0 microseconds",
            ),
            ("FreeSWITCH-Version", "1.11.3-dev"),
            ("Uptime-msec", str(int(uptime * 1000))),
            ("Session-Count", sessions),
            ("Max-Sessions", "1000"),
            ("Session-Per-Sec", "0"),
            ("Session-Per-Sec-Max", "0"),
            ("Session-Per-Sec-FiveMin", "0"),
            ("Session-Since-Startup", sessions),
            ("Session-Peak-Max", sessions),
            ("Session-Peak-FiveMin", sessions),
            ("Idle-CPU", "99.000000"),
        ]
        return SimEvent("HEARTBEAT", None, headers)

    @property
    def frozen(self) -> bool:
        return not self.thawed.is_set()

    def freeze(self) -> None:
        """FreeSWITCH stops (see the module docstring); `thaw()` continues it."""
        self.thawed.clear()

    def thaw(self) -> None:
        if self.thawed.is_set():
            return
        for conn in list(self.connections):
            conn.flush()
        self.thawed.set()

    def _handle(self, sock: Any, _address: Any) -> None:
        sock.setsockopt(gsocket.IPPROTO_TCP, gsocket.TCP_NODELAY, 1)
        conn = InboundConnection(self, sock)
        self.connections.add(conn)
        try:
            conn.run()
        finally:
            self.connections.discard(conn)

    # -- the event bus --------------------------------------------------------------------

    def wants(self, name: str) -> bool:
        return any(conn.wants(name) for conn in list(self.connections))

    def deliver(self, event: SimEvent) -> None:
        for conn in list(self.connections):
            conn.deliver(event)

    # -- FreeSWITCH going away and coming back --------------------------------------------

    def restart(self, down_seconds: float | None = None, *, crash: bool = False) -> None:
        self._stop_listening()
        for conn in list(self.connections):
            conn.drop()
        self.connections.clear()
        cause = "CRASH" if crash else "SYSTEM_SHUTDOWN"
        calls = list(self.sim.calls.values())
        for call in calls:
            if crash:
                call.vanish()
            else:
                call.session.hangup(cause, by="freeswitch", async_side=True)
        self.sim.originator.hangup_all(cause, at_once=True)
        if calls and not crash:
            self.sim.spawn(self._exit, calls)
        if down_seconds is not None:
            self._resume = self.sim.spawn(self._resume_later, down_seconds)

    @staticmethod
    def _exit(calls: list[Any]) -> None:
        """The process ends once its sessions have: lingering sockets are cut too."""
        for call in calls:
            call.session.ended.wait(timeout=2)
            call.vanish()

    def _resume_later(self, seconds: float) -> None:
        gevent.sleep(seconds)
        self._resume = None
        self.resume()

    def resume(self) -> None:
        if self._resume is not None and self._resume is not gevent.getcurrent():
            self._resume.kill(block=False)
            self._resume = None
        if self._server is None:
            self.sim.events.core_uuid = str(uuidlib.uuid4())
            self.start()

    def _stop_listening(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()

    def close(self) -> None:
        if self._resume is not None:
            self._resume.kill(block=False)
            self._resume = None
        if self._heartbeat is not None:
            self._heartbeat.kill(block=False)
            self._heartbeat = None
        self.thawed.set()
        self._stop_listening()
        for conn in list(self.connections):
            conn.drop()
        self.connections.clear()
