"""Replaying a recording's IN connections against the simulator (no tests here).

`replay_inbound(name)` plays a recorded controller's IN commands (and, when the recording has
one, its OUT socket's commands) against the simulator, sending each one once the simulator
has sent as many frames as FreeSWITCH had by then, every wait bounded. `compare_inbound`
then checks, per IN connection:

- the replies, api responses and notices, in order (Reply-Text with Job-UUIDs masked, api
  bodies except `status`'s counters);
- the channel events of each leg (A: the origination_uuid, B: its loopback twin), in order,
  with their header names in order and the values that matter (sim_harness.COMPARED, every
  channel variable but identities and times);
- the order of all frames but BACKGROUND_JOB, each event labelled with its leg;
- each BACKGROUND_JOB against the job of the same bgapi: header names, Job-Command(-Arg),
  body; and it must come after the same leg events as recorded (after CHANNEL_ANSWER A for a
  success, after CHANNEL_HANGUP A for a failure).

Events the recording got from an earlier scenario's channels (a probe's hupall of the previous
call) are left out of the expectation.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from typing import Any

from sim_harness import COMPARED, TRANSCRIPTS, VOLATILE_VARIABLE, Peer, ScriptedController
from sim_harness import UUID as ANY_UUID
from test_inbound_support import InboundClient, free_port, inbound_sim

from controller.esl.messages import Event, parse_event, parse_reply
from controller.esl.protocol import Frame, FrameReader
from controller.simulator.transcript import read_transcript

# -- replay -------------------------------------------------------------------------------------


@dataclass
class ConnReplay:
    name: str
    expected: list[Frame]
    actual: list[Frame] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)


@dataclass
class InboundReplay:
    conns: list[ConnReplay]
    ports: dict[int, int]  # simulated socket port -> recorded one
    out: tuple[list[Frame], list[Frame]] | None = None  # OUT expected, actual


SOCKET_PORT = re.compile(r"127\.0\.0\.1:(\d+)")


def _origination_uuids(transcript: Any) -> set[str]:
    found = set()
    for frame in transcript.frames:
        if frame.kind == "SEND" and frame.conn.startswith("IN"):
            found |= set(re.findall(rb"origination_uuid=([0-9a-f-]{36})", frame.data))
    return {u.decode() for u in found}


def _belongs(frame: Frame, uuids: set[str]) -> bool:
    """Not an event of some earlier scenario's channel."""
    event = parse_event(frame)
    if event is None or event.name == "BACKGROUND_JOB":
        return True
    return bool(uuids & {event.get("Unique-ID"), event.variable("origination_uuid"), None} - {None})


def replay_inbound(name: str, *, timeout: float = 15.0, **sim_options: Any) -> InboundReplay:
    transcript = read_transcript(TRANSCRIPTS / f"{name}.txt")
    uuids = _origination_uuids(transcript)
    out_steps: list[tuple[bytes, int]] = []
    out_expected: list[Frame] = []
    out_reader = FrameReader()
    for frame in transcript.frames_for("OUT"):
        if frame.kind == "SEND":
            out_steps.append((frame.data, len(out_expected)))
        elif frame.kind == "RECV":
            out_expected += out_reader.feed(frame.data)

    def out_script(peer: Peer) -> None:
        for data, received in out_steps:
            peer.wait_count(received, timeout)
            peer.send(data)
        peer.wait_count(len(out_expected), timeout)

    controller = ScriptedController(out_script)
    refused = free_port()
    ports = {controller.address[1]: 8084, refused: 8085}
    to_sim = {8084: controller.address[1], 8085: refused}
    conns: list[ConnReplay] = []
    with inbound_sim(**sim_options) as (_sim, address):
        for conn_name in [c for c in transcript.conns if c.startswith("IN")]:
            reader = FrameReader()
            expected: list[Frame] = []
            steps: list[tuple[bytes, int]] = []
            for frame in transcript.frames_for(conn_name):
                if frame.kind == "SEND":
                    data = SOCKET_PORT.sub(
                        lambda m: f"127.0.0.1:{to_sim.get(int(m.group(1)), m.group(1))}",
                        frame.data.decode(),
                    ).encode()
                    steps.append((data, len(expected)))
                elif frame.kind == "RECV":
                    expected += [f for f in reader.feed(frame.data) if _belongs(f, uuids)]
            client = InboundClient(address)
            replay = ConnReplay(conn_name, expected)
            for data, received in steps:
                client.wait_count(received, timeout)
                client.sock.sendall(data)
                replay.commands.append(data.decode().split("\n", 1)[0])
            client.wait_count(len(expected), timeout)
            if (
                client.closed is False
                and expected
                and expected[-1].content_type.endswith("disconnect-notice")
            ):
                client.until_closed(timeout)
            replay.actual = list(client.frames)
            client.close()
            conns.append(replay)
        out = None
        if out_steps:
            assert controller.finished.wait(timeout), "the OUT replay did not finish"
            controller.check()
            out = (out_expected, list(controller.peers[0].frames))
    controller.stop()
    return InboundReplay(conns, ports, out)


