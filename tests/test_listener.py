"""The outbound-socket listener over real sockets: FreeSWITCH's side is plain blocking sockets,
so a connection can arrive (the kernel completes it into the backlog) while the hub is held."""

from __future__ import annotations

import errno
import logging
import socket
import struct
from collections.abc import Iterator
from typing import Any

import pytest
from gevent.event import Event

from controller import listener as listener_module
from controller.listener import Listener

GREETING = b"connect\n\nmyevents\n\n"


class Taken:
    """The listener's handler: keeps what it is given; `arrived` is set at `expected`."""

    def __init__(self, expected: int = 1) -> None:
        self.calls: list[tuple[Any, tuple[str, int], bytes]] = []
        self.expected = expected
        self.arrived = Event()

    def __call__(self, sock: Any, address: tuple[str, int], unsent: bytes) -> None:
        self.calls.append((sock, address, unsent))
        if len(self.calls) >= self.expected:
            self.arrived.set()

    def ports(self) -> list[int]:
        return [address[1] for _, address, _ in self.calls]

    def close(self) -> None:
        for sock, _, _ in self.calls:
            sock.close()


@pytest.fixture
def taken() -> Iterator[Taken]:
    handler = Taken()
    yield handler
    handler.close()


@pytest.fixture
def listening(taken: Taken) -> Iterator[Listener]:
    listener = Listener(("127.0.0.1", 0), taken, greeting=lambda: GREETING, backlog=128)
    listener.start()
    yield listener
    listener.stop()


def _dial(listener: Listener, clients: list[socket.socket]) -> socket.socket:
    """FreeSWITCH's socket app connecting (a blocking connect: the hub does not run)."""
    client = socket.create_connection(listener.address, timeout=5)
    clients.append(client)
    return client


@pytest.fixture
def clients() -> Iterator[list[socket.socket]]:
    opened: list[socket.socket] = []
    yield opened
    for client in opened:
        client.close()


def _greeting_of(client: socket.socket) -> bytes:
    data = b""
    while len(data) < len(GREETING):
        data += client.recv(4096)  # blocking, 5 s timeout: the greeting is already sent
    return data


def test_a_burst_is_greeted_in_the_order_it_arrived(
    listening: Listener, taken: Taken, clients: list[socket.socket]
) -> None:
    taken.expected = 50
    for _ in range(50):
        _dial(listening, clients)
    assert taken.arrived.wait(5)
    assert taken.ports() == [client.getsockname()[1] for client in clients]
    assert all(unsent == b"" for _, _, unsent in taken.calls)
    for client in clients:
        assert _greeting_of(client) == GREETING


def test_busy_calls_let_new_connections_in(
    listening: Listener, taken: Taken, clients: list[socket.socket], monkeypatch
) -> None:
    """The hub never runs in this test, as if one call's work kept it in one loop iteration:
    `accept_if_due`, as that call's channel calls it, takes the connection and greets it."""
    monkeypatch.setattr(listener_module, "CATCH_UP", 0.0)
    first = _dial(listening, clients)
    listening.accept_if_due()  # first look in this iteration: the hub polled before it
    assert taken.calls == []
    listening.accept_if_due()  # still the same iteration, CATCH_UP later
    assert taken.ports() == [first.getsockname()[1]]
    assert _greeting_of(first) == GREETING


def test_no_new_look_at_the_backlog_before_it_is_due(
    listening: Listener, taken: Taken, clients: list[socket.socket], monkeypatch
) -> None:
    monkeypatch.setattr(listener_module, "CATCH_UP", 3600.0)
    _dial(listening, clients)
    for _ in range(3):
        listening.accept_if_due()
    assert taken.calls == []  # not due: left to the hub's own poll...
    assert taken.arrived.wait(5)  # ...which takes it as soon as it runs


class _OutOfDescriptors:
    """The listening socket, refusing its next `refusals` accepts with EMFILE."""

    def __init__(self, real: socket.socket, refusals: int) -> None:
        self.real = real
        self.refusals = refusals

    def _accept(self) -> tuple[int, Any]:
        if self.refusals:
            self.refusals -= 1
            raise OSError(errno.EMFILE, "Too many open files")
        return self.real._accept()  # type: ignore[attr-defined]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


def test_running_out_of_descriptors_pauses_accepting_then_resumes(
    listening: Listener, taken: Taken, clients: list[socket.socket], monkeypatch, caplog
) -> None:
    monkeypatch.setattr(listener_module, "PAUSE_FIRST", 0.01)
    refusing = _OutOfDescriptors(listening._sock, refusals=2)
    monkeypatch.setattr(listening, "_sock", refusing)
    listening._pause = listener_module.PAUSE_FIRST
    client = _dial(listening, clients)
    with caplog.at_level(logging.ERROR, logger="callflow.listener"):
        assert taken.arrived.wait(5)
    assert refusing.refusals == 0
    assert [r.getMessage().split(" (")[0] for r in caplog.records] == [
        "cannot accept FreeSWITCH's calls"
    ] * 2
    assert _greeting_of(client) == GREETING


def test_a_connection_reset_before_it_is_taken_still_reaches_its_handler(
    listening: Listener, taken: Taken
) -> None:
    """Its call then finds the socket closed and writes its record (the server's part)."""
    client = socket.create_connection(listening.address, timeout=5)
    client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    client.close()  # RST while the connection waits in the backlog
    assert taken.arrived.wait(5)


def test_a_handler_that_fails_costs_only_its_own_connection(
    listening: Listener, taken: Taken, clients: list[socket.socket], monkeypatch, caplog
) -> None:
    broken_port: list[int] = []

    def handler(sock: Any, address: tuple[str, int], unsent: bytes) -> None:
        if address[1] in broken_port:
            raise RuntimeError("a bug in this call's set-up")
        taken(sock, address, unsent)

    monkeypatch.setattr(listening, "_handler", handler)
    broken = _dial(listening, clients)
    broken_port.append(broken.getsockname()[1])
    healthy = _dial(listening, clients)
    with caplog.at_level(logging.ERROR, logger="callflow.listener"):
        assert taken.arrived.wait(5)
    assert taken.ports() == [healthy.getsockname()[1]]
    assert "could not start" in caplog.text
    assert _greeting_of(broken) == GREETING
    assert broken.recv(4096) == b""  # then closed: its call never started


def test_after_stop_connections_are_refused(taken: Taken) -> None:
    listener = Listener(("127.0.0.1", 0), taken, greeting=lambda: GREETING, backlog=8)
    listener.start()
    address = listener.address
    listener.stop()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(address, timeout=5).close()
