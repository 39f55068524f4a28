"""The simulator's event socket (8021): auth, commands, subscriptions, api/bgapi, restarts.

Real TCP on free ports; every wait has a timeout.
"""

from __future__ import annotations

import json

import gevent
import pytest
from gevent import socket as gsocket
from test_inbound_support import InboundClient, inbound_sim, labels

from controller.esl.protocol import GOODBYE
from controller.simulator import Simulator
from controller.simulator.events import SimEvent

NOTICE = b"Content-Type: text/disconnect-notice\nContent-Length: 67\n\n" + GOODBYE.encode()
PARK = "{origination_uuid=%s}loopback/callee-silent/controller-test &park()"
UUID_A = "11111111-1111-4111-8111-111111111111"
UUID_B = "22222222-2222-4222-8222-222222222222"


def raw(client: InboundClient, count: int) -> bytes:
    """The bytes of the first `count` frames, as sent."""
    client.wait_count(count)
    return b"".join(f.raw_head + b"\n\n" + f.body for f in client.frames[:count])


def test_a_good_password_is_accepted_byte_for_byte() -> None:
    with inbound_sim() as (_, address):
        client = InboundClient(address)
        client.send("auth ClueCon")
        assert raw(client, 2) == (
            b"Content-Type: auth/request\n\n"
            b"Content-Type: command/reply\nReply-Text: +OK accepted\n\n"
        )


def test_a_bad_password_is_refused_with_a_notice_and_the_socket_closes() -> None:
    with inbound_sim() as (_, address):
        client = InboundClient(address)
        client.send("auth wrong")
        rest = client.until_closed()
        assert client.closed
        assert labels(rest) == ["auth/request", "command/reply", "text/disconnect-notice"]
        assert raw(client, 3).endswith(
            b"Content-Type: command/reply\nReply-Text: -ERR invalid\n\n" + NOTICE
        )


def test_a_command_before_auth_is_not_found_and_the_socket_stays_open() -> None:
    with inbound_sim() as (_, address):
        client = InboundClient(address)
        assert client.next_frame().content_type == "auth/request"  # type: ignore[union-attr]
        assert client.command("api status").text == "-ERR command not found"
        assert client.command("event plain ALL").text == "-ERR command not found"
        assert client.command("auth ClueCon").text == "+OK accepted"
        assert client.api("uuid_exists nobody") == "false"


def test_exit_works_before_auth_and_says_goodbye() -> None:
    with inbound_sim() as (_, address):
        client = InboundClient(address)
        assert client.next_frame().content_type == "auth/request"  # type: ignore[union-attr]
        assert client.command("exit").text == "+OK bye"
        rest = client.until_closed()
        assert labels(rest) == ["text/disconnect-notice"]
        assert rest[0].body == GOODBYE.encode()


def test_api_answers_as_recorded() -> None:
    with inbound_sim() as (_, address):
        client = InboundClient(address).login()
        assert client.api("status").startswith("UP ")
        assert client.api("no_such_command foo") == "-ERR no_such_command Command not found!\n"
        assert client.api("uuid_kill 00000000-0000-0000-0000-000000000000") == (
            "-ERR No such channel!\n"
        )
        assert client.api("uuid_exists 00000000-0000-0000-0000-000000000000") == "false"
        assert client.api("originate").startswith("-USAGE: <call url> <exten>|&<application_name>")
        assert client.api("show calls count") == "\n0 total.\n"
        assert client.api("show channels as json") == '{"row_count": 0}\n'
        assert client.api("global_getvar sound_prefix") == (
            "/srv/switch/share/freeswitch/sounds/test"
        )
        assert client.api("fsctl sps") == "+OK sessions per second: 1000\n"
        assert client.api("hupall") == "+OK hangup all channels with cause MANAGER_REQUEST\n"


def test_bgapi_honours_the_clients_job_uuid() -> None:
    job = "273116bd-8cfb-49af-8a3e-5e93cf6539d4"
    with inbound_sim() as (_, address):
        client = InboundClient(address).login()
        client.command("event plain BACKGROUND_JOB")
        reply = client.command("bgapi status", {"Job-UUID": job})
        assert reply.text == f"+OK Job-UUID: {job}"
        assert reply.headers["Job-UUID"] == job
        event = client.job(job)
        assert event.get("Job-Command") == "status"
        assert "Job-Command-Arg" not in event.headers
        assert (event.body or "").startswith("UP ")