# -- comparison ---------------------------------------------------------------------------------


def _leg(event: Event, originates: dict[str, int]) -> str:
    """`A<n>` / `B<n>` for the n-th originate's legs, else the Unique-ID."""
    uuid = event.get("Unique-ID") or ""
    if uuid in originates:
        return f"A{originates[uuid]}"
    other = event.variable("other_loopback_leg_uuid") or event.variable("origination_uuid")
    if other in originates:
        return f"B{originates[other]}"
    return uuid


def _originates(commands: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for command in commands:
        match = re.search(r"origination_uuid=([0-9a-f-]{36})", command)
        if match:
            found[match.group(1)] = len(found)
    return found


def _label(frame: Frame, originates: dict[str, int]) -> str:
    event = parse_event(frame)
    if event is None:
        return frame.content_type
    return (
        event.name if event.name == "BACKGROUND_JOB" else f"{event.name}/{_leg(event, originates)}"
    )


def _mask(value: str, ports: dict[int, int]) -> str:
    value = SOCKET_PORT.sub(lambda m: f"127.0.0.1:{ports.get(int(m.group(1)), m.group(1))}", value)
    return ANY_UUID.sub("<uuid>", value)


def _compare_items(
    where: str, want: Event, got: Event, replay: InboundReplay, skip: set[str]
) -> list[str]:
    problems: list[str] = []
    want_names, got_names = [k for k, _ in want.items], [k for k, _ in got.items]
    if want_names != got_names:
        diff = [d for d in difflib.ndiff(want_names, got_names) if d[:1] in "+-"]
        return [f"{where}: header names differ (- recorded, + simulated): {diff}"]
    for (key, recorded), (_, simulated) in zip(want.items, got.items, strict=True):
        variable = key.startswith("variable_")
        if key in skip or (variable and VOLATILE_VARIABLE.match(key[9:])):
            continue
        if (key in COMPARED or variable or key.startswith("Job-Command")) and _mask(
            recorded, replay.ports
        ) != _mask(simulated, replay.ports):
            problems.append(f"{where}: {key} recorded {recorded!r}, simulated {simulated!r}")
    if (want.body or "") != (got.body or "") and not (want.body or "").startswith("UP "):
        problems.append(f"{where}: body recorded {want.body!r}, simulated {got.body!r}")
    return problems


def compare_inbound(
    replay: InboundReplay,
    *,
    volatile: tuple[str, ...] = (),
    loose: tuple[int, ...] = (),
    racy: tuple[int, ...] = (),
) -> list[str]:
    """Differences (see the module docstring). `loose`: originates (by index) whose two legs'
    events FreeSWITCH interleaved differently than usual: each leg is still compared, in
    order, but not how they interleave. `racy`: originates whose events FreeSWITCH fired out
    of order: only which events each leg got is compared."""
    problems: list[str] = []
    skip = set(volatile)
    for conn in replay.conns:
        originates = _originates(conn.commands)
        free = {f"{r}{n}" for n in (*loose, *racy) for r in "AB"}
        racy_legs = {f"{r}{n}" for n in racy for r in "AB"}
        want_labels = [_label(f, originates) for f in conn.expected]
        got_labels = [_label(f, originates) for f in conn.actual]

        def ordered(items: list[str], free: set[str] = free) -> list[str]:
            return [x for x in items if x != "BACKGROUND_JOB" and x.split("/")[-1] not in free]

        if ordered(want_labels) != ordered(got_labels):
            problems.append(
                f"{conn.name}: frame order differs:\n  recorded  {ordered(want_labels)}\n"
                f"  simulated {ordered(got_labels)}"
            )
            continue
        for leg in sorted(free):
            want_legs = [x for x in want_labels if x.endswith("/" + leg)]
            got_legs = [x for x in got_labels if x.endswith("/" + leg)]
            if leg in racy_legs:
                want_legs, got_legs = sorted(want_legs), sorted(got_legs)
            if want_legs != got_legs:
                problems.append(f"{conn.name}: {leg} got {got_legs}, recorded {want_legs}")
        problems += _compare_frames(conn, replay, originates, racy_legs, skip)
    return problems


def _compare_frames(
    conn: ConnReplay,
    replay: InboundReplay,
    originates: dict[str, int],
    racy_legs: set[str],
    skip: set[str],
) -> list[str]:
    problems: list[str] = []
    by_leg: dict[str, tuple[list[Event], list[Event]]] = {}
    others: tuple[list[Frame], list[Frame]] = ([], [])
    jobs: tuple[dict[str, Event], dict[str, Event]] = ({}, {})
    job_order: tuple[list[str], list[str]] = ([], [])
    for side, frames in enumerate((conn.expected, conn.actual)):
        for index, frame in enumerate(frames):
            event = parse_event(frame)
            if event is None:
                others[side].append(frame)
                reply = parse_reply(frame)
                if reply is not None and reply.job_uuid:
                    job_order[side].append(reply.job_uuid)
            elif event.name == "BACKGROUND_JOB":
                jobs[side][event.get("Job-UUID") or ""] = event
                event.headers["_at"] = str(index)
            else:
                leg = _leg(event, originates)
                by_leg.setdefault(leg, ([], []))[side].append(event)
                event.headers["_at"] = str(index)
    for index, (want, got) in enumerate(zip(*others, strict=True)):
        where = f"{conn.name} frame {index} ({want.content_type})"
        want_reply, got_reply = parse_reply(want), parse_reply(got)
        if want.content_type != got.content_type:
            problems.append(f"{where}: simulated {got.content_type}")
        elif want_reply is not None and got_reply is not None:
            text = (_mask(want_reply.text, replay.ports), _mask(got_reply.text, replay.ports))
            if text[0] != text[1] and not text[0].startswith("UP "):
                problems.append(
                    f"{where}: recorded {want_reply.text!r}, simulated {got_reply.text!r}"
                )
        elif want.body != got.body:
            problems.append(f"{where}: body recorded {want.body!r}, simulated {got.body!r}")
    for leg, (want_events, got_events) in by_leg.items():
        if leg in racy_legs:
            continue
        if len(want_events) != len(got_events):
            problems.append(
                f"{conn.name} {leg}: {len(got_events)} events, {len(want_events)} recorded"
            )
        for index, (want, got) in enumerate(zip(want_events, got_events, strict=False)):
            where = f"{conn.name} {leg} event {index} ({want.name})"
            problems += _compare_items(where, want, got, replay, skip)
    for number, (want_job, got_job) in enumerate(zip(*job_order, strict=True)):
        where = f"{conn.name} job {number}"
        want, got = jobs[0].get(want_job), jobs[1].get(got_job)
        if want is None or got is None:
            problems.append(
                f"{where}: BACKGROUND_JOB recorded {want is not None}, simulated {got is not None}"
            )
            continue
        problems += _compare_items(where, want, got, replay, skip)
        problems += _job_position(where, want, got, by_leg, originates)
    return problems


def _job_position(
    where: str,
    want: Event,
    got: Event,
    by_leg: dict[str, tuple[list[Event], list[Event]]],
    originates: dict[str, int],
) -> list[str]:
    """A job's result must come after the same leg event as recorded (its A leg's answer or
    hangup)."""
    body = want.body or ""
    match = re.search(r"origination_uuid=([0-9a-f-]{36})", want.get("Job-Command-Arg") or "")
    if not match or match.group(1) not in originates:
        return []
    leg = f"A{originates[match.group(1)]}"
    marker = "CHANNEL_ANSWER" if body.startswith("+OK") else "CHANNEL_HANGUP"
    found = []
    for side, job in enumerate((want, got)):
        events = [e for e in by_leg.get(leg, ([], []))[side] if e.name == marker]
        found.append(bool(events) and int(events[0].headers["_at"]) < int(job.headers["_at"]))
    if found[0] and not found[1]:
        return [f"{where}: the result came before {marker} of {leg}"]
    return []
