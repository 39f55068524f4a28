"""The controller's HTTP side: /metrics for Prometheus, /healthz and /readyz for orchestrators,
and the flows and calls API under /api (`controller.api`, which checks its own keys).

gevent's WSGI server, in the same process and event loop as the calls, and anyone who can
reach the port may connect. So no client can hold the server, or the descriptors calls
need (`HttpLimits`, `_GuardedServer`):
- a request's line and headers must arrive within `header_timeout` in all (an idle
  keep-alive connection waits for its next request under the same clock); a body, or a
  response being sent, may stall for `body_timeout` at most (408 for a stalled body);
- at most `max_connections` are served at once. At the cap a new connection closes the one
  that has waited longest for its client (headers, or a body being read), so a slowloris
  crowd cannot keep /healthz out; with none waiting, the new one gets 503 and is closed;
- a connection that would leave `fd_reserve` descriptors or fewer free gets 503 and is
  closed: those are the calls' (controller/sockets.py);
- TCP keepalive on every connection.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from gevent.pywsgi import WSGIHandler, WSGIServer
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from controller import metrics
from controller.metrics import REGISTRY
from controller.sockets import DESCRIPTORS, set_keepalive

log = logging.getLogger("callflow.http")

StartResponse = Callable[[str, list[tuple[str, str]]], Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


# Connections the kernel queues until accepted (gevent's default: 256). A crowd arriving at
# once must not fill it: a probe's SYN dropped there waits a second to be sent again.
BACKLOG = 2048
REFUSED = b"HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"


@dataclass(frozen=True, slots=True)
class HttpLimits:
    """What one HTTP client may hold (settings http_max_connections, http_header_timeout,
    http_body_timeout, call_fd_reserve)."""

    max_connections: int = 256
    header_timeout: float = 10.0
    body_timeout: float = 10.0
    fd_reserve: int = 1024

    @classmethod
    def from_settings(cls, settings: Any) -> HttpLimits:
        return cls(
            max_connections=settings.http_max_connections,
            header_timeout=settings.http_header_timeout,
            body_timeout=settings.http_body_timeout,
            fd_reserve=settings.call_fd_reserve,
        )


class HttpServer:
    def __init__(
        self,
        address: tuple[str, int],
        *,
        ready: Callable[[], dict[str, bool]],
        api: WsgiApp | None = None,
        limits: HttpLimits | None = None,
    ) -> None:
        """`ready` says, per dependency, whether it is ready (all true: /readyz is 200);
        `api` answers every path under /api."""
        self.ready = ready
        self.api = api
        self.limits = limits or HttpLimits()
        self._server = _GuardedServer(address, self._app, self.limits)

    @property
    def address(self) -> tuple[str, int]:
        return self._server.address[0], self._server.address[1]

    @property
    def connections(self) -> int:
        """Connections being served (those closed by a limit no longer count)."""
        return self._server.open

    def start(self) -> None:
        DESCRIPTORS.recount()
        self._server.start()
        log.info("metrics and health on http://%s:%d/", *self.address)

    def stop(self, timeout: float = 2.0) -> None:
        self._server.stop(timeout=timeout)

    def _app(self, environ: dict[str, Any], start: StartResponse) -> Iterable[bytes]:
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "GET")
        if path == "/api" or path.startswith("/api/"):
            if self.api is None:
                return _json(start, "404 Not Found", {"error": "the API is not served here"})
            return self.api(environ, start)
        if method != "GET":
            return _json(start, "405 Method Not Allowed", {"error": "only GET is served here"})
        if path == "/metrics":
            start("200 OK", [("Content-Type", CONTENT_TYPE_LATEST)])
            return [generate_latest(REGISTRY)]
        if path == "/healthz":
            return _json(start, "200 OK", {"status": "ok"})
        if path == "/readyz":
            checks = self.ready()
            status = "200 OK" if all(checks.values()) else "503 Service Unavailable"
            return _json(start, status, {"ready": all(checks.values()), "checks": checks})
        return _json(start, "404 Not Found", {"error": f"no such path: {path}"})


def _json(start: StartResponse, status: str, body: dict[str, Any]) -> list[bytes]:
    data = json.dumps(body).encode()
    start(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]


class _Connection:
    """One HTTP connection, as the limits see it. It is "waiting" while the server waits for
    its client (from accept, or the end of the previous response, until the request's
    headers are in; and while the application reads the body): such a connection may be
    evicted at the cap, oldest first. Never while the application works on a request."""

    __slots__ = ("counted", "dropped", "server", "sock", "timer")

    def __init__(self, sock: Any, server: _GuardedServer) -> None:
        self.sock = sock
        self.server = server
        self.timer: Any = None
        self.dropped: str | None = None  # why the server closed it
        self.counted = True  # counted in server.open

    def awaiting_request(self) -> None:
        """From accept (evictable at once: in a burst its greenlet has not run yet) and
        again after each response, for the next request on the connection."""
        if self in self.server.waiting:
            return  # the first request: waited for since accept
        self.server.waiting[self] = None  # the newest waiter (dicts keep insertion order)
        self._stop_timer()
        self.timer = self.server.loop.timer(self.server.limits.header_timeout)
        self.timer.start(self.drop, "header_timeout")

    def headers_read(self) -> None:
        """The application has the request now: not evictable again until it reads the
        body (`reading_body`) or the response is over."""
        self._stop_timer()
        self.server.waiting.pop(self, None)

    def reading_body(self, reading: bool) -> None:
        """Waiting for the client again while a body read is under way."""
        if self.dropped:
            return
        if reading:
            self.server.waiting[self] = None
        else:
            self.server.waiting.pop(self, None)

    def responding(self) -> None:
        self.server.waiting.pop(self, None)

    def drop(self, reason: str) -> None:
        """Close it for `reason`, from any greenlet or the hub: shutting the socket down
        wakes whatever waits on it with an end of file."""
        if self.dropped:
            return
        self.dropped = reason
        metrics.child(metrics.HTTP_CONNECTIONS_DROPPED, reason).inc()
        self.done()
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)

    def done(self) -> None:
        self._stop_timer()
        self.server.waiting.pop(self, None)
        if self.counted:
            self.counted = False
            self.server.open -= 1
            metrics.HTTP_CONNECTIONS.dec()

    def _stop_timer(self) -> None:
        if self.timer is not None:
            self.timer.stop()
            self.timer.close()
            self.timer = None


class _GuardedServer(WSGIServer):
    """gevent's WSGI server with the limits in the module docstring."""

    def __init__(self, address: tuple[str, int], app: WsgiApp, limits: HttpLimits) -> None:
        super().__init__(
            address, app, log=None, error_log=log, handler_class=_Handler, backlog=BACKLOG
        )
        self.limits = limits
        self.open = 0
        self.connections: dict[Any, _Connection] = {}  # by socket
        self.waiting: dict[_Connection, None] = {}  # oldest first

    def do_read(self) -> Any:
        try:
            return super().do_read()
        except OSError as exc:
            if exc.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                # gevent pauses accepting (growing delay) on any accept error; the call
                # listener has its own reserve, so this only delays HTTP clients.
                log.warning("HTTP cannot accept: %s", exc)
            raise

    def do_handle(self, sock: Any, address: Any) -> None:
        DESCRIPTORS.opened()
        if not DESCRIPTORS.room_for_http(self.limits.fd_reserve):
            return self._refuse(sock, "descriptor_reserve")
        if self.open >= self.limits.max_connections and not self._evict_oldest():
            return self._refuse(sock, "over_capacity")
        self.open += 1
        metrics.HTTP_CONNECTIONS.inc()
        connection = self.connections[sock] = _Connection(sock, self)
        connection.awaiting_request()
        sock.settimeout(self.limits.body_timeout)  # every read and write: the idle bound
        set_keepalive(sock)
        super().do_handle(sock, address)

    def do_close(self, sock: Any, *args: Any) -> None:
        connection = self.connections.pop(sock, None)
        if connection is not None:
            connection.done()
        super().do_close(sock, *args)

    def _evict_oldest(self) -> bool:
        oldest = next(iter(self.waiting), None)
        if oldest is None:
            return False
        oldest.drop("evicted")
        return True

    @staticmethod
    def _refuse(sock: Any, reason: str) -> None:
        metrics.child(metrics.HTTP_CONNECTIONS_DROPPED, reason).inc()
        sock.settimeout(0)  # a fresh socket's buffer takes 80 bytes; never wait for it
        with contextlib.suppress(OSError):
            sock.send(REFUSED)
        sock.close()


