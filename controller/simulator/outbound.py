"""FreeSWITCH's side of an outbound socket: the command loop of mod_event_socket's listener.

Replies copy mod_event_socket.c's parse_command, wording and order of checks included (a
command matches by prefix, as with strncasecmp): `connect` answers with the CHANNEL_DATA
block, a second `myevents` gets "-ERR aready enabled." (sic), `getvar` of an unset variable
gets "-ERR command not found", `sendmsg` always gets an immediate +OK in async mode (even
after the hangup, when nothing will run). Without `full` (e.g. an unquoted `&socket(...)`)
everything after `sendmsg` in that list answers "-ERR command not found".

Hangup and the socket (FINDINGS.md "Hangup / disconnect / linger"): when the channel goes
down, a lingering socket gets a `Content-Disposition: linger` notice, otherwise the
disconnect notice and the socket closes. If the hangup came from outside the session (the
caller, uuid_kill) that happens right after CHANNEL_HANGUP, before the running application
completes; if the session itself hung up (sendmsg hangup, the hangup app, a failure) the
session's events are all out first. `linger N` then closes after N s (real time: N..N+1 s as
FreeSWITCH's whole-second arithmetic; exactly N s with the simulated clock); a bare `linger`
never closes, as FreeSWITCH, until the controller does.
"""

from __future__ import annotations

import contextlib
import math
import uuid as uuidlib
from typing import TYPE_CHECKING, Any

import gevent
from gevent.event import Event
from gevent.lock import Semaphore

from controller.esl.protocol import GOODBYE, Frame, FrameReader, ProtocolError
from controller.esl.serialize import (
    encode_api_response,
    encode_connect_reply,
    encode_disconnect_notice,
)
from controller.simulator.commands import dispatch
from controller.simulator.events import SimEvent
from controller.simulator.subscription import Subscription

if TYPE_CHECKING:
    from controller.simulator.simulator import SimulatedCall

RECV_BYTES = 65536


def _reply(text: str, extra: str = "") -> bytes:
    # Written as FreeSWITCH does (snprintf), without refusing odd bytes in a value.
    return f"Content-Type: command/reply\nReply-Text: {text}\n{extra}\n".encode(
        "utf-8", "surrogateescape"
    )


