"""Helpers for the inbound-side tests (no tests here): a raw event-socket client, a simulator
with its event socket started (and the recordings' test dialplan as callees), and a bgapi
originate that collects the events up to its result. The transcript replay is in
test_inbound_replay_support.py.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import gevent
from gevent import socket as gsocket

from controller.esl.messages import Event, Reply, parse_event, parse_reply
from controller.esl.protocol import Frame, FrameReader, encode_command
from controller.simulator import Simulator

SOUND_PREFIX = "/srv/switch/share/freeswitch/sounds/test"
# The recordings' test dialplan (README "The test dialplan"), as callees.
DIALPLAN = {
    "callee-silent": "answer",
    "callee-busy": "busy",
    "callee-noanswer": "no answer",
    "callee-reject": "reject",
    "callee-unallocated": "unallocated",
    "callee-respond486": "NORMAL_CLEARING",
    "nobody-here": "NO_ROUTE_DESTINATION",
    "x": "unreachable",
}


class InboundClient:
    """The controller's end of one inbound connection; every wait has a timeout."""

    def __init__(self, address: tuple[str, int], timeout: float = 5.0) -> None:
        self.sock = gsocket.create_connection(address, timeout=timeout)
        self.sock.settimeout(None)
        self.reader = FrameReader()
        self.frames: list[Frame] = []
        self._pos = 0
        self.closed = False

    def send(self, line: str, headers: Any = None) -> None:
        self.sock.sendall(encode_command(line, headers))

    def _pump(self, timeout: float) -> bool:
        with gevent.Timeout(timeout, TimeoutError(f"nothing from the simulator in {timeout} s")):
            data = self.sock.recv(65536)
        if not data:
            self.closed = True
            return False
        self.frames.extend(self.reader.feed(data))
        return True

    def wait_count(self, count: int, timeout: float = 5.0) -> None:
        while len(self.frames) < count and not self.closed:
            self._pump(timeout)

    def next_frame(self, timeout: float = 5.0) -> Frame | None:
        while self._pos >= len(self.frames):
            if self.closed or not self._pump(timeout):
                return None
        frame = self.frames[self._pos]
        self._pos += 1
        return frame

    def next_reply(self, timeout: float = 5.0) -> Reply:
        while True:
            frame = self.next_frame(timeout)
            if frame is None:
                raise EOFError("closed while waiting for a reply")
            reply = parse_reply(frame)
            if reply is not None:
                return reply

    def command(self, line: str, headers: Any = None, timeout: float = 5.0) -> Reply:
        self.send(line, headers)
        return self.next_reply(timeout)

    def api(self, line: str, timeout: float = 5.0) -> str:
        return self.command(f"api {line}", timeout=timeout).text

    def login(self, password: str = "ClueCon") -> InboundClient:
        assert self.next_frame().content_type == "auth/request"  # type: ignore[union-attr]
        assert self.command(f"auth {password}").text == "+OK accepted"
        return self

    def next_event(self, name: str | None = None, timeout: float = 5.0) -> Event:
        while True:
            frame = self.next_frame(timeout)
            if frame is None:
                raise EOFError(f"closed while waiting for {name or 'an event'}")
            event = parse_event(frame)
            if event is not None and (name is None or event.name == name):
                return event

    def job(self, job_uuid: str, timeout: float = 5.0) -> Event:
        while True:
            event = self.next_event("BACKGROUND_JOB", timeout)
            if event.get("Job-UUID") == job_uuid:
                return event

    def until_closed(self, timeout: float = 5.0) -> list[Frame]:
        rest = []
        while (frame := self.next_frame(timeout)) is not None:
            rest.append(frame)
        return rest

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()


@contextlib.contextmanager
def inbound_sim(**options: Any) -> Iterator[tuple[Simulator, tuple[str, int]]]:
    """A simulator whose only side is the event socket (no controller), started."""
    controller = options.pop("controller", ("127.0.0.1", 9))
    sim = Simulator(controller, sounds_dir=SOUND_PREFIX, **options)
    try:
        for number, callee in DIALPLAN.items():
            sim.add_callee(number, callee)
        yield sim, sim.start_inbound()
    finally:
        sim.close()


def free_port() -> int:
    """A port nothing listens on (bound, then released)."""
    sock = gsocket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


def labels(frames: list[Frame]) -> list[str]:
    result = []
    for frame in frames:
        event = parse_event(frame)
        result.append(event.name if event else frame.content_type)
    return result


# -- originates ----------------------------------------------------------------------------------

UUID = "4c79fa9a-6c9c-4db2-8911-7b0588a69512"
SUBSCRIBE = (
    "event plain BACKGROUND_JOB CHANNEL_CREATE CHANNEL_PROGRESS CHANNEL_ANSWER CHANNEL_HANGUP "
    "CHANNEL_HANGUP_COMPLETE"
)


def start(address: tuple[str, int]) -> InboundClient:
    client = InboundClient(address).login()
    assert client.command(SUBSCRIBE).ok
    return client


def bgapi(client: InboundClient, arg: str) -> tuple[str, list[Event]]:
    """bgapi originate; returns the job's result and every event before it (and it)."""
    job = client.command(f"bgapi originate {arg}").job_uuid
    seen = []
    while True:
        event = client.next_event()
        seen.append(event)
        if event.name == "BACKGROUND_JOB" and event.get("Job-UUID") == job:
            return event.body or "", seen


def legs(events: list[Event], a_uuid: str = UUID) -> list[str]:
    """Event names with A/B for the leg (BACKGROUND_JOB as is)."""
    out = []
    for event in events:
        if event.name == "BACKGROUND_JOB":
            out.append(event.name)
        else:
            out.append(f"{event.name} {'A' if event.get('Unique-ID') == a_uuid else 'B'}")
    return out
