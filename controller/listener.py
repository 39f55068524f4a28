"""The outbound-socket listener: takes FreeSWITCH's connections and greets each one first.

gevent's `StreamServer` accepts one connection, wraps it in a gevent socket and starts its
greenlet before it accepts the next: in a burst the 200th call heard back ~4 ms after the
first. Here each wake-up takes the kernel's whole backlog and writes every new call's
opening (`connect`, `myevents`, ...) straight to its descriptor, a few microseconds each,
before any per-call set-up. Only then are sockets wrapped and handlers started, in the
order the calls arrived.

The hub polls the listening socket only between loop iterations, and an iteration runs every
call that has something to read: in a burst that grew to several milliseconds. So busy calls
also offer to accept (`accept_if_due`, between their reads and writes): once the hub has been
in one iteration for `CATCH_UP`, the backlog is looked at (one poll(2)) and taken, however
much work is queued (measured: a 500-call burst's p99 went from ~2.8 to ~1.3 ms).

Running out of descriptors (EMFILE and friends) pauses accepting with a growing delay
(logged, like gevent's server) instead of spinning; connections wait in the listen backlog.
HTTP never takes the last `call_fd_reserve` descriptors (controller/sockets.py): they are
left for the calls accepted here.

With `reply_timeout`, a greeted connection is handed over only once it has something to
read (FreeSWITCH answers `connect` at once). One still silent after `reply_timeout()`, or
closed before a word, is closed and reported (`on_silent`: "timeout" or "closed"). Until
then it costs a watcher and a deque entry, no greenlet: 5,000 idle connections a few
seconds at a time cost the calls little (docs/bench-security.md; with a greenlet and a
channel each, bursts of them held the hub for hundreds of milliseconds).
"""

from __future__ import annotations

import contextvars
import errno
import logging
import os
import select
import socket
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import gevent
from gevent import socket as gsocket

from controller.sockets import DESCRIPTORS

log = logging.getLogger("callflow.listener")

MAX_ACCEPT = 1000  # connections taken per wake-up (gevent: 100); the rest wait for the next
CATCH_UP = 0.00025  # seconds the backlog may wait while calls keep the hub busy
PAUSE_FIRST, PAUSE_MAX = 0.05, 1.0  # seconds accepting pauses for when out of resources
# accept(2) errors that mean "no descriptor or memory for now": wait and retry.
OUT_OF_RESOURCES = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})

# Seconds between looks for silent connections past their time: often, so that each look
# closes a few (a flood's thousands at once would hold the hub).
SILENT_CHECK = 0.02

# (socket, FreeSWITCH's address, what of the greeting the kernel did not take at once)
Handler = Callable[[gsocket.socket, tuple[str, int], bytes], object]


class _Silent:
    """A greeted connection waiting for its first bytes."""

    __slots__ = ("address", "deadline", "fd", "watcher")

    def __init__(self, fd: int, address: tuple[str, int], deadline: float, watcher: Any) -> None:
        self.fd = fd
        self.address = address
        self.deadline = deadline
        self.watcher = watcher


