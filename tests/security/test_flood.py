"""One unauthenticated client must not stop call handling (issue #14, section 2), over real
sockets: a slowloris crowd on the HTTP port, idle connections on the outbound-socket port,
too few descriptors, and keepalive on both kinds of socket.

Every wait has a timeout; the limits are made small through settings so the waits are short.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import gevent
import pytest
import yaml
from gevent import socket as gsocket
from gevent.event import Event
from support.api_client import KEY, api_settings, client_for
from support.harness import REPO, Harness, add_flow, build_harness, close_harness

from controller import metrics, runner
from controller.esl.serialize import encode_connect_reply
from controller.http import HttpLimits, HttpServer
from controller.simulator import Simulator
from controller.sockets import DEAD_PEER_SECONDS, KEEPALIVE_IDLE

WAIT = 20.0  # seconds: the bound on every wait below (they end far sooner)
QUICK_FLOW = {
    "name": "Quick",
    "graph": {
        "startNodeId": "answer",
        "nodes": [
            {"id": "answer", "type": "answer", "outputs": {"onSuccess": "bye"}},
            {"id": "bye", "type": "hangup", "config": {"reason": "done"}},
        ],
    },
}
HALF_SENT_GET = b"GET /healthz HTTP/1.1\r\nHost: callflow\r\nX-Slow: "


def dropped(reason: str) -> float:
    return metrics.child(metrics.HTTP_CONNECTIONS_DROPPED, reason)._value.get()


def abandoned(reason: str) -> float:
    return metrics.child(metrics.OUTBOUND_CONNECTS_ABANDONED, reason)._value.get()


def connect(address: tuple[str, int], first: bytes = b"") -> gsocket.socket:
    sock = gsocket.create_connection(address, timeout=WAIT)
    if first:
        sock.sendall(first)
    return sock


def read_to_end(sock: gsocket.socket) -> bytes:
    """Everything the server sends until it closes (a reset counts as closing); raises
    TimeoutError if it does not close within WAIT."""
    data = b""
    with contextlib.suppress(ConnectionResetError):
        while chunk := sock.recv(65536):
            data += chunk
    sock.close()
    return data


def http_get(address: tuple[str, int], path: str) -> bytes:
    sock = connect(address, f"GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n".encode())
    return read_to_end(sock)


def wait_for(condition: Callable[[], bool], what: str) -> None:
    with gevent.Timeout(WAIT, AssertionError(f"timed out waiting for {what}")):
        while not condition():
            gevent.sleep(0.01)


def server_sockets(local: tuple[str, int], peers: Iterable[tuple[str, int]]) -> list[socket.socket]:
    """This process's own ends of the connections from `peers` to `local`, found in its
    descriptor table (duplicates: closing them leaves the originals alone)."""
    wanted, found = set(peers), []
    for name in os.listdir("/proc/self/fd"):
        try:
            sock = socket.socket(fileno=os.dup(int(name)))
        except OSError:
            continue
        try:
            if sock.getsockname()[:2] == local and sock.getpeername()[:2] in wanted:
                found.append(sock)
                continue
        except OSError:
            pass
        sock.close()
    return found


def keepalive_of(sock: socket.socket) -> tuple[int, int, int]:
    return (
        sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE),
        sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE),
        sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT),
    )


# -- HTTP ------------------------------------------------------------------------------------


class HeldResponses:
    """An /api stand-in whose responses start, then wait for `release`: connections that
    are being answered, not waiting for their client."""

    def __init__(self) -> None:
        self.release = Event()
        self.started = 0

    def __call__(self, environ: dict[str, Any], start: Callable[..., Any]) -> Iterator[bytes]:
        start("200 OK", [("Content-Type", "text/plain")])
        self.started += 1
        return self._body()

    def _body(self) -> Iterator[bytes]:
        yield b"held"
        self.release.wait(WAIT)
        yield b"done"


@pytest.fixture
def http_server() -> Iterator[Callable[..., HttpServer]]:
    servers: list[HttpServer] = []

    def start(api: Any = None, **limits: Any) -> HttpServer:
        server = HttpServer(
            ("127.0.0.1", 0),
            ready=lambda: {"flows": True},
            api=api,
            limits=replace(HttpLimits(), **limits),
        )
        server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop(timeout=1)


def test_slowloris_connections_are_closed_after_the_header_timeout(
    http_server: Callable[..., HttpServer],
) -> None:
    server = http_server(header_timeout=0.5)
    before = dropped("header_timeout")
    crowd = [connect(server.address, HALF_SENT_GET) for _ in range(30)]
    # Meanwhile the server answers whoever sends a whole request.
    assert http_get(server.address, "/healthz").startswith(b"HTTP/1.1 200")
    for sock in crowd:
        assert read_to_end(sock) == b""  # closed, not answered
    assert dropped("header_timeout") - before == 30
    wait_for(lambda: server.connections == 0, "the crowd's connections to be let go")


def test_an_idle_keep_alive_connection_is_closed_like_a_slow_request(
    http_server: Callable[..., HttpServer],
) -> None:
    server = http_server(header_timeout=0.5)
    sock = connect(server.address, b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
    answer = read_to_end(sock)  # one answer, then closed at the header timeout
    assert answer.startswith(b"HTTP/1.1 200") and answer.count(b"HTTP/1.1") == 1


def test_at_the_cap_the_oldest_waiting_connection_makes_room(
    http_server: Callable[..., HttpServer],
) -> None:
    server = http_server(max_connections=5, header_timeout=60, body_timeout=60)
    before = dropped("evicted")
    crowd = [connect(server.address, HALF_SENT_GET) for _ in range(5)]
    wait_for(lambda: server.connections == 5, "five connections")
    newcomers = [connect(server.address, HALF_SENT_GET) for _ in range(3)]
    # Each newcomer took the place of the oldest of the crowd, oldest first.
    for sock in crowd[:3]:
        assert read_to_end(sock) == b""
    assert server.connections == 5
    # A whole request gets in the same way, and is answered.
    assert http_get(server.address, "/healthz").startswith(b"HTTP/1.1 200")
    assert read_to_end(crowd[3]) == b""
    assert dropped("evicted") - before == 4
    assert server.connections <= 5
    newcomers[-1].sendall(b"x\r\nConnection: close\r\n\r\n")  # the rest are still served
    assert read_to_end(newcomers[-1]).startswith(b"HTTP/1.1 200")
    for sock in [crowd[4], *newcomers[:2]]:
        sock.close()


def test_at_the_cap_with_nobody_waiting_a_new_connection_gets_503(
    http_server: Callable[..., HttpServer],
) -> None:
    held = HeldResponses()
    server = http_server(api=held, max_connections=3)
    before = dropped("over_capacity")
    answering = [
        connect(server.address, b"GET /api/x HTTP/1.1\r\nHost: t\r\n\r\n") for _ in range(3)
    ]
    wait_for(lambda: held.started == 3, "three responses under way")
    refused = read_to_end(connect(server.address, HALF_SENT_GET))
    assert refused == b"" or refused.startswith(b"HTTP/1.1 503")  # a reset may beat it
    assert dropped("over_capacity") - before == 1
    held.release.set()
    for sock in answering:
        sock.close()


def test_a_body_being_read_can_be_evicted_a_response_being_sent_cannot(
    http_server: Callable[..., HttpServer],
) -> None:
    held, stopped_bodies = HeldResponses(), []

    def api(environ: dict[str, Any], start: Callable[..., Any]) -> Iterable[bytes]:
        if environ["PATH_INFO"] == "/api/hold":
            return held(environ, start)
        try:
            environ["wsgi.input"].read(int(environ["CONTENT_LENGTH"]))
        except TimeoutError as exc:  # what the application sees of an eviction
            stopped_bodies.append(str(exc))
            start("408 Request Timeout", [("Content-Length", "0")])
            return [b""]
        start("200 OK", [("Content-Length", "0")])
        return [b""]

    server = http_server(api=api, max_connections=2, header_timeout=60, body_timeout=60)
    answering = connect(
        server.address, b"GET /api/hold HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
    )
    wait_for(lambda: held.started == 1, "a response under way")
    dripping = connect(
        server.address,
        b"PUT /api/body HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\nten bytes.",
    )
    wait_for(lambda: server.connections == 2, "the body to be read")
    assert http_get(server.address, "/healthz").startswith(b"HTTP/1.1 200")
    assert read_to_end(dripping) == b""
    assert stopped_bodies == ["connection closed (evicted)"]
    held.release.set()
    answer = read_to_end(answering)
    assert answer.startswith(b"HTTP/1.1 200") and b"held" in answer and b"done" in answer


def test_a_stalled_request_body_is_answered_408_and_closed(tmp_path: Path) -> None:
    flows = tmp_path / "flows"
    flows.mkdir()
    (flows / "quick.yaml").write_text(yaml.safe_dump(QUICK_FLOW))
    controller = runner.build(api_settings(tmp_path, flows, http_body_timeout=0.5))
    controller.start()
    try:
        assert controller.http is not None
        before = dropped("body_timeout")
        sock = connect(
            controller.http.address,
            b"PUT /api/flows/quick HTTP/1.1\r\nHost: t\r\nx-api-key: "
            + KEY.encode()
            + b'\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"name":',
        )
        answer = read_to_end(sock)
        assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
        assert b"http_body_timeout" in answer
        assert dropped("body_timeout") - before == 1
        assert client_for(controller).get("/healthz").status == 200
    finally:
        controller.stop(drain_seconds=1)


def test_http_sockets_have_keepalive(http_server: Callable[..., HttpServer]) -> None:
    server = http_server()
    client = connect(server.address, HALF_SENT_GET)
    wait_for(lambda: server.connections == 1, "the connection to be served")
    (ours,) = server_sockets(server.address, [client.getsockname()[:2]])
    assert keepalive_of(ours) == (1, KEEPALIVE_IDLE, DEAD_PEER_SECONDS * 1000)
    ours.close()
    client.close()


# -- the outbound-socket port -----------------------------------------------------------------


@pytest.fixture
def quick_harness(tmp_path: Path) -> Iterator[Harness]:
    flows = tmp_path / "flows"
    flows.mkdir()
    harness = build_harness(tmp_path, flows, connect_timeout=0.5, max_calls=5)
    add_flow(harness, "quick", QUICK_FLOW)
    try:
        yield harness
    finally:
        close_harness(harness)


def test_connections_that_never_answer_connect_are_closed_counted_and_not_recorded(
    quick_harness: Harness,
) -> None:
    """More idle connections than max_calls, and a real call among them: served."""
    before = abandoned("timeout")
    idle = [connect(quick_harness.server.address) for _ in range(40)]
    record = quick_harness.run("quick")
    assert (record.result, record.error) == ("done", None)  # the hangup node's reason
    assert quick_harness.server.active == 0
    for sock in idle:
        greeting = read_to_end(sock)  # the opening, then closed at connect_timeout
        assert greeting.startswith(b"connect\n\n")
    assert abandoned("timeout") - before == 40
    assert [r["callId"] for r in quick_harness.written_records()] == [record.callId]


def test_connections_closed_before_the_connect_reply_or_answering_nonsense_are_not_calls(
    quick_harness: Harness,
) -> None:
    closed, invalid = abandoned("closed"), abandoned("invalid")
    for _ in range(5):
        connect(quick_harness.server.address).close()
    for _ in range(5):  # a reply, but naming no channel
        sock = connect(quick_harness.server.address, b"Content-Type: command/reply\n\n")
        assert read_to_end(sock).startswith(b"connect\n\n")
    wait_for(lambda: abandoned("closed") - closed == 5, "the closed connections to be counted")
    assert abandoned("invalid") - invalid == 5
    record = quick_harness.run("quick")
    assert record.result == "done"
    assert len(quick_harness.written_records()) == 1


def test_call_sockets_have_keepalive(tmp_path: Path) -> None:
    flows = tmp_path / "flows"
    flows.mkdir()
    harness = build_harness(tmp_path, flows)
    try:
        client = connect(harness.server.address)
        assert client.recv(8) == b"connect\n"
        # Answered as FreeSWITCH does; then the call waits for the rest of its opening.
        client.sendall(encode_connect_reply([("Event-Name", "CHANNEL_DATA"), ("Unique-ID", "k")]))
        peer = client.getsockname()[:2]

        def handed_over() -> bool:  # keepalive is set as the call's greenlet starts
            found = server_sockets(harness.server.address, [peer])
            try:
                return bool(found) and keepalive_of(found[0])[0] == 1
            finally:
                for sock in found:
                    sock.close()

        wait_for(handed_over, "the call to start")
        (ours,) = server_sockets(harness.server.address, [peer])
        assert keepalive_of(ours) == (1, KEEPALIVE_IDLE, DEAD_PEER_SECONDS * 1000)
        ours.close()
        client.close()
    finally:
        close_harness(harness)


# -- the descriptor reserve -------------------------------------------------------------------

DESCRIPTOR_LIMIT = 256
RESERVE = 100


@pytest.fixture
def small_controller(tmp_path: Path) -> Iterator[tuple[dict[str, tuple[str, int]], Path]]:
    """`callflow run` whose descriptor table holds 256, of which HTTP leaves 100 to calls."""
    flows = tmp_path / "flows"
    flows.mkdir()
    (flows / "quick.yaml").write_text(yaml.safe_dump(QUICK_FLOW))
    config = tmp_path / "callflow.yaml"
    settings = {
        "flows": str(flows),
        "audio": str(REPO / "audio"),
        "recordings": str(tmp_path / "recordings"),
        "records": str(tmp_path / "records" / "calls.jsonl"),
        "listen": "127.0.0.1:0",
        "http_listen": "127.0.0.1:0",
        "esl": "",
        "programs_db": "",
        "http_max_connections": 1000,
        "http_header_timeout": 60,
        "call_fd_reserve": RESERVE,
    }
    config.write_text(yaml.safe_dump(settings))
    log = tmp_path / "controller.log"
    # Soft and hard limit lowered: `callflow run` raises the soft one to the hard one.
    start = (
        "import resource, runpy, sys; "
        f"resource.setrlimit(resource.RLIMIT_NOFILE, ({DESCRIPTOR_LIMIT}, {DESCRIPTOR_LIMIT})); "
        f"sys.argv = ['callflow', 'run', '--config', {str(config)!r}]; "
        "runpy.run_module('controller.cli', run_name='__main__')"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", start], cwd=REPO, stdout=subprocess.DEVNULL, stderr=log.open("wb")
    )
    try:
        ports: dict[str, tuple[str, int]] = {}
        pattern = r"(listening for FreeSWITCH|metrics and health) on (?:http://)?([\d.]+):(\d+)"

        def found() -> bool:
            for match in re.finditer(pattern, log.read_text()):
                name = "socket" if match.group(1).startswith("listening") else "http"
                ports[name] = (match.group(2), int(match.group(3)))
            assert process.poll() is None, log.read_text()
            return len(ports) == 2

        wait_for(found, "the controller to listen")
        yield ports, log
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=WAIT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=WAIT)


def test_http_never_takes_the_descriptors_kept_for_calls(
    small_controller: tuple[dict[str, tuple[str, int]], Path],
) -> None:
    ports, log = small_controller
    assert f"descriptor limit (RLIMIT_NOFILE) {DESCRIPTOR_LIMIT}; " in log.read_text()
    crowd = [connect(ports["http"], HALF_SENT_GET) for _ in range(DESCRIPTOR_LIMIT)]
    # The table is full as far as HTTP may fill it: a whole request is refused too.
    assert http_get(ports["http"], "/healthz").startswith(b"HTTP/1.1 503")
    simulator = Simulator(controller=ports["socket"])
    try:
        calls = [
            simulator.place_call(variables={"callflow_flow": "quick"}, answered=False)
            for _ in range(RESERVE // 2)
        ]
        for call in calls:  # every call is served from the reserve
            outcome = call.wait(WAIT)
            assert outcome.error is None and "answer" in outcome.app_names, outcome
    finally:
        simulator.close()
    for sock in crowd:
        sock.close()
    # Once the crowd has gone (descriptors counted again), HTTP serves again.
    wait_for(
        lambda: http_get(ports["http"], "/healthz").startswith(b"HTTP/1.1 200"),
        "HTTP to serve again",
    )
    exported = http_get(ports["http"], "/metrics").decode()
    refused = re.search(
        r'callflow_http_connections_dropped_total\{reason="descriptor_reserve"\} (\S+)', exported
    )
    assert refused and float(refused.group(1)) >= RESERVE  # 256 tried, at most 156 taken
