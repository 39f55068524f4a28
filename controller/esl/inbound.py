"""The inbound event-socket connection to FreeSWITCH (port 8021): originates and their results.

One connection per controller process, kept up for its whole life: it authenticates,
subscribes to BACKGROUND_JOB, CHANNEL_HANGUP_COMPLETE and HEARTBEAT, and reconnects with
backoff when FreeSWITCH restarts. `bgapi` sends a command with a Job-UUID chosen here and
returns an `AsyncResult` that the BACKGROUND_JOB with that Job-UUID resolves; when the
connection is lost, every job still pending fails with `ESLError` at once (a dial then takes
`onError`) instead of waiting for a result that will never come.

A FreeSWITCH that stops without closing anything (SIGSTOP, a stuck event thread, a network
path that drops packets) leaves the TCP connection open, so a closed socket is not the only
sign of a lost one. FreeSWITCH fires HEARTBEAT every 20 s (switch.conf.xml's
`event-heartbeat-interval`): nothing at all for `silence_timeout` seconds, or no reply to a
command in `timeout`, and the connection is treated as dead: closed, `connected` false
(/readyz not ready), reconnected. A reply that comes late would be paired with the next
command, so after a command timeout the connection is never reused. TCP keepalive covers a
peer whose host vanished (no RST ever comes); it cannot see a stopped process whose kernel
still answers, which is what the heartbeat is for.
"""

from __future__ import annotations

import contextlib
import logging
import uuid as uuidlib
from collections import deque
from collections.abc import Callable

import gevent
from gevent import socket as gsocket
from gevent.event import AsyncResult
from gevent.event import Event as Flag
from gevent.lock import Semaphore

from controller import metrics
from controller.esl.messages import Event, Reply, parse_event, parse_reply
from controller.esl.protocol import (
    Frame,
    FrameReader,
    ProtocolError,
    encode_api,
    encode_command,
)
from controller.exceptions import CommandTimeout, ESLError

log = logging.getLogger("callflow.esl.inbound")

RECV_BYTES = 65536
BACKOFF_START, BACKOFF_MAX = 0.5, 30.0
SUBSCRIPTION = "event plain BACKGROUND_JOB CHANNEL_HANGUP_COMPLETE HEARTBEAT"
SILENCE_TIMEOUT = 50.0  # two of FreeSWITCH's 20 s heartbeats, and a margin
# TCP keepalive: the first probe after 10 s idle, then every 5 s; 3 unanswered and the
# kernel reports the connection dead (~25 s, where Linux's default takes over 2 hours).
KEEPALIVE_IDLE, KEEPALIVE_INTERVAL, KEEPALIVE_COUNT = 10, 5, 3

HangupListener = Callable[[Event], None]
JobListener = Callable[[Event], None]


class EventSocketSilent(ESLError):
    """The connection is open but FreeSWITCH said nothing in time: treated as dead."""


class CommandNotRun(ESLError):
    """The command will not run: refused before any of it was written (FreeSWITCH never
    saw it), or refused by FreeSWITCH's reply."""


def enable_keepalive(
    sock: gsocket.socket,
    idle: int = KEEPALIVE_IDLE,
    interval: int = KEEPALIVE_INTERVAL,
    count: int = KEEPALIVE_COUNT,
) -> None:
    """SO_KEEPALIVE with probe timings (where the platform has the TCP_KEEP* options)."""
    sock.setsockopt(gsocket.SOL_SOCKET, gsocket.SO_KEEPALIVE, 1)
    for option, value in (
        ("TCP_KEEPIDLE", idle),
        ("TCP_KEEPINTVL", interval),
        ("TCP_KEEPCNT", count),
    ):
        if hasattr(gsocket, option):
            sock.setsockopt(gsocket.IPPROTO_TCP, getattr(gsocket, option), value)