class Listener:
    """Listens on `address`; `greeting()` is written to every new connection before
    `handler(sock, address, unsent)` is called for it from the hub (it must not block:
    spawn the call's greenlet). With `reply_timeout`, see the module docstring."""

    def __init__(
        self,
        address: tuple[str, int],
        handler: Handler,
        *,
        greeting: Callable[[], bytes],
        backlog: int,
        reply_timeout: Callable[[], float] | None = None,
        on_silent: Callable[[tuple[str, int], str], None] | None = None,
    ) -> None:
        self._handler = handler
        self._greeting = greeting
        self._reply_timeout = reply_timeout
        self._on_silent = on_silent
        # Oldest first (a lowered reply_timeout reaches new ones once the older are due);
        # those handed over stay in it until due.
        self._silent: deque[_Silent] = deque()
        self._waiting_reply: dict[int, _Silent] = {}  # by descriptor
        family, kind, proto, _, sockaddr = socket.getaddrinfo(
            address[0] or None, address[1], type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        self._sock = socket.socket(family, kind, proto)
        try:
            self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self._sock.bind(sockaddr)
            self._sock.listen(backlog)
        except OSError:
            self._sock.close()
            raise
        self._sock.setblocking(False)
        self._backlog = select.poll()  # "is a connection waiting?" without an accept's EAGAIN
        self._backlog.register(self._sock, select.POLLIN)
        self._loop = gevent.get_hub().loop
        self._watcher = self._loop.io(self._sock.fileno(), 1)  # 1: readable
        self._retry = self._loop.timer(0.0)
        self._silence_check = self._loop.timer(SILENT_CHECK, SILENT_CHECK)
        self._pause = PAUSE_FIRST
        self._stopped = False
        self._read_at = 0.0  # perf_counter of the latest look at the backlog
        self._iteration = -1  # the hub's loop iteration at that look
        self.address: tuple[str, int] = self._sock.getsockname()[:2]

    def start(self) -> None:
        self._watcher.start(self._accept_backlog)

    def stop(self) -> None:
        """Stop accepting and close the listening socket; calls already taken go on."""
        self._stopped = True
        self._watcher.stop()
        self._retry.stop()
        self._silence_check.stop()
        self._sock.close()
        for waiting in list(self._waiting_reply.values()):
            self._forget(waiting)
            os.close(waiting.fd)
        self._silent.clear()

    def accept_if_due(self) -> None:
        """Take the backlog now if the hub has been stuck in one loop iteration (it polls
        every socket once per iteration) for `CATCH_UP` since anybody looked. Not due, it
        costs a clock read; safe from any greenlet: it neither blocks nor switches."""
        now = time.perf_counter()
        if self._loop.iteration != self._iteration:
            # The hub has polled since the last look: from here on this iteration is timed.
            # (Timed from the last look alone, a busy server with no new calls would poll
            # an empty backlog every CATCH_UP.)
            self._iteration, self._read_at = self._loop.iteration, now
        elif now - self._read_at > CATCH_UP and self._watcher.active:
            if not self._backlog.poll(0):  # most often nothing: one system call
                self._read_at = now
                return
            # A fresh context: the listener's log lines are not about the call running this.
            contextvars.Context().run(self._accept_backlog)

    def _accept_backlog(self) -> None:
        self._read_at = time.perf_counter()
        greeting = self._greeting()
        taken: list[tuple[int, tuple[str, int], bytes]] = []
        for _ in range(MAX_ACCEPT):
            try:
                # The private accept gives the bare descriptor: no socket object until the
                # greeting is out (gevent's own server does the same).
                fd, address = self._sock._accept()  # type: ignore[attr-defined]
            except BlockingIOError:
                break
            except OSError as exc:
                if exc.errno in OUT_OF_RESOURCES:
                    self._pause_accepting(exc)
                    break
                log.warning("accept failed: %s", exc)  # e.g. ECONNABORTED: that one is gone
                continue
            taken.append((fd, address, self._greet(fd, greeting)))
        # Past MAX_ACCEPT the watcher fires again on the next loop iteration, after the
        # calls taken here have had their turn.
        if taken:
            self._pause = PAUSE_FIRST
            DESCRIPTORS.opened(len(taken))  # HTTP keeps clear of the calls' reserve
        for fd, address, unsent in taken:
            if self._reply_timeout is None or unsent:
                self._hand_over(fd, address, unsent)
            else:
                self._await_reply(fd, address)

    def _hand_over(self, fd: int, address: tuple[str, int], unsent: bytes) -> None:
        sock = gsocket.socket(self._sock.family, self._sock.type, fileno=fd)
        try:
            self._handler(sock, address, unsent)
        except Exception:  # a bug in one call's set-up must not stop the listener
            log.exception("call from %s:%s could not start", *address[:2])
            sock.close()

    def _await_reply(self, fd: int, address: tuple[str, int]) -> None:
        assert self._reply_timeout is not None
        watcher = self._loop.io(fd, 1)  # 1: readable (the reply, or the end)
        waiting = _Silent(fd, address, time.monotonic() + self._reply_timeout(), watcher)
        self._waiting_reply[fd] = waiting
        self._silent.append(waiting)
        watcher.start(self._replied, waiting)
        if not self._silence_check.active:
            self._silence_check.start(self._close_silent)

    def _replied(self, waiting: _Silent) -> None:
        self._forget(waiting)
        sock = socket.socket(self._sock.family, self._sock.type, fileno=waiting.fd)
        try:  # readable: the reply, or the end (peeked: the call reads it all again)
            ended = not sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
        except BlockingIOError:  # woken for nothing: the call's own wait takes over
            ended = False
        except OSError:  # reset
            ended = True
        if not ended:
            self._hand_over(sock.detach(), waiting.address, b"")
        else:
            sock.close()  # closed without a word: as cheap as a silent one
            if self._on_silent is not None:
                self._on_silent(waiting.address, "closed")
        # In a burst the hub runs hundreds of these in one loop iteration: let the backlog
        # in between, as calls do (without it a 500-call burst's p99 doubled).
        self.accept_if_due()

    def _forget(self, waiting: _Silent) -> None:
        waiting.watcher.stop()
        waiting.watcher.close()
        del self._waiting_reply[waiting.fd]

    def _close_silent(self) -> None:
        now = time.monotonic()
        while self._silent and self._silent[0].deadline <= now:
            waiting = self._silent.popleft()
            if self._waiting_reply.get(waiting.fd) is not waiting:
                continue  # handed over already (its descriptor may serve another by now)
            self._forget(waiting)
            os.close(waiting.fd)
            if self._on_silent is not None:
                self._on_silent(waiting.address, "timeout")
            self.accept_if_due()
        if not self._silent:
            self._silence_check.stop()

    @staticmethod
    def _greet(fd: int, greeting: bytes) -> bytes:
        """Write the greeting now; return what the kernel did not take (sent later by the
        call's greenlet). A connection already reset is handed over all the same: its call
        finds the socket closed and writes its record."""
        try:
            return greeting[os.write(fd, greeting) :]
        except OSError:
            return greeting

    def _pause_accepting(self, exc: OSError) -> None:
        log.error("cannot accept FreeSWITCH's calls (%s): pausing %.2f s", exc, self._pause)
        self._watcher.stop()
        self._retry.stop()
        self._retry = self._loop.timer(self._pause)
        self._retry.start(self._resume_accepting)
        self._pause = min(PAUSE_MAX, self._pause * 2)

    def _resume_accepting(self) -> None:
        if not self._stopped:
            self._watcher.start(self._accept_backlog)
