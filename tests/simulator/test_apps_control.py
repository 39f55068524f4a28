"""Variables, hangups, unknown applications, the caller's timers, and queued commands
(FINDINGS.md "Command execution")."""

from __future__ import annotations

import time
from collections.abc import Callable

import gevent
from sim_harness import (
    Peer,
    ScriptedController,
    between,
    completes,
    events,
    flow,
    hangup_frame,
    names,
    run_call,
)
from test_apps_media import PAGD

from controller.esl.protocol import Frame, encode_command, encode_sendmsg_execute
from controller.simulator import Simulator

# -- variables, hangup, unknown applications --------------------------------------------------


def test_set_export_unset() -> None:
    run = run_call(flow(("set", "a=b c"), ("export", "e=x"), ("set", "a="), ("set", "f=${e}y"),
                        ("multiset", "m=1 n=2"), ("unset", "m")))  # fmt: skip
    final = run.outcome.variables
    assert "a" not in final and "m" not in final
    assert (final["e"], final["export_vars"], final["f"], final["n"]) == ("x", "e", "xy", "2")
    assert run.outcome.app("set").variables == {"a": "b c"}
    assert all(r.response == "_none_" for r in run.outcome.apps)


def test_an_unknown_application_hangs_up_without_events_for_it() -> None:
    run = run_call(_unknown_app_script)
    got = [n for n in names(run.peer.frames) if n != "command/reply"]
    assert got[:3] == ["CHANNEL_HANGUP", "PRIVATE_COMMAND", "CHANNEL_UNPARK"]
    assert "CHANNEL_EXECUTE" not in got
    hangup = events(run.peer.frames)[0]
    assert hangup.get("Hangup-Cause") == "DESTINATION_OUT_OF_ORDER"
    assert run.outcome.hangup_by == "freeswitch"


def _unknown_app_script(peer: Peer) -> None:
    peer.start()
    peer.command("event plain ALL")
    assert peer.execute("no_such_application", "x", uuid="u").text == "+OK"
    peer.until_closed()


def test_the_hangup_application() -> None:
    run = run_call(flow(("hangup", "USER_BUSY"), hangup=False))
    got = between(run.peer.frames, "CHANNEL_EXECUTE", "CHANNEL_HANGUP_COMPLETE")
    assert got[:3] == ["CHANNEL_EXECUTE", "CHANNEL_HANGUP", "CHANNEL_EXECUTE_COMPLETE"]
    assert (run.outcome.hangup_cause, run.outcome.hangup_by) == ("USER_BUSY", "controller")
    complete = events(run.peer.frames)[-1]
    assert complete.variable("hangup_cause_q850") == "17"


def test_answering_a_ringing_channel() -> None:
    run = run_call(flow(("answer", "")), answered=False)
    connect = run.peer.frames[0]
    assert connect.headers.get("Answer-State") == "ringing"
    got = between(run.peer.frames, "CHANNEL_EXECUTE", "CHANNEL_EXECUTE_COMPLETE")
    assert got == ["CHANNEL_EXECUTE", "CHANNEL_ANSWER", "CHANNEL_CALLSTATE",
                   "CHANNEL_EXECUTE_COMPLETE"]  # fmt: skip
    assert completes(run.peer.frames)["app-0"].variable("endpoint_disposition") == "ANSWER"


# -- the caller's timers and the test's hangup -------------------------------------------------


def test_hangup_after_is_call_time() -> None:
    started = time.monotonic()
    run = run_call(
        flow(("playback", "silence_stream://10000"), hangup=False, linger=True), "hangup after 4s"
    )
    assert time.monotonic() - started < 2
    done = completes(run.peer.frames)["app-0"]
    assert done.get("Application-Response") == "PLAYBACK ERROR"  # interrupted by the hangup
    assert run.outcome.hangup_by == "caller"
    assert 3.9 < (run.outcome.ended_at or 0) - run.outcome.started_at < 4.2


def test_a_hangup_step_hangs_up_when_the_next_input_app_starts() -> None:
    args = PAGD.format(tries=1)
    run = run_call(flow(("play_and_get_digits", args), ("play_and_get_digits", args),
                        hangup=False, linger=True), "press 1; hangup")  # fmt: skip
    assert [run.outcome.app_names, run.outcome.hangup_by] == [
        ["play_and_get_digits", "play_and_get_digits"],
        "caller",
    ]
    assert run.outcome.apps[0].variables["choice"] == "1"


