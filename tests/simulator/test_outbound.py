"""The outbound socket's commands, replies, subscriptions, hangup and linger handling.

Every test runs a scripted controller on a real TCP port (port 0) against the simulator; each
wait is bounded (Peer's default timeout is 5 s).
"""

from __future__ import annotations

import gevent
import pytest
from sim_harness import Peer, ScriptedController, events, hangup_frame, names, run_call

from controller.esl.messages import parse_reply
from controller.esl.protocol import GOODBYE, encode_command, encode_sendmsg_execute
from controller.simulator import Simulator


def test_the_connect_reply_is_channel_data_with_the_reply_headers_last() -> None:
    seen = {}

    def script(peer: Peer) -> None:
        peer.send(encode_command("connect"))
        frame = peer.next_frame()
        assert frame is not None
        seen["raw"] = frame.raw_head
        seen["reply"] = parse_reply(frame)
        peer.send(hangup_frame())
        peer.next_reply()

    run = run_call(
        script, variables={"flow_id": "hello"}, uuid="11111111-2222-3333-4444-555555555555"
    )
    lines = seen["raw"].decode().split("\n")
    assert lines[0] == "Event-Name: CHANNEL_DATA"
    assert lines[-4:] == ["Content-Type: command/reply", "Reply-Text: %2BOK%0A",
                          "Socket-Mode: async", "Control: full"]  # fmt: skip
    assert not any(line.startswith("Content-Length") for line in lines)
    reply = seen["reply"]
    assert reply.ok and reply.text == "+OK\n"
    assert reply.headers["Unique-ID"] == run.outcome.uuid
    assert reply.headers["variable_flow_id"] == "hello"
    assert reply.headers["Answer-State"] == "answered"
    assert reply.headers["variable_current_application"] == "socket"


def test_command_replies_use_freeswitchs_words() -> None:
    replies: dict[str, str] = {}

    def script(peer: Peer) -> None:
        uuid = peer.command("connect").headers["Unique-ID"]
        for line in ("myevents", "myevents", "linger", "linger 5", "nolinger", "linger 2",
                     "event plain ALL", "event json CHANNEL_EXECUTE", "event plain", "noevents",
                     "noevents", f"filter Unique-ID {uuid}", "filter Unique-ID",
                     "getvar no_such_var", "getvar flow_id", "bogus_command", "resume",
                     "divert_events on", "nolog"):  # fmt: skip
            replies[line.replace(uuid, "<uuid>")] = peer.command(line).text.replace(uuid, "<uuid>")
        for line in (f"api uuid_exists {uuid}", "api uuid_exists nope",
                     f"api uuid_getvar {uuid} flow_id", f"api uuid_getvar {uuid} nothing",
                     f"api uuid_setvar {uuid} x 1", "api uuid_break nope", "api uuid_kill nope",
                     "api frobnicate now"):  # fmt: skip
            replies[line.replace(uuid, "<uuid>")] = peer.command(line).text
        replies["getvar x"] = peer.command("getvar x").text
        peer.send(hangup_frame())
        peer.next_reply()

    run_call(script, variables={"flow_id": "hello"})
    assert replies == {
        "myevents": "-ERR aready enabled.",  # the second one; sic
        "linger": "+OK will linger",
        "linger 5": "+OK will linger 5 seconds",
        "nolinger": "+OK will not linger",
        "linger 2": "+OK will linger 2 seconds",
        "event plain ALL": "+OK event listener enabled plain",
        "event json CHANNEL_EXECUTE": "+OK event listener enabled json",
        "event plain": "-ERR no keywords supplied",
        "noevents": "-ERR not listening for events",  # the second one
        "filter Unique-ID <uuid>": "+OK filter added. [Unique-ID]=[<uuid>]",
        "filter Unique-ID": "-ERR invalid syntax",
        "getvar no_such_var": "-ERR command not found",
        "getvar flow_id": "hello",
        "bogus_command": "-ERR command not found",
        "resume": "+OK",
        "divert_events on": "+OK events diverted",
        "nolog": "-ERR not loging",
        "api uuid_exists <uuid>": "true",
        "api uuid_exists nope": "false",
        "api uuid_getvar <uuid> flow_id": "hello",
        "api uuid_getvar <uuid> nothing": "_undef_",
        "api uuid_setvar <uuid> x 1": "+OK\n",
        "api uuid_break nope": "-ERR No Such Channel!\n",
        "api uuid_kill nope": "-ERR No such channel!\n",
        "api frobnicate now": "-ERR frobnicate Command not found!\n",
        "getvar x": "1",
    }


