"""Test helpers: a scripted "controller" on a real TCP port and transcript replay.

`ScriptedController(script)` listens on 127.0.0.1:0 and runs `script(peer)` for each
connection the simulator makes; `Peer` sends raw ESL commands and reads frames, every wait
bounded by a timeout. `replay()` plays a recorded controller's OUT commands against the
simulator, sending each one once the simulator has sent as many frames as FreeSWITCH had by
then, and returns both frame lists for `compare()`.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gevent
from gevent.event import Event as Flag
from gevent.server import StreamServer
from support.shared import TRANSCRIPTS

from controller.esl.messages import Event, Reply, parse_event, parse_reply
from controller.esl.protocol import Frame, FrameReader, encode_command, frame_sendmsg_execute
from controller.simulator import Simulator
from controller.simulator.transcript import read_transcript

SOUNDS = "/srv/switch/share/freeswitch/sounds/test/"
# Durations (8 kHz samples / 8000) read off the recordings' playback_samples.
MEDIA: dict[str, float | None] = {
    SOUNDS + "hello.wav": 25892 / 8000,
    SOUNDS + "beep.wav": 4000 / 8000,
    SOUNDS + "1.wav": 5106 / 8000,
    SOUNDS + "2.wav": 5015 / 8000,
    SOUNDS + "9.wav": 5628 / 8000,
    SOUNDS + "greeting.wav": 4.6,
}


class Peer:
    """The controller's end of one outbound connection."""

    def __init__(self, sock: Any) -> None:
        self.sock = sock
        self.reader = FrameReader()
        self.frames: list[Frame] = []  # everything received, in order
        self._pos = 0  # frames consumed by next_frame
        self.closed = False

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _pump(self, timeout: float) -> bool:
        """Read once; False at EOF."""
        with gevent.Timeout(timeout, TimeoutError(f"no data from the simulator in {timeout} s")):
            data = self.sock.recv(65536)
        if not data:
            self.closed = True
            return False
        self.frames.extend(self.reader.feed(data))
        return True

    def next_frame(self, timeout: float = 5.0) -> Frame | None:
        """The next frame not consumed yet, or None once the socket is closed."""
        while self._pos >= len(self.frames):
            if self.closed or not self._pump(timeout):
                return None
        frame = self.frames[self._pos]
        self._pos += 1
        return frame

    def wait_count(self, count: int, timeout: float = 5.0) -> None:
        while len(self.frames) < count and not self.closed:
            self._pump(timeout)

    def command(self, line: str, headers: Any = None, timeout: float = 5.0) -> Reply:
        """Send a command; return its reply (events before it stay readable)."""
        self.send(encode_command(line, headers))
        return self.next_reply(timeout)

    def next_reply(self, timeout: float = 5.0) -> Reply:
        while True:
            frame = self.next_frame(timeout)
            if frame is None:
                raise EOFError("socket closed while waiting for a reply")
            reply = parse_reply(frame)
            if reply is not None:
                return reply

    def execute(
        self, app: str, arg: str | None = None, *, uuid: str = "app-1", lock: bool = True
    ) -> Reply:
        self.send(frame_sendmsg_execute(app, arg, event_uuid=uuid, event_lock=lock))
        return self.next_reply()

    def wait_event(self, name: str, timeout: float = 5.0, **match: str) -> Event:
        while True:
            frame = self.next_frame(timeout)
            if frame is None:
                raise EOFError(f"socket closed while waiting for {name}")
            event = parse_event(frame)
            if (
                event is not None
                and event.name == name
                and all(event.get(k.replace("_", "-")) == v for k, v in match.items())
            ):
                return event

    def until_closed(self, timeout: float = 5.0) -> list[Frame]:
        rest = []
        while (frame := self.next_frame(timeout)) is not None:
            rest.append(frame)
        return rest

    def start(self, linger: str | None = None) -> Reply:
        """connect, myevents and (optionally) a linger command; returns the connect reply."""
        connect = self.command("connect")
        assert self.command("myevents").ok
        if linger:
            assert self.command(linger).ok
        return connect


class ScriptedController:
    """A gevent StreamServer running `script(peer)` per connection; errors are kept."""

    def __init__(self, script: Callable[[Peer], None]) -> None:
        self.script = script
        self.peers: list[Peer] = []
        self.errors: list[BaseException] = []
        self.finished = Flag()
        self.server = StreamServer(("127.0.0.1", 0), self._handle)
        self.server.start()

    @property
    def address(self) -> tuple[str, int]:
        return ("127.0.0.1", self.server.server_port)

    def _handle(self, sock: Any, _address: Any) -> None:
        peer = Peer(sock)
        self.peers.append(peer)
        try:
            self.script(peer)
        except BaseException as exc:  # reported by check()
            self.errors.append(exc)
        finally:
            sock.close()
            self.finished.set()

    def check(self) -> None:
        if self.errors:
            raise self.errors[0]

    def stop(self) -> None:
        self.server.stop(timeout=1)