class _Handler(WSGIHandler):
    """gevent's handler, telling the connection where it is in each request."""

    ignored_socket_errors = (*WSGIHandler.ignored_socket_errors, errno.ENOTCONN, errno.ETIMEDOUT)

    def __init__(self, sock: Any, address: Any, server: _GuardedServer) -> None:
        super().__init__(sock, address, server)
        self.connection = server.connections[sock]

    def handle(self) -> None:
        try:
            super().handle()
        except OSError:  # the client left while being told its request was bad
            self.close_connection = True

    def handle_one_request(self) -> Any:
        self.connection.awaiting_request()
        return super().handle_one_request()

    def read_request(self, raw_requestline: str) -> bool:
        parsed = super().read_request(raw_requestline)
        self.connection.headers_read()
        return parsed

    def handle_one_response(self) -> None:
        if self.connection.dropped:  # its headers were cut short: nothing to answer
            self.close_connection = True
            return
        super().handle_one_response()

    def start_response(self, status: Any, headers: Any, exc_info: Any = None) -> Any:
        self.connection.responding()
        return super().start_response(status, headers, exc_info)

    def get_environ(self) -> Any:
        environ = super().get_environ()
        environ["wsgi.input"] = _StallGuard(environ["wsgi.input"], self)
        return environ

    def _handle_client_error(self, ex: BaseException) -> Any:
        if self.connection.dropped or isinstance(ex, OSError):
            return None  # cut off, stalled or gone mid-headers: close without an answer
        return super()._handle_client_error(ex)

    def handle_error(self, t: Any, v: Any, tb: Any) -> None:
        if isinstance(v, TimeoutError):  # a response the client stopped reading
            metrics.child(metrics.HTTP_CONNECTIONS_DROPPED, "body_timeout").inc()
            self.close_connection = True
            return
        super().handle_error(t, v, tb)