class Connection:
    """One outbound socket, from `connect` to close."""

    def __init__(self, call: SimulatedCall, sock: Any) -> None:
        self.call = call
        self.sock = sock
        self.subscription = Subscription(call.channel.uuid)
        self.linger: int | None = None  # None: no linger; -1: forever; N seconds
        self.closed = Event()
        self._write_lock = Semaphore()
        self._notice_sent = False
        self._held: list[bytes] | None = None  # static mode: events wait for the reply
        self._frozen = False  # static mode after the hangup: no more events

    # -- output ---------------------------------------------------------------------------

    def send(self, data: bytes) -> None:
        if self.closed.is_set() or self.sock is None:
            return
        if self._held is not None and data.startswith(b"Content-Length"):
            self._held.append(data)
            return
        with self._write_lock:
            try:
                self.sock.sendall(data)
            except OSError:
                self._mark_closed("controller")
                return
        if self.call.sim.record_frames:
            self.call.outcome.frames_sent.append(data)

    def deliver(self, event: SimEvent) -> None:
        if not self._frozen and self.subscription.accepts(event):
            self.send(event.encode(self.subscription.format))

    def reply(self, text: str) -> None:
        self.send(_reply(text or "-ERR command not found"))

    # -- hangup and closing ---------------------------------------------------------------

    def on_hangup(self) -> None:
        """The channel is down (mod_event_socket's LFLAG_HANDLE_DISCO, once)."""
        if self._notice_sent or self.closed.is_set():
            return
        self._notice_sent = True
        if self.linger is None:
            self.goodbye()
            return
        channel = self.call.channel
        self.send(
            encode_disconnect_notice(
                channel.uuid, linger=True, channel_name=channel.name, linger_time=self.linger
            )
        )
        if self.linger >= 0:
            self.call.sim.spawn(self._linger_then_close, self.linger)

    def _linger_then_close(self, seconds: int) -> None:
        clock = self.call.clock
        self.call.session.ended.wait(timeout=10)  # the session's last events go out first
        now = clock.now()
        delay = seconds if clock.simulated else math.floor(now) + seconds + 1 - now
        self.closed.wait(timeout=max(0.0, delay))
        self.goodbye()

    def goodbye(self) -> None:
        """Disconnect notice, then close (listener_run's end)."""
        if self.closed.is_set():
            return
        self.send(encode_disconnect_notice(self.call.channel.uuid, message=GOODBYE))
        self._mark_closed("freeswitch")

    def _mark_closed(self, by: str) -> None:
        if self.closed.is_set():
            return
        self.closed.set()
        if self.call.outcome.closed_by is None:
            self.call.outcome.closed_by = by
        self.call.sim.unlisten(self)
        if self.sock is not None:
            with contextlib.suppress(OSError):
                self.sock.close()
        self.call.on_socket_closed()

    # -- input ----------------------------------------------------------------------------

    def run(self) -> None:
        """Read commands until either side closes. FreeSWITCH waits 25 s for the first."""
        reader = FrameReader(commands=True)
        first = True
        try:
            while not self.closed.is_set():
                data = None
                with gevent.Timeout(self.call.sim.connect_timeout if first else None, False):
                    data = self.sock.recv(RECV_BYTES)
                if data is None:
                    self.call.outcome.error = "the controller sent no command in time"
                    self.goodbye()
                    return
                if not data:
                    self._mark_closed("controller")
                    return
                for frame in reader.feed(data):
                    first = False
                    self.handle(frame)
                    if self.closed.is_set():
                        return
        except (OSError, ProtocolError):
            self._mark_closed("controller")

    def handle(self, frame: Frame) -> None:
        command = frame.command or ""
        outcome = self.call.outcome
        outcome.commands.append(command)
        if self.call.sim.record_frames:
            outcome.frames_received.append(frame.raw_head + b"\n\n" + frame.body)
        dispatch(self, frame, command)

    # -- commands with state here ---------------------------------------------------------

    def connect(self) -> None:
        call = self.call
        data = call.sim.events.channel_data(call.channel, call.clock.now())
        mode = "static" if call.static else "async"
        self.send(encode_connect_reply(data, mode, "full" if call.full else "single-channel"))
        call.session.connected.set()
        call.session.wake.set()

    def sendmsg(self, frame: Frame, target: str) -> None:
        headers = {k.lower(): v for k, v in frame.headers.items()}
        target = target.strip() or headers.get("session-id", "")
        if target and target != self.call.channel.uuid:
            other = self.call.sim.calls.get(target)
            if other is None:
                self.reply(f"-ERR invalid session id [{target}]")
                return
            other.session.queue_private(frame)
            self.reply("+OK")
            return
        session = self.call.session
        if not self.call.static or headers.get("async", "").lower() in ("true", "yes", "on"):
            session.queue_private(frame)
            self.reply("+OK")
            return
        # Static mode: run it now; the reply goes first, the events after it. The listener
        # runs in the session's own thread there: once the channel is down it sends the
        # notice and then nothing more (outbound-static-mode.txt, ...-UNQUOTED-...txt).
        self._held = []
        try:
            if session.channel.up:
                session.parse_next_now(frame)
        finally:
            held, self._held = self._held, None
        self.reply("+OK")
        if not session.channel.up:
            self.on_hangup()
        for data in held:
            self.send(data)
        self._frozen = not session.channel.up

    def api(self, line: str) -> None:
        name, _, arg = line.partition(" ")
        self.send(encode_api_response(self.call.sim.api(name, arg or None)))

    def bgapi(self, frame: Frame, line: str) -> None:
        headers = {k.lower(): v for k, v in frame.headers.items()}
        job = headers.get("job-uuid") or str(uuidlib.uuid4())
        self.send(_reply(f"+OK Job-UUID: {job}", f"Job-UUID: {job}\n"))
        name, _, arg = line.partition(" ")

        def run() -> None:
            body = self.call.sim.api(name, arg or None)
            event = self.call.sim.events.background_job(
                (job, self.call.uuid), name, arg or None, body, self.call.clock.now()
            )
            self.call.sim.publish(event)

        self.call.sim.spawn(run)

    def event_command(self, words: list[str]) -> None:
        """`event [plain|json|xml] NAME...` (CUSTOM: the words after it are subclasses)."""
        if not self.subscription.add_events(words):
            self.reply("-ERR no keywords supplied")
            return
        self.call.sim.listen(self)
        self.reply(f"+OK event listener enabled {self.subscription.format}")
