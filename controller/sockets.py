"""What the call listener and the HTTP server share about sockets: the process's descriptor
table, and TCP keepalive.

Descriptors. Calls and HTTP connections come out of one table (RLIMIT_NOFILE). At start
the soft limit is raised to the hard limit (`raise_descriptor_limit`). HTTP then takes a new
connection only while more than a reserve of descriptors would stay free
(`DESCRIPTORS.room_for_http`). What is left below that reserve is for calls alone.
Counting open descriptors exactly means listing /proc/self/fd: 6 ms with 10,000 open, too
slow to do on every accept. So the table is counted now and then, and every accept since
(calls and HTTP) is added. Closes are not subtracted, so the estimate only errs high, and
HTTP may be refused too early, never too late. It is counted again, at most every
`RECOUNT_EVERY`, only when the estimate says the reserve is near.

Keepalive. A FreeSWITCH host that dies, or a network that drops everything, sends no FIN.
Without keepalive a call on such a socket waits out its longest timeout (media_timeout,
600 s by default). The probes below find such a peer in KEEPALIVE_IDLE + KEEPALIVE_INTERVAL
* KEEPALIVE_COUNT seconds (25 s). TCP_USER_TIMEOUT gives the same bound to data sent and
never acknowledged (keepalive probes stop while data is outstanding).
"""

from __future__ import annotations

import logging
import os
import resource
import socket
import time
from typing import Any

log = logging.getLogger("callflow.sockets")

KEEPALIVE_IDLE = 10  # seconds of silence before the first probe
KEEPALIVE_INTERVAL = 5  # seconds between probes
KEEPALIVE_COUNT = 3  # unanswered probes before the connection is dropped
DEAD_PEER_SECONDS = KEEPALIVE_IDLE + KEEPALIVE_INTERVAL * KEEPALIVE_COUNT
RECOUNT_EVERY = 0.25  # seconds between exact counts of the descriptor table, at most
_FD_DIRECTORIES = ("/proc/self/fd", "/dev/fd")


def set_keepalive(sock: Any) -> None:
    """Turn TCP keepalive on for `sock` (a connected TCP socket), with the timings above.
    Options the platform lacks are skipped; errors (a socket already reset) are left to the
    socket's next read or write."""
    options = [(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)]
    for name, value in (
        ("TCP_KEEPIDLE", KEEPALIVE_IDLE),
        ("TCP_KEEPINTVL", KEEPALIVE_INTERVAL),
        ("TCP_KEEPCNT", KEEPALIVE_COUNT),
        ("TCP_USER_TIMEOUT", DEAD_PEER_SECONDS * 1000),  # milliseconds
    ):
        if hasattr(socket, name):
            options.append((socket.IPPROTO_TCP, getattr(socket, name), value))
    try:
        for level, option, value in options:
            sock.setsockopt(level, option, value)
    except OSError as exc:
        log.debug("keepalive not set: %s", exc)


def raise_descriptor_limit() -> tuple[int, int]:
    """Raise the soft RLIMIT_NOFILE to the hard limit; return (before, after)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft >= hard:
        return soft, soft
    target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    except (ValueError, OSError) as exc:  # e.g. macOS refuses more than OPEN_MAX
        log.warning("could not raise the descriptor limit from %d to %d: %s", soft, target, exc)
        return soft, soft
    return soft, target


def descriptor_limit() -> int:
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def count_open_descriptors() -> int | None:
    """How many descriptors the process has open (None where no directory lists them)."""
    for directory in _FD_DIRECTORIES:
        try:
            return len(os.listdir(directory)) - 1  # listing it opened one more
        except OSError:
            continue
    return None


class DescriptorTable:
    """The process's descriptor table, as far as HTTP needs to know (see the module doc)."""

    def __init__(self) -> None:
        self._counted = 0  # open descriptors at the latest count
        self._counted_at = float("-inf")  # time.monotonic() of that count
        self._opened_since = 0  # accepts since that count (closes are not subtracted)

    def opened(self, count: int = 1) -> None:
        """`count` descriptors were just opened (an accept). Costs an addition."""
        self._opened_since += count

    def room_for_http(self, reserve: int) -> bool:
        """True while an HTTP connection just accepted leaves more than `reserve`
        descriptors free: its own is counted in. A reserve above half the limit is taken as
        half (the runner warns): /healthz must stay reachable on a small limit."""
        limit = descriptor_limit()
        ceiling = limit - min(reserve, limit // 2)
        if self._counted + self._opened_since < ceiling:
            return True
        if time.monotonic() - self._counted_at >= RECOUNT_EVERY:
            self.recount()
        return self._counted + self._opened_since < ceiling

    def recount(self) -> None:
        counted = count_open_descriptors()
        self._counted_at = time.monotonic()
        if counted is not None:  # nowhere to count: every accept keeps adding up
            self._counted, self._opened_since = counted, 0


# One descriptor table per process, so one object: the listener and HTTP both report to it.
DESCRIPTORS = DescriptorTable()