class _StallGuard:
    """The request body as the application reads it. A read that stalls for body_timeout
    raises TimeoutError (the API answers 408); the connection then closes, and what is
    left of the body is not waited for (the read side is shut)."""

    __slots__ = ("_handler", "_input")

    def __init__(self, stream: Any, handler: _Handler) -> None:
        self._input = stream
        self._handler = handler

    def read(self, length: int | None = None) -> bytes:
        return self._guarded(self._input.read, length)

    def readline(self, size: int | None = None) -> bytes:
        return self._guarded(self._input.readline, size)

    def readlines(self, hint: int | None = None) -> list[bytes]:
        return list(iter(self.readline, b""))

    def __iter__(self) -> Any:
        return iter(self.readline, b"")

    def _guarded(self, read: Callable[[int | None], bytes], size: int | None) -> bytes:
        connection = self._handler.connection
        connection.reading_body(True)
        try:
            return read(size)
        except TimeoutError:
            metrics.child(metrics.HTTP_CONNECTIONS_DROPPED, "body_timeout").inc()
            self._handler.close_connection = True
            with contextlib.suppress(OSError):
                self._handler.socket.shutdown(socket.SHUT_RD)
            raise
        except OSError:
            if not connection.dropped:
                raise
            # Evicted at the cap, or past the header deadline: for the application, the
            # body stopped arriving.
            raise TimeoutError(f"connection closed ({connection.dropped})") from None
        finally:
            connection.reading_body(False)
