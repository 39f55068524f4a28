"""A real HTTP client for the controller's API, usable from a gevent test.

The controller's WSGI server runs on this thread's gevent hub, and the standard library's
sockets block (nothing is monkey-patched), so each request runs on gevent's thread pool while
the hub keeps serving: real HTTP over a real socket, with no patching.
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import gevent

from controller import runner
from controller.config import Settings

KEY = "test-key-0123456789"
REQUEST_TIMEOUT = 30.0
REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True, slots=True)
class ApiResponse:
    status: int
    headers: dict[str, str]  # names in lower case
    body: bytes

    def json(self) -> Any:
        assert self.headers.get("content-type") == "application/json", self.headers
        return json.loads(self.body)


@dataclass(frozen=True, slots=True)
class ApiClient:
    host: str
    port: int
    key: str | None = KEY

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def with_key(self, key: str | None) -> ApiClient:
        return replace(self, key=key)

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        raw: bytes | Iterable[bytes] | None = None,
        headers: dict[str, str] | None = None,
    ) -> ApiResponse:
        """`body` is sent as JSON; `raw` as it is (an iterable: chunked)."""
        sent = dict(headers or {})
        if self.key is not None:
            sent.setdefault("x-api-key", self.key)
        data: Any = raw
        if body is not None:
            data = json.dumps(body).encode()
            sent.setdefault("Content-Type", "application/json")
        return gevent.get_hub().threadpool.apply(self._send, (method, path, data, sent))

    def _send(self, method: str, path: str, data: Any, headers: dict[str, str]) -> ApiResponse:
        connection = http.client.HTTPConnection(self.host, self.port, timeout=REQUEST_TIMEOUT)
        try:
            chunked = data is not None and not isinstance(data, bytes)
            connection.request(method, path, body=data, headers=headers, encode_chunked=chunked)
            response = connection.getresponse()
            received = {name.lower(): value for name, value in response.getheaders()}
            return ApiResponse(response.status, received, response.read())
        finally:
            connection.close()

    def get(self, path: str) -> ApiResponse:
        return self.request("GET", path)

    def post(self, path: str, body: Any) -> ApiResponse:
        return self.request("POST", path, body)

    def put(self, path: str, body: Any) -> ApiResponse:
        return self.request("PUT", path, body)

    def delete(self, path: str) -> ApiResponse:
        return self.request("DELETE", path)


def api_settings(tmp_path: Path, flows_dir: Path, **overrides: Any) -> Settings:
    """A controller on free loopback ports, its API open to KEY, no FreeSWITCH."""
    defaults: dict[str, Any] = {
        "flows": flows_dir,
        "audio": REPO / "audio",
        "recordings": tmp_path / "recordings",
        "records": tmp_path / "records" / "calls.jsonl",
        "programs_db": tmp_path / "programs" / "callflow.db",  # not the working directory's
        "listen": "127.0.0.1:0",
        "http_listen": "127.0.0.1:0",
        "esl": None,
        "api_keys": (KEY,),
    }
    return replace(Settings(), **{**defaults, **overrides})


def client_for(controller: runner.Controller, key: str | None = KEY) -> ApiClient:
    assert controller.http is not None, "http_listen is off"
    host, port = controller.http.address
    return ApiClient(host, port, key)