def test_without_full_control_only_the_session_commands_work() -> None:
    """An unquoted &socket(127.0.0.1:8084 async full) in an originate gives the socket app
    only its address: static mode, single-channel control."""
    replies = {}

    def script(peer: Peer) -> None:
        connect = peer.command("connect")
        replies["mode"] = (connect.headers["Socket-Mode"], connect.headers["Control"])
        for line in ("myevents", "linger 5", "event plain ALL", "api status", "nolinger"):
            replies[line] = peer.command(line).text
        peer.send(hangup_frame())
        replies["after"] = names(peer.until_closed())

    run = run_call(script, socket_args="")
    assert replies == {
        "mode": ("static", "single-channel"),
        "myevents": "+OK Events Enabled",
        "linger 5": "-ERR command not found",
        "event plain ALL": "-ERR command not found",
        "api status": "-ERR command not found",
        "nolinger": "-ERR command not found",
        "after": ["command/reply", "notice:disconnect"],
    }
    assert run.outcome.hangup_by == "controller"


def test_exit_says_bye_and_closes_and_the_call_ends() -> None:
    seen = {}

    def script(peer: Peer) -> None:
        peer.start()
        seen["bye"] = peer.command("exit").text
        notice = peer.next_frame()
        seen["notice"] = (notice.headers, notice.body) if notice else None
        seen["end"] = peer.next_frame()

    run = run_call(script)
    headers, body = seen["notice"]
    assert seen["bye"] == "+OK bye"
    assert headers["Content-Disposition"] == "disconnect"
    assert headers["Controlled-Session-UUID"] == run.outcome.uuid
    assert body == GOODBYE.encode()
    assert seen["end"] is None  # closed by FreeSWITCH
    assert (run.outcome.hangup_cause, run.outcome.hangup_by) == ("NORMAL_CLEARING", "controller")
    assert run.outcome.closed_by == "freeswitch"


def test_sendmsg_after_the_hangup_gets_ok_and_nothing_runs() -> None:
    seen = {}

    def script(peer: Peer) -> None:
        peer.start("linger")
        peer.wait_event("CHANNEL_HANGUP_COMPLETE")
        peer.send(encode_sendmsg_execute("playback", "silence_stream://100", event_uuid="late"))
        seen["reply"] = peer.next_reply().text
        peer.send(encode_command(f"api uuid_exists {peer.frames[0].headers['Unique-ID']}"))
        seen["next"] = peer.next_frame()  # the api reply comes next: no event in between

    run = run_call(script, "hangup after 0.05s", until="hangup")
    assert seen["reply"] == "+OK"
    assert seen["next"].content_type == "api/response"
    assert seen["next"].body == b"true"  # lingering: the session is still there
    assert run.outcome.app_names == []


def test_myevents_brings_channel_events_but_not_playback_or_private_command() -> None:
    def script(peer: Peer) -> None:
        peer.start()
        peer.execute("playback", "silence_stream://300", uuid="p1")
        peer.wait_event("CHANNEL_EXECUTE_COMPLETE")
        peer.send(hangup_frame())
        peer.until_closed()

    run = run_call(script)
    got = [n for n in names(run.peer.frames) if n != "command/reply"]
    assert got == [
        "CHANNEL_EXECUTE", "CHANNEL_EXECUTE_COMPLETE", "CHANNEL_HANGUP", "CHANNEL_UNPARK",
        "CHANNEL_EXECUTE_COMPLETE", "CHANNEL_STATE", "CHANNEL_STATE", "CHANNEL_HANGUP_COMPLETE",
        "notice:disconnect",
    ]  # fmt: skip


def test_application_uuid_is_the_event_uuid_or_a_fresh_one() -> None:
    found = {}

    def script(peer: Peer) -> None:
        peer.start()
        peer.execute("set", "a=1", uuid="my-own-uuid")
        found["given"] = peer.wait_event("CHANNEL_EXECUTE_COMPLETE").get("Application-UUID")
        peer.send(encode_command("sendmsg", {"call-command": "execute",
                                             "execute-app-name": "set",
                                             "execute-app-arg": "b=2"}))  # fmt: skip
        found["random"] = peer.wait_event("CHANNEL_EXECUTE_COMPLETE").get("Application-UUID")
        peer.send(hangup_frame())
        peer.until_closed()

    run_call(script)
    assert found["given"] == "my-own-uuid"
    assert found["random"] and len(found["random"]) == 36