def test_bgapi_makes_a_job_uuid_and_reports_failures_in_the_body() -> None:
    with inbound_sim() as (_, address):
        client = InboundClient(address).login()
        client.command("event plain BACKGROUND_JOB")
        reply = client.command("bgapi no_such_command foo")
        event = client.job(reply.job_uuid or "")
        assert [k for k, _ in event.items][-3:] == ["Job-UUID", "Job-Command", "Job-Command-Arg"]
        assert (event.get("Job-Command"), event.get("Job-Command-Arg")) == (
            "no_such_command",
            "foo",
        )
        assert event.body == "-ERR no_such_command Command not found!\n"


def test_json_events_carry_the_result_in_body() -> None:
    with inbound_sim() as (_, address):
        client = InboundClient(address).login()
        assert client.command("event json BACKGROUND_JOB HEARTBEAT").text == (
            "+OK event listener enabled json"
        )
        reply = client.command("bgapi uuid_exists nobody")
        frame = client.next_frame()
        assert frame is not None and frame.content_type == "text/event-json"
        data = json.loads(frame.body)
        assert data["Job-UUID"] == reply.job_uuid
        assert data["_body"] == "false"


def test_subscriptions_noevents_nixevent_and_custom_subclasses() -> None:
    with inbound_sim() as (sim, address):
        client = InboundClient(address).login()
        assert client.command("event plain CUSTOM avmd::beep").text == (
            "+OK event listener enabled plain"
        )
        for subclass in ("avmd::start", "avmd::beep"):
            headers = [("Event-Name", "CUSTOM"), ("Event-Subclass", subclass)]
            sim.publish(SimEvent("CUSTOM", None, headers, subclass=subclass))
        assert client.next_event("CUSTOM").get("Event-Subclass") == "avmd::beep"
        assert client.command("noevents").text == "+OK no longer listening for events"
        assert client.command("noevents").text == "-ERR not listening for events"
        assert client.command("event plain BACKGROUND_JOB CHANNEL_CREATE").text.startswith("+OK")
        assert client.command("nixevent BACKGROUND_JOB").text == "+OK events nixed"
        assert client.command("nixevent").text == "-ERR no keywords supplied"
        assert client.command("event plain NOT_AN_EVENT").text == "-ERR no keywords supplied"
        reply = client.command("bgapi status")
        assert client.api(f"originate {PARK % UUID_A}") == f"+OK {UUID_A}\n"
        names = labels(client.frames[client._pos :])
        assert "BACKGROUND_JOB" not in names and reply.ok
        assert client.next_event().name == "CHANNEL_CREATE"


def test_log_nolog_linger_and_unknown_commands() -> None:
    with inbound_sim() as (_, address):
        client = InboundClient(address).login()
        assert client.command("nolog").text == "-ERR not loging"
        assert client.command("log info").text == "+OK log level info [6]"
        assert client.command("nolog").text == "+OK no longer logging"
        assert client.command("linger").text == "-ERR not controlling a session"
        assert client.command("nolinger").text == "-ERR not controlling a session"
        assert client.command("bogus").text == "-ERR command not found"
        assert client.command("sendmsg nobody").text == "-ERR invalid session id [nobody]"


def test_myevents_with_a_uuid_keeps_only_that_channel() -> None:
    with inbound_sim() as (_, address):
        client = InboundClient(address).login()
        assert client.command(f"myevents {UUID_B} json").text == "-ERR invalid uuid"
        assert client.command(f"myevents {UUID_B}").text == "+OK Events Enabled"
        assert client.command(f"myevents {UUID_B}").text == "-ERR aready enabled."
        assert client.api(f"originate {PARK % UUID_A}") == f"+OK {UUID_A}\n"
        assert client.api(f"originate {PARK % UUID_B}") == f"+OK {UUID_B}\n"
        event = client.next_event()
        assert (event.name, event.get("Unique-ID")) == ("CHANNEL_CREATE", UUID_B)
        assert client.next_event().name == "CHANNEL_ANSWER"  # the B leg of A is not its own