class EventSocketClient:
    def __init__(
        self,
        host: str,
        port: int,
        password: str,
        *,
        timeout: float = 5.0,
        silence_timeout: float = SILENCE_TIMEOUT,
    ) -> None:
        self.address = (host, port)
        self._password = password
        self.timeout = timeout
        self.silence_timeout = silence_timeout
        self._sock: gsocket.socket | None = None
        self._frames = FrameReader()
        self._handshake: deque[Frame] = deque()
        self._lock = Semaphore()  # one command in flight: replies come back in order
        self._reply: AsyncResult | None = None
        self._jobs: dict[str, AsyncResult] = {}
        self._hangup_listeners: dict[str, HangupListener] = {}
        self._unclaimed_job_listener: JobListener | None = None
        self._dead: str | None = None  # why the current connection was given up
        self._connected = Flag()
        self._stopped = False
        self._runner: gevent.Greenlet | None = None
        self.reconnects = 0
        self.given_up = 0  # connections closed here: FreeSWITCH silent, or no reply in time
        self.last_error: str | None = None

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> None:
        """Connect in the background, and keep reconnecting until `close()`."""
        if self._runner is None:
            self._runner = gevent.spawn(self._run)

    def close(self) -> None:
        self._stopped = True
        runner, self._runner = self._runner, None
        if runner is not None:
            runner.kill(block=True, timeout=2)
        self._drop("closed")

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def wait_connected(self, timeout: float) -> bool:
        return self._connected.wait(timeout)

    # -- commands ---------------------------------------------------------------------------

    def bgapi(self, command: str) -> AsyncResult:
        """Send `bgapi <command>`; the result resolves with the job's body text."""
        if not self.connected:
            raise CommandNotRun(
                f"not connected to FreeSWITCH's event socket at {self._where()}: "
                f"{self.last_error or 'connecting'}"
            )
        job_uuid = str(uuidlib.uuid4())
        try:
            data = encode_api(command, {"Job-UUID": job_uuid}, background=True)
        except ProtocolError:
            # Not the command in the message: it may carry contact data, and this is logged.
            name = command.partition(" ")[0]
            raise CommandNotRun(
                f"bgapi {name}: the command holds CR, LF or NUL; not sent"
            ) from None
        result = AsyncResult()
        self._jobs[job_uuid] = result
        try:
            reply = self._command(data)
        except BaseException:
            self._jobs.pop(job_uuid, None)
            raise
        if not reply.ok:
            self._jobs.pop(job_uuid, None)
            raise CommandNotRun(f"bgapi refused: {reply.text.strip()}")
        return result

    def forget_job(self, job_uuid_result: AsyncResult) -> None:
        for key, value in list(self._jobs.items()):
            if value is job_uuid_result:
                del self._jobs[key]

    def on_unclaimed_job(self, listener: JobListener | None) -> None:
        """Call `listener` with every BACKGROUND_JOB nobody waits for (any client's, or one of
        ours that was given up). Run by the reader greenlet: it must not wait."""
        self._unclaimed_job_listener = listener

    def on_hangup(self, channel_uuid: str, listener: HangupListener | None) -> None:
        """Call `listener` with the CHANNEL_HANGUP_COMPLETE of `channel_uuid` (None: stop)."""
        if listener is None:
            self._hangup_listeners.pop(channel_uuid, None)
        else:
            self._hangup_listeners[channel_uuid] = listener

    # -- internals --------------------------------------------------------------------------

    def _where(self) -> str:
        return f"{self.address[0]}:{self.address[1]}"

    def _run(self) -> None:
        delay = BACKOFF_START
        while not self._stopped:
            try:
                self._connect()
                delay = BACKOFF_START
                self._read_loop()
            except (OSError, ProtocolError, ESLError) as exc:
                # Say it once per outage, not at every retry of the backoff (_give_up has).
                quiet = self.last_error is not None or self._dead is not None
                level = logging.DEBUG if quiet else logging.WARNING
                self.last_error = self._dead or str(exc) or type(exc).__name__
                log.log(level, "event socket %s: %s (retrying)", self._where(), self.last_error)
            self._drop(self.last_error or "connection lost")
            if self._stopped:
                return
            self.reconnects += 1
            metrics.ESL_RECONNECTS.inc()
            gevent.sleep(delay)
            delay = min(delay * 2, BACKOFF_MAX)

    def _connect(self) -> None:
        sock = gsocket.create_connection(self.address, timeout=self.timeout)
        sock.setsockopt(gsocket.IPPROTO_TCP, gsocket.TCP_NODELAY, 1)
        enable_keepalive(sock)
        self._sock = sock
        self._dead = None
        self._frames = FrameReader()
        self._handshake.clear()
        greeting = self._read_frame()
        if greeting.content_type != "auth/request":
            raise ESLError(f"expected auth/request, got {greeting.content_type!r}")
        sock.sendall(encode_command(f"auth {self._password}"))
        reply = parse_reply(self._read_frame())
        if reply is None or not reply.ok:
            raise ESLError("FreeSWITCH refused the event socket password")
        sock.sendall(encode_command(SUBSCRIPTION))
        reply = parse_reply(self._read_frame())
        if reply is None or not reply.ok:
            raise ESLError(f"event subscription refused: {reply.text if reply else '?'}")
        # From here a read waits at most silence_timeout: HEARTBEATs (or anything) reset it.
        sock.settimeout(self.silence_timeout)
        self.last_error = None
        self._connected.set()
        metrics.ESL_CONNECTED.set(1)
        log.info("connected to FreeSWITCH's event socket at %s", self._where())

    def _read_frame(self) -> Frame:
        """The next frame, during the handshake (before the reader loop runs)."""
        assert self._sock is not None
        while not self._handshake:
            data = self._sock.recv(RECV_BYTES)
            if not data:
                raise ESLError("FreeSWITCH closed the event socket")
            self._handshake.extend(self._frames.feed(data))
        return self._handshake.popleft()

    def _read_loop(self) -> None:
        assert self._sock is not None
        while self._handshake:  # events that came in the same read as the last reply
            self._dispatch(self._handshake.popleft())
        while True:
            try:
                data = self._sock.recv(RECV_BYTES)
            except TimeoutError:
                self._give_up(
                    f"nothing from FreeSWITCH for {self.silence_timeout:g} s, not even its "
                    "HEARTBEAT (stopped, or the network drops packets?)",
                    "no_events",
                )
                data = b""
            if not data or self._dead:
                raise (
                    EventSocketSilent(self._dead)
                    if self._dead
                    else ESLError("FreeSWITCH closed the event socket")
                )
            for frame in self._frames.feed(data):
                self._dispatch(frame)

    def _give_up(self, reason: str, kind: str) -> None:
        """The connection is open but cannot be trusted: close it, so that the reader loop
        ends and reconnects (with `reason` as the error)."""
        if self._dead is not None:
            return
        self._dead = reason
        self.given_up += 1
        metrics.ESL_GIVEN_UP.labels(kind).inc()
        log.warning("event socket %s: %s; reconnecting", self._where(), reason)
        self._connected.clear()  # no new command is sent on it, /readyz says not ready
        metrics.ESL_CONNECTED.set(0)
        sock = self._sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(gsocket.SHUT_RDWR)  # the reader's recv returns b""

    def _dispatch(self, frame: Frame) -> None:
        content_type = frame.content_type
        if content_type in ("command/reply", "api/response"):
            if self._reply is not None and not self._reply.ready():
                self._reply.set(parse_reply(frame))
        elif content_type == "text/disconnect-notice":
            raise ESLError("FreeSWITCH sent a disconnect notice")
        elif content_type.startswith("text/event"):
            event = parse_event(frame)
            if event is not None:
                self._on_event(event)

    def _on_event(self, event: Event) -> None:
        if event.name == "BACKGROUND_JOB":
            job = self._jobs.pop(event.get("Job-UUID", ""), None)
            if job is not None:
                job.set(event.body or "")
            elif self._unclaimed_job_listener is not None:
                self._unclaimed_job_listener(event)
        elif event.name == "CHANNEL_HANGUP_COMPLETE":
            listener = self._hangup_listeners.pop(event.get("Unique-ID", ""), None)
            if listener is not None:
                listener(event)

    def _command(self, data: bytes) -> Reply:
        with self._lock:
            sock = self._sock
            if sock is None or not self.connected:
                raise CommandNotRun("not connected to FreeSWITCH's event socket")
            self._reply = pending = AsyncResult()
            try:
                sock.sendall(data)
                return pending.get(timeout=self.timeout)
            except gevent.Timeout:
                reason = f"no reply to a command in {self.timeout:g} s"
                self._give_up(reason, "no_reply")
                raise CommandTimeout(
                    f"FreeSWITCH did not answer on the event socket: {reason}"
                ) from None
            except OSError as exc:  # part of a command may have gone: the stream is unusable
                self._give_up(f"a command could not be written: {exc}", "write_failed")
                raise ESLError(f"event socket write failed: {exc}") from None
            finally:
                self._reply = None

    def _drop(self, reason: str) -> None:
        """Forget the connection; fail whatever was waiting on it."""
        self._connected.clear()
        metrics.ESL_CONNECTED.set(0)
        sock, self._sock = self._sock, None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.close()
        failure = ESLError(f"lost FreeSWITCH's event socket: {reason}")
        if self._reply is not None and not self._reply.ready():
            self._reply.set_exception(failure)
        jobs, self._jobs = self._jobs, {}
        for job in jobs.values():
            if not job.ready():
                job.set_exception(failure)