# -- transcript replay ----------------------------------------------------------------------

IGNORED_EVENTS = ("CHANNEL_PARK",)  # fired while FreeSWITCH parks: seen or not, by timing


@dataclass
class Replay:
    expected: list[Frame]
    actual: list[Frame]
    port: int


def _ignored(frame: Frame) -> bool:
    event = parse_event(frame)
    return event is not None and event.name in IGNORED_EVENTS


def _steps(path: Path) -> tuple[list[tuple[str, Any]], list[Frame]]:
    transcript = read_transcript(path)
    reader = FrameReader()
    steps: list[tuple[str, Any]] = []
    expected: list[Frame] = []
    for frame in transcript.frames_for("OUT"):
        if frame.kind == "SEND":
            steps.append(("send", (frame.data, len(expected))))
        elif frame.kind == "RECV":
            expected += [f for f in reader.feed(frame.data) if not _ignored(f)]
    return steps, expected


def call_identity(expected: list[Frame]) -> dict[str, Any]:
    """place_call arguments that give the recorded channel's identity and variables."""
    reply = parse_reply(expected[0])
    assert reply is not None and "Unique-ID" in reply.headers, "no connect reply first"
    names = [k[9:] for k, _ in reply.items if k.startswith("variable_")]
    values = {k[9:]: v for k, v in reply.items if k.startswith("variable_")}
    between = names[names.index("uuid") + 1 : names.index("call_uuid")]
    return {
        "uuid": reply.headers["Unique-ID"],
        "channel_name": reply.headers["Channel-Name"],
        "destination": reply.headers["Caller-Destination-Number"],
        "caller_id_name": reply.headers["Caller-Caller-ID-Name"],
        "caller_id_number": reply.headers["Caller-Caller-ID-Number"],
        "variables": {name: values[name] for name in between},
    }


def replay(
    name: str,
    caller: Any,
    *,
    timeout: float = 10.0,
    call: dict[str, Any] | None = None,
    **sim_options: Any,
) -> Replay:
    steps, expected = _steps(TRANSCRIPTS / f"{name}.txt")

    def script(peer: Peer) -> None:
        for _, (data, received) in steps:
            peer.wait_count(received, timeout)
            peer.send(data)
        peer.wait_count(len(expected) + sum(map(_ignored, peer.frames)), timeout)

    controller = ScriptedController(script)
    sim = Simulator(controller.address, media=MEDIA, **sim_options)
    try:
        placed = sim.place_call(caller, **{**call_identity(expected), **(call or {})})
        assert controller.finished.wait(timeout + 5), "the replay did not finish"
        controller.check()
        placed.wait(timeout, until="hangup")
        actual = [f for f in controller.peers[0].frames if not _ignored(f)]
        return Replay(expected, actual, controller.address[1])
    finally:
        sim.close()
        controller.stop()


# -- comparison -----------------------------------------------------------------------------

COMPARED = {
    "Event-Name", "Application", "Application-Data", "Application-Response", "Answer-State",
    "Channel-State", "Channel-Call-State", "Channel-State-Number", "Hangup-Cause",
    "DTMF-Digit", "DTMF-Source", "Playback-File-Path", "Playback-Status", "Record-File-Path",
    "Original-Channel-Call-State", "Socket-Mode", "Control", "Reply-Text",
    "Content-Disposition", "Linger-Time", "Content-Type",
}  # fmt: skip
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
VOLATILE_VARIABLE = re.compile(
    r"^(uuid|call_uuid|origination_uuid|other_loopback_leg_uuid|session_id|"
    r".*_(stamp|epoch|uepoch)|.*(sec|msec|usec)|[mu]?duration|playback_last_offset_pos)$"
)


def _headers(frame: Frame) -> list[tuple[str, str]]:
    event = parse_event(frame)
    if event is not None:
        return event.items
    reply = parse_reply(frame)
    if reply is not None and "Event-Name" in reply.headers:
        return reply.items
    return list(frame.headers.items())


def _name(frame: Frame) -> str:
    event = parse_event(frame)
    return f"{frame.content_type} {event.name}" if event else frame.content_type


