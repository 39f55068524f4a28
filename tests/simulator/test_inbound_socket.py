"""`originate ... &socket(...)`: the answered call connects to a controller like FreeSWITCH's
socket app — the quoting trap, a socket nobody listens on, callees acting after the answer, a
FreeSWITCH restart with calls up. Real TCP, every wait bounded.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from gevent.event import Event as Event_
from sim_harness import Peer, ScriptedController, hangup_frame
from test_inbound_support import UUID, InboundClient, bgapi, free_port, inbound_sim, legs, start

from controller.esl.messages import Event, parse_event
from controller.simulator import Simulator
from controller.simulator.callee import Callee


@contextmanager
def with_controller(
    script: Callable[[Peer], None], **options: Any
) -> Iterator[tuple[Simulator, InboundClient, ScriptedController]]:
    controller = ScriptedController(script)
    try:
        with inbound_sim(controller=controller.address, **options) as (sim, address):
            yield sim, start(address), controller
    finally:
        controller.stop()


def socket_arg(port: int, quoting: str) -> str:
    inner = f"127.0.0.1:{port} async full"
    return {
        "single": f"'&socket({inner})'",
        "inside": f"&socket('{inner}')",
        "none": f"&socket({inner})",
        "double": f'&socket("{inner}")',
    }[quoting]


@pytest.mark.parametrize("quoting", ["single", "inside"])
def test_a_quoted_socket_connects_async_full_before_the_result(quoting: str) -> None:
    replies: list[Any] = []

    def script(peer: Peer) -> None:
        replies.append(peer.command("connect"))
        replies.append(peer.command("linger"))
        assert peer.command("myevents").ok
        peer.send(hangup_frame())
        peer.wait_event("CHANNEL_HANGUP_COMPLETE")

    with with_controller(script) as (sim, client, controller):
        arg = f"{{origination_uuid={UUID}}}loopback/callee-silent/c " + socket_arg(
            controller.address[1], quoting
        )
        body, _ = bgapi(client, arg)
        assert body == f"+OK {UUID}\n"
        # The controller had sent `connect` (and had its reply) before the result went out.
        assert sim.calls[UUID].outcome.commands[:1] == ["connect"]
        assert controller.finished.wait(5)
        controller.check()
        connect = replies[0]
        assert (connect.headers["Socket-Mode"], connect.headers["Control"]) == ("async", "full")
        assert connect.headers["Unique-ID"] == UUID
        assert connect.headers["Caller-Caller-ID-Name"] == "Outbound Call"
        assert connect.headers["variable_current_application"] == "socket"
        assert replies[1].text == "+OK will linger"
        ends = [client.next_event("CHANNEL_HANGUP_COMPLETE") for _ in range(2)]
        assert {e.get("Hangup-Cause") for e in ends} == {"NORMAL_CLEARING"}
        assert sim.originator.attempts[UUID].a.call is not None


def test_an_unquoted_socket_is_split_on_spaces_and_runs_static() -> None:
    replies: list[Any] = []

    def script(peer: Peer) -> None:
        replies.append(peer.command("connect"))
        replies.append(peer.command("linger"))
        replies.append(peer.command("event plain ALL"))
        peer.send(hangup_frame())
        peer.until_closed()

    with with_controller(script) as (_, client, controller):
        arg = f"{{origination_uuid={UUID}}}loopback/callee-silent/c " + socket_arg(
            controller.address[1], "none"
        )
        assert bgapi(client, arg)[0] == f"+OK {UUID}\n"
        assert controller.finished.wait(5)
        controller.check()
        connect = replies[0]
        assert (connect.headers["Socket-Mode"], connect.headers["Control"]) == (
            "static",
            "single-channel",
        )
        assert connect.headers["variable_current_application_data"] == (
            f"127.0.0.1:{controller.address[1]}"
        )
        assert [r.text for r in replies[1:]] == ["-ERR command not found"] * 2


def test_a_double_quoted_socket_reaches_no_controller_and_the_call_ends() -> None:
    def script(peer: Peer) -> None:  # never called
        raise AssertionError("the socket connected")

    with with_controller(script) as (_, client, controller):
        arg = f"{{origination_uuid={UUID}}}loopback/callee-silent/c " + socket_arg(
            controller.address[1], "double"
        )
        body, _ = bgapi(client, arg)
        assert body == f"+OK {UUID}\n"
        rest = [client.next_event() for _ in range(4)]
        assert legs(rest)[:2] == ["CHANNEL_HANGUP A", "CHANNEL_HANGUP B"]
        assert rest[0].variable("current_application_data") == (
            f'"127.0.0.1:{controller.address[1]}'
        )
        assert controller.peers == []


def test_a_socket_nobody_listens_on_answers_ok_then_hangs_up() -> None:
    with inbound_sim() as (_, address):
        client = start(address)
        arg = f"{{origination_uuid={UUID}}}loopback/callee-silent/c " + socket_arg(
            free_port(), "single"
        )
        body, events = bgapi(client, arg)
        assert body == f"+OK {UUID}\n"
        assert legs(events)[-3:] == ["CHANNEL_ANSWER A", "CHANNEL_ANSWER B", "BACKGROUND_JOB"]
        rest = [client.next_event() for _ in range(4)]
        assert legs(rest) == [
            "CHANNEL_HANGUP A",
            "CHANNEL_HANGUP B",
            "CHANNEL_HANGUP_COMPLETE A",
            "CHANNEL_HANGUP_COMPLETE B",
        ]
        assert {e.get("Hangup-Cause") for e in rest} == {"NORMAL_CLEARING"}


def test_the_callee_acts_after_answering_and_its_audio_reaches_the_session() -> None:
    """`answer: press 1 at 0.5s; hangup after 1.5s`: the controller gets the digit, then the
    person hangs up (during the controller's 2 s sleep: call time); the callee's audio object
    is the answered call's session.audio_timeline."""
    got: list[Event] = []
    audio = object()

    def script(peer: Peer) -> None:
        peer.start("linger")
        peer.command("event plain DTMF CHANNEL_HANGUP")
        assert peer.execute("sleep", "2000").ok
        got.append(peer.wait_event("DTMF"))
        got.append(peer.wait_event("CHANNEL_HANGUP"))

    with with_controller(script) as (sim, client, controller):
        callee = Callee.from_text("answer: press 1 at 0.5s; hangup after 1.5s", audio=audio)
        sim.add_callee("0600000001", callee)
        arg = f"{{origination_uuid={UUID}}}loopback/0600000001/c " + socket_arg(
            controller.address[1], "single"
        )
        assert bgapi(client, arg)[0] == f"+OK {UUID}\n"
        call = sim.calls[UUID]
        assert call.session.audio_timeline is audio
        assert controller.finished.wait(10)
        controller.check()
        assert got[0].get("DTMF-Digit") == "1"
        assert got[1].get("Hangup-Cause") == "NORMAL_CLEARING"
        assert call.outcome.hangup_by == "caller"
        ends = [client.next_event("CHANNEL_HANGUP") for _ in range(2)]
        assert legs(ends) == ["CHANNEL_HANGUP A", "CHANNEL_HANGUP B"]


@pytest.mark.parametrize("crash", [False, True])
def test_a_restart_ends_the_calls_on_their_sockets(crash: bool) -> None:
    """An orderly restart hangs every call up with SYSTEM_SHUTDOWN (the socket gets the
    hangup, even lingering) and then the process is gone; a crash just cuts the sockets."""
    seen: list[Any] = []
    connected = Event_()

    def script(peer: Peer) -> None:
        peer.start("linger")
        connected.set()
        seen.extend(peer.until_closed(timeout=5))

    with with_controller(script) as (sim, client, controller):
        arg = f"{{origination_uuid={UUID}}}loopback/callee-silent/c " + socket_arg(
            controller.address[1], "single"
        )
        assert bgapi(client, arg)[0] == f"+OK {UUID}\n"
        assert connected.wait(5)
        call = sim.calls[UUID]
        sim.restart_inbound(crash=crash)
        assert controller.finished.wait(5)
        controller.check()
        hangups = [e for f in seen if (e := parse_event(f)) is not None]
        if crash:
            assert hangups == []
        else:
            assert [e.get("Hangup-Cause") for e in hangups if e.name == "CHANNEL_HANGUP"] == [
                "SYSTEM_SHUTDOWN"
            ]
        assert sim.originator.attempts[UUID].b.channel.hangup_cause == (  # type: ignore[union-attr]
            "CRASH" if crash else "SYSTEM_SHUTDOWN"
        )
        assert call.done.wait(5)  # the socket is closed and the session over
        assert UUID not in sim.calls