@pytest.mark.parametrize(
    ("linger", "expected"),
    [
        ("linger 1", ["CHANNEL_HANGUP", "notice:linger", "CHANNEL_UNPARK",
                      "CHANNEL_EXECUTE_COMPLETE", "CHANNEL_STATE", "CHANNEL_STATE",
                      "CHANNEL_HANGUP_COMPLETE", "notice:disconnect"]),
        (None, ["CHANNEL_HANGUP", "notice:disconnect"]),
    ],
)  # fmt: skip
def test_a_caller_hangup_with_and_without_linger(linger: str | None, expected: list[str]) -> None:
    got = {}

    def script(peer: Peer) -> None:
        peer.start(linger)
        got["frames"] = [n for n in names(peer.until_closed()) if n != "command/reply"]

    run = run_call(script, "hangup after 0.05s")
    assert got["frames"] == expected
    assert (run.outcome.hangup_by, run.outcome.closed_by) == ("caller", "freeswitch")


def test_a_bare_linger_never_closes_until_the_controller_does() -> None:
    release = gevent.event.Event()

    def script(peer: Peer) -> None:
        peer.start("linger")
        peer.wait_event("CHANNEL_HANGUP_COMPLETE")
        release.wait(5)  # then the script returns and the controller closes the socket

    controller = ScriptedController(script)
    sim = Simulator(controller.address)
    try:
        call = sim.place_call("hangup after 0.05s")
        call.wait(5, until="hangup")
        assert not call.connection.closed.wait(1.5)  # FreeSWITCH keeps it open: a leak
        release.set()
        outcome = call.wait(5)
        assert outcome.closed_by == "controller"
    finally:
        sim.close()
        controller.stop()


def test_a_controller_hangup_sends_all_events_before_the_linger_notice() -> None:
    def script(peer: Peer) -> None:
        peer.start("linger 1")
        peer.send(hangup_frame())
        peer.until_closed()

    run = run_call(script)
    got = [n for n in names(run.peer.frames) if n != "command/reply"]
    assert got[-3:] == ["CHANNEL_HANGUP_COMPLETE", "notice:linger", "notice:disconnect"]
    assert run.outcome.hangup_by == "controller"


def test_uuid_kill_hangs_up_like_the_caller_would() -> None:
    def script(peer: Peer) -> None:
        uuid = peer.start("linger 1").headers["Unique-ID"]
        assert peer.command(f"api uuid_kill {uuid} USER_BUSY").text == "+OK\n"
        peer.until_closed()

    run = run_call(script)
    events_seen = events(run.peer.frames)
    assert events_seen[0].name == "CHANNEL_HANGUP"
    assert events_seen[0].get("Hangup-Cause") == "USER_BUSY"
    assert names(run.peer.frames).index("notice:linger") < names(run.peer.frames).index(
        "CHANNEL_HANGUP_COMPLETE")  # fmt: skip


def test_a_socket_that_does_not_subscribe_with_myevents_hears_every_call() -> None:
    """As FreeSWITCH's event bus: `event plain ALL` without myevents is not filtered."""
    heard: dict[str, set[str]] = {}
    first_up, done = gevent.event.Event(), gevent.event.Event()

    def script(peer: Peer) -> None:
        uuid = peer.command("connect").headers["Unique-ID"]
        if not heard:
            heard[uuid] = set()
            peer.command("event plain CHANNEL_HANGUP")
            first_up.set()
            heard[uuid].add(peer.wait_event("CHANNEL_HANGUP").get("Unique-ID"))  # the other
            peer.send(hangup_frame())
            heard[uuid].add(peer.wait_event("CHANNEL_HANGUP").get("Unique-ID"))  # its own
            done.set()
        else:
            assert first_up.wait(5)
            peer.command("myevents")
            peer.send(hangup_frame())
            peer.next_reply()
            peer.wait_event("CHANNEL_HANGUP_COMPLETE")

    controller = ScriptedController(script)
    sim = Simulator(controller.address)
    try:
        one = sim.place_call()
        assert first_up.wait(5)
        two = sim.place_call()
        two.wait(5)
        one.wait(5)
        assert done.wait(5)
        controller.check()
        assert heard == {one.uuid: {one.uuid, two.uuid}}
    finally:
        sim.close()
        controller.stop()


def test_no_controller_listening_hangs_the_call_up() -> None:
    controller = ScriptedController(lambda peer: None)
    address = controller.address
    controller.stop()
    sim = Simulator(address)
    try:
        outcome = sim.place_call().wait(5)
        assert outcome.hangup_cause == "NORMAL_CLEARING"
        assert outcome.hangup_by == "freeswitch"
        assert outcome.error and "cannot connect" in outcome.error
    finally:
        sim.close()


def test_a_controller_that_never_speaks_is_disconnected() -> None:
    def script(peer: Peer) -> None:
        peer.until_closed(timeout=5)

    run = run_call(script, sim_options={"connect_timeout": 0.2})
    assert names(run.peer.frames) == ["notice:disconnect"]
    assert run.outcome.error is not None