def compare(result: Replay, *, volatile: Iterable[str] = ()) -> list[str]:
    """Differences between recorded and simulated frames: kinds and event names in order,
    header names in order, the values that matter (see COMPARED; variables unless volatile)."""
    skip = set(volatile)
    problems = []
    expected, actual = result.expected, result.actual
    kinds = ([_name(f) for f in expected], [_name(f) for f in actual])
    if kinds[0] != kinds[1]:
        problems.append(f"frame sequence differs:\n  recorded {kinds[0]}\n  simulated {kinds[1]}")
        return problems
    for index, (want, got) in enumerate(zip(expected, actual, strict=True)):
        where = f"frame {index} ({_name(want)})"
        want_items, got_items = _headers(want), _headers(got)
        want_names, got_names = [k for k, _ in want_items], [k for k, _ in got_items]
        if want_names != got_names:
            diff = [line for line in difflib.ndiff(want_names, got_names) if line[:1] in "+-"]
            problems.append(f"{where}: header names differ (- recorded, + simulated): {diff}")
            continue
        port = re.compile(rf"127\.0\.0\.1:{result.port}\b")
        for (key, recorded), (_, raw) in zip(want_items, got_items, strict=True):
            value, other = recorded, port.sub("127.0.0.1:8084", raw)
            if key == "Reply-Text":  # a Job-UUID FreeSWITCH made up
                value, other = UUID.sub("<uuid>", value), UUID.sub("<uuid>", other)
            variable = key.startswith("variable_")
            if key in skip or (variable and VOLATILE_VARIABLE.match(key[9:])):
                continue
            if (key in COMPARED or variable) and value != other:
                problems.append(f"{where}: {key} recorded {value!r}, simulated {other!r}")
        if parse_event(want) is None and parse_reply(want) is not None:
            body_want, body_got = want.body, got.body
            status = body_want.startswith(b"UP ")  # `status`: uptime and counters differ
            if want.content_type == "api/response" and body_want != body_got and not status:
                problems.append(f"{where}: api body {body_want!r} vs {body_got!r}")
    return problems


# -- one call against a scripted controller ---------------------------------------------------


@dataclass
class Run:
    peer: Peer
    outcome: Any  # CallOutcome
    call: Any  # SimulatedCall


def run_call(
    script: Callable[[Peer], None],
    caller: Any = None,
    *,
    timeout: float = 10.0,
    until: str = "closed",
    sim_options: dict[str, Any] | None = None,
    **call_options: Any,
) -> Run:
    """Place one call against `script`; return once the script is done and the call is over
    (`until`: "closed" or "hangup"). Errors raised in the script fail the test."""
    controller = ScriptedController(script)
    sim = Simulator(controller.address, **(sim_options or {}))
    try:
        call = sim.place_call(caller, **call_options)
        assert controller.finished.wait(timeout), "the controller script did not finish"
        controller.check()
        outcome = call.wait(timeout, until=until)
        return Run(controller.peers[0], outcome, call)
    finally:
        sim.close()
        controller.stop()


def names(frames: Iterable[Frame]) -> list[str]:
    """Event names, and the content type of other frames (with the disposition of a notice)."""
    result = []
    for frame in frames:
        event = parse_event(frame)
        if event is not None:
            result.append(event.name)
        elif frame.content_type == "text/disconnect-notice":
            result.append(f"notice:{frame.headers.get('Content-Disposition', '')}")
        else:
            result.append(frame.content_type)
    return result


def events(frames: Iterable[Frame]) -> list[Event]:
    return [e for e in map(parse_event, frames) if e is not None]


def hangup_frame() -> bytes:
    return encode_command("sendmsg", {"call-command": "hangup", "hangup-cause": "NORMAL_CLEARING"})


# -- application runs ------------------------------------------------------------------------


def run_apps(peer: Peer, *apps: tuple[str, str]) -> list[Event]:
    """Execute each app (event-lock, Event-UUID app-N) and return their EXECUTE_COMPLETEs."""
    done = []
    for index, (app, arg) in enumerate(apps):
        uuid = f"app-{index}"
        assert peer.execute(app, arg, uuid=uuid).text == "+OK"
        done.append(peer.wait_event("CHANNEL_EXECUTE_COMPLETE", Application_UUID=uuid))
    return done


def flow(
    *apps: tuple[str, str], hangup: bool = True, linger: bool = False
) -> Callable[[Peer], None]:
    """A controller that subscribes to everything, runs `apps`, hangs up, reads to the end.
    With `linger`, it reads up to CHANNEL_HANGUP_COMPLETE and closes the socket itself (the
    caller hanging up mid-application: without linger the completion would not arrive)."""

    def script(peer: Peer) -> None:
        peer.start("linger" if linger else None)
        peer.command("event plain ALL")
        run_apps(peer, *apps)
        if hangup:
            peer.send(hangup_frame())
        if linger:
            peer.wait_event("CHANNEL_HANGUP_COMPLETE")
        else:
            peer.until_closed()

    return script


def between(frames: list[Frame], first: str, last: str) -> list[str]:
    got = [n for n in names(frames) if n not in ("command/reply", "PRIVATE_COMMAND")]
    start = got.index(first)
    return got[start : got.index(last, start) + 1]


def completes(run_frames: list[Frame]) -> dict[str, Event]:
    return {
        e.get("Application-UUID", ""): e for e in events(run_frames)
        if e.name == "CHANNEL_EXECUTE_COMPLETE"
    }  # fmt: skip
