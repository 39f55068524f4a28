"""The controller's HTTP side: /metrics for Prometheus, /healthz and /readyz for orchestrators,
and the flows and calls API under /api (`controller.api`, which checks its own keys).

gevent's WSGI server, in the same process and event loop as the calls.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from typing import Any

from gevent.pywsgi import WSGIServer
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from controller.metrics import REGISTRY

log = logging.getLogger("callflow.http")

StartResponse = Callable[[str, list[tuple[str, str]]], Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class HttpServer:
    def __init__(
        self,
        address: tuple[str, int],
        *,
        ready: Callable[[], dict[str, bool]],
        api: WsgiApp | None = None,
    ) -> None:
        """`ready` says, per dependency, whether it is ready (all true: /readyz is 200);
        `api` answers every path under /api."""
        self.ready = ready
        self.api = api
        self._server = WSGIServer(address, self._app, log=None, error_log=log)

    @property
    def address(self) -> tuple[str, int]:
        return self._server.address[0], self._server.address[1]

    def start(self) -> None:
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