def test_the_test_can_hang_up_a_call_in_the_middle_of_an_application() -> None:
    """Real clock: the playback is running when the test hangs up."""
    started = gevent.event.Event()

    def script(peer: Peer) -> None:
        peer.start()
        peer.execute("playback", "silence_stream://10000", uuid="long")
        peer.wait_event("CHANNEL_EXECUTE")
        started.set()
        peer.until_closed()

    controller = ScriptedController(script)
    sim = Simulator(controller.address, clock="real")
    try:
        call = sim.place_call()
        assert started.wait(5)
        sim.hangup("USER_BUSY")
        outcome = call.wait(5)
        assert (outcome.hangup_cause, outcome.hangup_by) == ("USER_BUSY", "caller")
        assert outcome.app("playback").response == "PLAYBACK ERROR"
    finally:
        sim.close()
        controller.stop()


# -- queued commands: nesting, event-lock, loops, uuid_break ----------------------------------


def _two_sleeps(lock: bool) -> Callable[[Peer], None]:
    def script(peer: Peer) -> None:
        peer.start()
        peer.send(encode_sendmsg_execute("sleep", "500", event_uuid="s500", event_lock=lock))
        peer.send(encode_sendmsg_execute("sleep", "300", event_uuid="s300", event_lock=lock))
        done = set()
        while len(done) < 2:  # in either order
            done.add(peer.wait_event("CHANNEL_EXECUTE_COMPLETE", timeout=2).get("Application-UUID"))
        peer.send(hangup_frame())
        peer.until_closed()

    return script


def _order(frames: list[Frame]) -> list[str]:
    return [f"{e.name[8:]}:{e.get('Application-Data')}" for e in events(frames)
            if e.get("Application") == "sleep"]  # fmt: skip


def test_without_event_lock_a_queued_execute_runs_inside_the_running_one() -> None:
    run = run_call(_two_sleeps(lock=False), sim_options={"clock": "real"})
    assert _order(run.peer.frames) == ["EXECUTE:500", "EXECUTE:300", "EXECUTE_COMPLETE:300",
                                       "EXECUTE_COMPLETE:500"]  # fmt: skip
    outer = run.outcome.app("sleep", 0)
    assert outer.seconds is not None and outer.seconds >= 0.75  # suspended while 300 ran


def test_with_event_lock_queued_executes_run_in_order() -> None:
    run = run_call(_two_sleeps(lock=True), sim_options={"clock": "real"})
    assert _order(run.peer.frames) == ["EXECUTE:500", "EXECUTE_COMPLETE:500", "EXECUTE:300",
                                       "EXECUTE_COMPLETE:300"]  # fmt: skip


def test_loops_repeat_the_application_with_the_same_uuid() -> None:
    def script(peer: Peer) -> None:
        peer.start()
        peer.send(encode_command("sendmsg", [("call-command", "execute"),
                                             ("execute-app-name", "playback"),
                                             ("execute-app-arg", "silence_stream://1000"),
                                             ("loops", "2"), ("Event-UUID", "twice")]))  # fmt: skip
        peer.next_reply()
        peer.wait_event("CHANNEL_EXECUTE_COMPLETE")
        peer.wait_event("CHANNEL_EXECUTE_COMPLETE")
        peer.send(hangup_frame())
        peer.until_closed()

    run = run_call(script)
    pairs = [(e.name, e.get("Application-UUID")) for e in events(run.peer.frames)
             if e.get("Application") == "playback"]  # fmt: skip
    assert pairs == [("CHANNEL_EXECUTE", "twice"), ("CHANNEL_EXECUTE_COMPLETE", "twice")] * 2


def test_uuid_break_stops_the_playback_and_it_still_counts_as_played() -> None:
    def script(peer: Peer) -> None:
        uuid = peer.start().headers["Unique-ID"]
        peer.command("event plain PLAYBACK_STOP")
        peer.execute("playback", "silence_stream://10000", uuid="long")
        peer.wait_event("CHANNEL_EXECUTE")
        assert peer.command(f"api uuid_break {uuid} all").text == "+OK\n"
        peer.wait_event("CHANNEL_EXECUTE_COMPLETE", Application_UUID="long", timeout=2)
        peer.send(hangup_frame())
        peer.until_closed()

    run = run_call(script, sim_options={"clock": "real"})
    stop = next(e for e in events(run.peer.frames) if e.name == "PLAYBACK_STOP")
    assert stop.get("Playback-Status") == "break"
    assert run.outcome.app("playback").response == "FILE PLAYED"
