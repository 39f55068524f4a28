"""One FreeSWITCH channel over an outbound-socket connection: the ESL session layer.

Everything the engine and the nodes do to a call goes through a `Channel`, and the ESL wire
details stay here (read `../shared/freeswitch/FINDINGS.md` before changing them):

- One reader greenlet per connection, owned by the channel and stopped by `close()`. It
  parses frames as they arrive and routes them: command replies to their waiters in the
  order the commands were sent (FreeSWITCH reads one command at a time off the socket and
  answers each in turn, so several may be written at once, as the opening is), execute
  completions to the waiter holding that `Application-UUID`, DTMF to the digit buffer, the
  hangup to every waiter at once.
- Every execute carries a fresh `Event-UUID` and `event-lock: true` and waits for the
  CHANNEL_EXECUTE_COMPLETE whose `Application-UUID` matches, with a timeout. Without
  event-lock queued executes nest inside each other; matching on the application name would
  confuse two plays.
- A hangup (CHANNEL_HANGUP, a disconnect notice without linger, or the socket closing) ends
  every wait with one exception, `CallEnded`. A *linger* disconnect notice is not the end of
  the stream: the running app's completion and CHANNEL_HANGUP_COMPLETE still follow it.
- After a hangup FreeSWITCH still answers `sendmsg` with +OK and then does nothing, so no
  command is sent on an ended channel: `CallEnded` is raised instead.
- A command that times out is broken with `uuid_break` so it cannot block the next one.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import re
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

import gevent
from gevent.event import AsyncResult
from gevent.event import Event as Flag
from gevent.lock import Semaphore

from controller import logs, metrics
from controller.esl.messages import ChannelVariables, Event, Reply, parse_event, parse_reply
from controller.esl.protocol import (
    OPENING_COMMANDS,
    FrameReader,
    ProtocolError,
    encode_api,
    encode_command,
    encode_sendmsg_execute,
    opening,
)
from controller.esl.replies import ReplyMustBeOk, ReplyQueue, Waiter
from controller.exceptions import CallEnded, CommandTimeout, ESLError, NotConnected

log = logging.getLogger("callflow.esl")

RECV_BYTES = 65536
_CAUSE = re.compile(r"^[A-Z_]{3,40}$")
SOCKET_CLOSED = "SOCKET_CLOSED"
# Event-UUIDs: FreeSWITCH echoes them as the Application-UUID of the execute's events, and
# only their uniqueness matters. A random per-process prefix and a counter are unique across
# processes and cost a fraction of a uuid4 (four or more per call).
_EXECUTION_PREFIX = f"{uuid.uuid4()}-"
_EXECUTION_NUMBERS = itertools.count(1)


def _idle() -> None:
    """The default checkpoint: nothing to let in."""


class Channel:
    """The channel FreeSWITCH handed to us; see the module docstring for the guarantees."""

    def __init__(
        self,
        sock: Any,
        *,
        command_timeout: float = 5.0,
        checkpoint: Callable[[], None] | None = None,
    ) -> None:
        self._sock = sock
        # Called after each read and before each write: the server lets new calls in there
        # when the hub is busy (Listener.accept_if_due).
        self._checkpoint = checkpoint or _idle
        self._frames = FrameReader()
        self.command_timeout = command_timeout
        self._command_lock = Semaphore()
        self._replies = ReplyQueue()
        self._executions: dict[str, AsyncResult] = {}
        self._digits: deque[str] = deque()
        self._digit_arrived = Flag()
        self._ended = Flag()
        self._hangup_complete = Flag()
        self._closed = False
        self._reader: gevent.Greenlet | None = None
        self.uuid = ""
        # The channel's variables as `connect` reported them. Results are read from the event
        # that completes each command, never from here: copying every event's ~150 headers
        # into one dict was a tenth of the controller's CPU per call, for nothing.
        self.variables: Mapping[str, str] = {}
        self.hangup_cause: str | None = None
        self.hangup_by: str | None = None
        self.socket_mode = ""
        self.last_execute: Event | None = None  # the latest CHANNEL_EXECUTE (when an app began)
        self._executes_watched = False  # CHANNEL_EXECUTE subscribed (watch_executes)
        self.listeners: list[Callable[[Event], None]] = []

    # -- lifecycle ------------------------------------------------------------------------

    def start(
        self,
        *,
        linger_seconds: int,
        timeout: float | None = None,
        connect_timeout: float | None = None,
        opening_sent: bool = False,
    ) -> None:
        """`connect`, `myevents`, `linger N`: after this the channel is ready for commands.

        `opening_sent`: the server already wrote `opening(linger_seconds)` as its very first
        act on the new socket (in a burst of calls, FreeSWITCH hears back before any per-call
        set-up). `connect_timeout` (default: `timeout`): how long the far end has to answer
        `connect` with a channel; `NotConnected` if it does not (then this is no call)."""
        # The reader works for this call: its lines (and its listeners') name the call.
        self._reader = gevent.spawn(logs.in_this_context(self._read_loop))
        limit = timeout or self.command_timeout
        with self._command_lock:
            pending = [AsyncResult() for _ in range(OPENING_COMMANDS)]
            wait = connect_timeout or limit
            try:
                self._send(opening(linger_seconds), *pending, send=not opening_sent)
                reply = pending[0].get(timeout=wait)
            except gevent.Timeout:
                raise NotConnected("timeout", f"no reply to connect within {wait:g} s") from None
            except CallEnded:
                raise NotConnected("closed", "closed before replying to connect") from None
            self.variables = ChannelVariables(reply.event)
            self.uuid = reply.header("Unique-ID") or self.variables.get("uuid", "") or ""
            if not self.uuid:
                raise NotConnected("invalid", "the reply to connect names no channel")
            deadline = time.monotonic() + limit
            try:
                events, unread, linger = [
                    p.get(timeout=max(0.0, deadline - time.monotonic())) for p in pending[1:]
                ]
            except gevent.Timeout:
                raise CommandTimeout("no reply to myevents, nixevent or linger") from None
        self.socket_mode = reply.header("Socket-Mode") or ""
        if self.socket_mode != "async":
            # `socket host:port` without `async full` (or an unquoted &socket() in an
            # originate): FreeSWITCH then refuses linger/event/api with "-ERR command not found".
            raise ESLError(
                f"the socket app runs in {self.socket_mode or 'unknown'} mode; the dialplan must "
                "use `socket <host:port> async full`"
            )
        self._expect_ok(events, "myevents")
        if not unread.ok:  # only more events to read than needed: not worth failing the call
            log.debug("channel %s: nixevent refused: %s", self.uuid, unread.text.strip())
        self._expect_ok(linger, "linger")

    def close(self) -> None:
        """Close the socket and stop the reader. Safe to call more than once."""
        if self._closed:
            return
        self._closed = True
        # Closing wakes the reader's recv() with EBADF, which it takes for the end it is
        # (`_closed`), not for FreeSWITCH dropping the connection; nobody waits for it.
        reader, self._reader = self._reader, None
        with contextlib.suppress(OSError):
            self._sock.close()
        if reader is not None and reader is not gevent.getcurrent():
            reader.kill(block=False)
        self._mark_ended(SOCKET_CLOSED, "controller")

    @property
    def ended(self) -> bool:
        return self._ended.is_set()

    def wait_hangup_complete(self, timeout: float) -> bool:
        """After a hangup, wait a little for CHANNEL_HANGUP_COMPLETE (final cause, billsec)."""
        return self._hangup_complete.wait(timeout)

    def wait_ended(self, timeout: float) -> bool:
        return self._ended.wait(timeout)

    # -- commands ---------------------------------------------------------------------------

    def execute(self, app: str, arg: str = "", *, timeout: float) -> Event:
        """Run a dialplan application and return its CHANNEL_EXECUTE_COMPLETE event."""
        self.raise_if_ended()
        event_uuid = f"{_EXECUTION_PREFIX}{next(_EXECUTION_NUMBERS)}"
        done = AsyncResult()
        self._executions[event_uuid] = done
        try:
            # FreeSWITCH answers an execute with +OK at once (async mode); what matters is the
            # completion. So the reply is checked by the reader as it passes (a refusal fails
            # `done`) and this greenlet wakes once, for the completion.
            started = time.monotonic()
            with self._command_lock:  # held while writing only: no other command mid-write
                self._send(
                    encode_sendmsg_execute(app, arg, event_uuid=event_uuid, event_lock=True),
                    ReplyMustBeOk(done, f"execute {app}"),
                )
            try:
                event = done.get(timeout=timeout)
                metrics.child(metrics.COMMAND_SECONDS, app).observe(time.monotonic() - started)
                return event
            except gevent.Timeout:
                self._break()
                raise CommandTimeout(f"{app} did not complete within {timeout:g} s") from None
        finally:
            self._executions.pop(event_uuid, None)

    def subscribe(self, *events: str, timeout: float | None = None) -> None:
        """Add event subscriptions beyond `myevents`, e.g. ("CUSTOM", "avmd::beep"): mod_avmd's
        events reach the socket only when subscribed by name."""
        for name in events:
            if not name.replace("::", "").replace("_", "").isalnum():
                raise ESLError(f"not an event name: {name!r}")
        self._expect_ok(
            self._command(encode_command("event plain " + " ".join(events)), timeout), "event"
        )

    def watch_executes(self, *, timeout: float | None = None) -> None:
        """Have FreeSWITCH send CHANNEL_EXECUTE from now on (`last_execute`: when an
        application began, on FreeSWITCH's clock). The opening leaves it out: most calls never
        read it, and it is one more event per application."""
        if not self._executes_watched:
            self.subscribe("CHANNEL_EXECUTE", timeout=timeout)
            self._executes_watched = True

    def api(self, command: str, *, timeout: float | None = None) -> str:
        """An `api` command over this socket; returns the body (-ERR bodies raise)."""
        reply = self._command(encode_api(command), timeout)
        if reply.text.startswith("-ERR"):
            raise ESLError(f"api {command.split(maxsplit=1)[0]}: {reply.text.strip()}")
        return reply.text

    def hangup(self, cause: str, *, timeout: float | None = None) -> None:
        """Hang up with `cause` and wait until FreeSWITCH reports the hangup."""
        if self.ended:
            return
        if not _CAUSE.fullmatch(cause):
            raise ESLError(f"not a hangup cause: {cause!r}")
        self.hangup_by = self.hangup_by or "controller"
        # `api uuid_kill`, not `sendmsg hangup`: FreeSWITCH reads a sendmsg only after the
        # event-locked application in progress ends (a call stopped mid-prompt would wait for
        # the prompt), while an api command acts at once. What is waited for is the hangup;
        # the reply only matters when it is a refusal.
        refused = AsyncResult()
        with self._command_lock:
            self._send(
                encode_api(f"uuid_kill {self.uuid} {cause}"),
                ReplyMustBeOk(refused, "api uuid_kill"),
            )
        gevent.wait([self._ended, refused], timeout=timeout or self.command_timeout, count=1)
        if refused.ready() and not self._ended.is_set():
            refused.get()  # raises: FreeSWITCH refused, or the connection ended

    # -- digits -----------------------------------------------------------------------------

    def take_digits(self) -> str:
        """Every digit pressed since the last call (type-ahead), oldest first."""
        digits = "".join(self._digits)
        self._digits.clear()
        self._digit_arrived.clear()
        return digits

    def wait_digit(self, timeout: float) -> bool:
        """Wait until a digit is buffered (or the call ends); True when one is there."""
        if self._digits:
            return True
        self.raise_if_ended()
        gevent.wait([self._digit_arrived, self._ended], timeout=timeout, count=1)
        self.raise_if_ended()
        return bool(self._digits)

    # -- internals --------------------------------------------------------------------------

    def raise_if_ended(self) -> None:
        """Raise `CallEnded` if the call is already over."""
        if self._ended.is_set():
            raise CallEnded(self.hangup_cause or SOCKET_CLOSED, by=self.hangup_by or "caller")

    def _command(self, data: bytes, timeout: float | None, *, send: bool = True) -> Reply:
        return self._exchange(data, 1, timeout, send=send)[0]

    def _exchange(
        self, data: bytes, replies: int, timeout: float | None, *, send: bool = True
    ) -> list[Reply]:
        """Write `data` (`replies` commands) and wait for their replies, in order."""
        with self._command_lock:
            pending = [AsyncResult() for _ in range(replies)]
            self._send(data, *pending, send=send)
            deadline = time.monotonic() + (timeout or self.command_timeout)
            try:
                return [p.get(timeout=max(0.0, deadline - time.monotonic())) for p in pending]
            except gevent.Timeout:
                raise CommandTimeout(
                    f"no reply to {data.split(b' ', 1)[0].decode(errors='replace')!r}"
                ) from None

    def _send(self, data: bytes, *waiters: Waiter, send: bool = True) -> None:
        """Queue the waiters for the replies and write the commands, so that the queue and
        the socket see the commands in the same order. The caller holds `_command_lock`: a
        write that yields half-way (a full socket buffer) must not let another in."""
        # The reader is gone once the socket closed: no reply could ever arrive.
        if self._closed or (self._reader is not None and self._reader.dead):
            raise CallEnded(self.hangup_cause or SOCKET_CLOSED, by=self.hangup_by or "caller")
        self._replies.expect(waiters)
        self._checkpoint()
        try:
            if send:
                self._sock.sendall(data)
        except OSError:
            self._mark_ended(SOCKET_CLOSED, "freeswitch")
            raise CallEnded(SOCKET_CLOSED, by="freeswitch") from None

    @staticmethod
    def _expect_ok(reply: Reply, what: str) -> None:
        if not reply.ok:
            raise ESLError(f"{what}: FreeSWITCH answered {reply.text.strip()!r}")

    def _break(self) -> None:
        if self.ended or not self.uuid:
            return
        try:
            self.api(f"uuid_break {self.uuid} all")
        except (ESLError, CallEnded) as exc:
            log.warning("uuid_break %s failed: %s", self.uuid, exc)

    def _read_loop(self) -> None:
        try:
            while True:
                data = self._sock.recv(RECV_BYTES)
                if not data:
                    break
                self._checkpoint()
                for frame in self._frames.feed(data):
                    self._dispatch(frame)
        except (OSError, ProtocolError) as exc:
            if self._closed:  # we closed it (close()): not a loss
                return
            log.warning(
                "channel %s: connection lost: %s",
                self.uuid or "?",
                exc,
                extra=logs.about_call(self.uuid),
            )
        finally:
            self._mark_ended(SOCKET_CLOSED, "freeswitch")
            self._hangup_complete.set()
            ended = CallEnded(self.hangup_cause or SOCKET_CLOSED, by=self.hangup_by or "freeswitch")
            self._replies.fail_all(ended)

    def _dispatch(self, frame: Any) -> None:
        content_type = frame.content_type
        if content_type in ("command/reply", "api/response"):
            if not self._replies.deliver(parse_reply(frame)):
                log.warning(
                    "channel %s: unexpected %s",
                    self.uuid,
                    content_type,
                    extra=logs.about_call(self.uuid),
                )
        elif content_type == "text/disconnect-notice":
            # With linger the stream goes on (hangup cause, completions still come); without
            # it FreeSWITCH closes right after this notice.
            if frame.headers.get("Content-Disposition") != "linger":
                self._mark_ended(self.hangup_cause or "DISCONNECTED", "freeswitch")
        elif content_type.startswith("text/event"):
            event = parse_event(frame)
            if event is not None:
                self._on_event(event)

    def _on_event(self, event: Event) -> None:
        name = event.name
        if name == "CHANNEL_EXECUTE":
            self.last_execute = event
        if name == "CHANNEL_EXECUTE_COMPLETE":
            waiter = self._executions.get(event.get("Application-UUID", ""))
            if waiter is not None and not waiter.ready():
                waiter.set(event)
        elif name == "DTMF":
            digit = event.get("DTMF-Digit", "")
            if digit:
                self._digits.append(digit)
                self._digit_arrived.set()
        elif name == "CHANNEL_HANGUP":
            self._mark_ended(event.get("Hangup-Cause", "NORMAL_CLEARING"), "caller")
        elif name == "CHANNEL_HANGUP_COMPLETE":
            self._mark_ended(event.get("Hangup-Cause", "NORMAL_CLEARING"), "caller")
            self._hangup_complete.set()
        for listener in self.listeners:
            listener(event)

    def _mark_ended(self, cause: str, by: str) -> None:
        if self._ended.is_set():
            return
        self.hangup_cause = self.hangup_cause or cause
        self.hangup_by = self.hangup_by or by
        self._ended.set()
        ended = CallEnded(self.hangup_cause, by=self.hangup_by)
        for waiter in list(self._executions.values()):
            if not waiter.ready():
                waiter.set_exception(ended)