def test_filter_keeps_matching_events() -> None:
    with inbound_sim() as (_, address):
        client = InboundClient(address).login()
        client.command("event plain CHANNEL_CREATE")
        assert client.command(f"filter Unique-ID {UUID_B}").text == (
            f"+OK filter added. [Unique-ID]=[{UUID_B}]"
        )
        client.api(f"originate {PARK % UUID_A}")
        client.api(f"originate {PARK % UUID_B}")
        assert client.next_event("CHANNEL_CREATE").get("Unique-ID") == UUID_B


def test_events_wait_while_an_api_command_runs() -> None:
    """The listener thread runs `api` itself: events for this connection queue meanwhile,
    while other connections get them at once."""
    with inbound_sim(clock="real") as (sim, address):
        sim.add_callee("slow", "ring 0.3s")
        busy, other = InboundClient(address).login(), InboundClient(address).login()
        for client in (busy, other):
            client.command("event plain CHANNEL_CREATE CHANNEL_PROGRESS CHANNEL_ANSWER")
        busy.send(f"api originate {{origination_uuid={UUID_A}}}loopback/slow/ctx &park()")
        assert other.next_event("CHANNEL_PROGRESS", timeout=5).get("Unique-ID") == UUID_A
        assert busy.frames[busy._pos :] == []  # nothing yet: the originate still rings
        assert busy.next_reply(timeout=5).text == f"+OK {UUID_A}\n"
        rest = [busy.next_event().name for _ in range(6)]
        assert rest == ["CHANNEL_CREATE"] * 2 + ["CHANNEL_PROGRESS"] * 2 + ["CHANNEL_ANSWER"] * 2


def test_inbound_listeners_get_each_event_before_the_calls_own_socket() -> None:
    sim = Simulator(("127.0.0.1", 9))
    try:
        sim.start_inbound()
        order: list[str] = []

        class Listener:
            def __init__(self, name: str) -> None:
                self.name = name

            def deliver(self, event: SimEvent) -> None:
                order.append(self.name)

        assert sim.inbound is not None
        sim.inbound.deliver = Listener("inbound").deliver  # type: ignore[method-assign]
        call = sim.place_call(None, uuid=UUID_A)
        call.connection.deliver = Listener("outbound").deliver  # type: ignore[method-assign]
        sim.publish(SimEvent("CHANNEL_HANGUP_COMPLETE", UUID_A, []))
        assert order == ["inbound", "outbound"]
    finally:
        sim.close()


def refused(address: tuple[str, int]) -> bool:
    try:
        gsocket.create_connection(address, timeout=2).close()
    except ConnectionRefusedError:
        return True
    return False


def test_a_restart_drops_every_connection_refuses_new_ones_then_accepts_again() -> None:
    with inbound_sim() as (sim, address):
        first, second = InboundClient(address).login(), InboundClient(address).login()
        first.command("event plain ALL")
        assert first.api(f"originate {PARK % UUID_A}") == f"+OK {UUID_A}\n"
        attempt = sim.originator.attempts[UUID_A]
        sim.restart_inbound()
        first.until_closed()
        assert second.until_closed() == []
        # No notice, and the hangups came after the connections were gone.
        assert (
            labels(first.frames[3:])
            == ["api/response"] + ["CHANNEL_CREATE"] * 2 + ["CHANNEL_ANSWER"] * 2
        )
        assert refused(address)
        assert attempt.a.channel.hangup_cause == "SYSTEM_SHUTDOWN"
        assert attempt.b is not None and attempt.b.channel.hangup_cause == "SYSTEM_SHUTDOWN"
        core = sim.events.core_uuid
        sim.resume_inbound()
        again = InboundClient(address).login()
        assert again.api(f"uuid_exists {UUID_A}") == "false"
        assert sim.events.core_uuid != core


def test_a_restart_with_down_seconds_comes_back_by_itself() -> None:
    with inbound_sim() as (sim, address):
        sim.restart_inbound(down_seconds=0.2)
        assert refused(address)
        with gevent.Timeout(5, AssertionError("the event socket did not come back")):
            while True:
                try:
                    client = InboundClient(address)
                    break
                except ConnectionRefusedError:
                    gevent.sleep(0.02)
        client.login()
        assert client.api("uuid_exists nobody") == "false"


def test_restart_needs_a_started_event_socket() -> None:
    sim = Simulator(("127.0.0.1", 9))
    try:
        with pytest.raises(RuntimeError):
            sim.restart_inbound()
    finally:
        sim.close()
