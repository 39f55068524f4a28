"""The simulator at scale, and callflow's own ESL layer (controller/esl) driving it."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from gevent.server import StreamServer
from sim_harness import Peer, ScriptedController, hangup_frame

from controller.esl import apps
from controller.esl.channel import Channel
from controller.exceptions import CallEnded
from controller.simulator import Simulator

PAGD = "1 1 1 3000 # silence_stream://500 silence_stream://200 d ^[0-9]$ 2000"


def test_two_hundred_concurrent_calls() -> None:
    def script(peer: Peer) -> None:
        peer.start("linger 5")
        peer.execute("playback", "silence_stream://2000", uuid="p")
        peer.wait_event("CHANNEL_EXECUTE_COMPLETE", Application_UUID="p")
        peer.execute("play_and_get_digits", PAGD, uuid="g")
        digits = peer.wait_event("CHANNEL_EXECUTE_COMPLETE", Application_UUID="g").variable("d")
        peer.execute("set", f"got={digits}", uuid="s")
        peer.wait_event("CHANNEL_EXECUTE_COMPLETE", Application_UUID="s")
        peer.send(hangup_frame())
        peer.wait_event("CHANNEL_HANGUP_COMPLETE")

    controller = ScriptedController(script)
    sim = Simulator(controller.address)
    try:
        started = time.monotonic()
        calls = [sim.place_call(f"press {n % 10}") for n in range(200)]
        outcomes = [call.wait(30) for call in calls]
        assert time.monotonic() - started < 20
        controller.check()
        assert {o.hangup_cause for o in outcomes} == {"NORMAL_CLEARING"}
        assert [o.variables["got"] for o in outcomes] == [str(n % 10) for n in range(200)]
        assert not sim.calls  # every call is over and forgotten
    finally:
        sim.close()
        controller.stop()


def _serve(handler: Any) -> tuple[StreamServer, list[dict[str, Any]]]:
    results: list[dict[str, Any]] = []

    def handle(sock: Any, _address: Any) -> None:
        result: dict[str, Any] = {}
        results.append(result)
        channel = Channel(sock, command_timeout=5)
        try:
            handler(channel, result)
        except Exception as exc:
            result["error"] = exc
        finally:
            channel.close()

    server = StreamServer(("127.0.0.1", 0), handle)
    server.start()
    return server, results


def test_callflows_channel_runs_a_call(tmp_path: Path) -> None:
    recording = str(tmp_path / "message.wav")

    def handler(channel: Channel, result: dict[str, Any]) -> None:
        channel.start(linger_seconds=5)
        apps.answer(channel, timeout=5)
        result["played"] = apps.playback(channel, files=["/nowhere/x.wav"], timeout=5)
        result["digits"] = apps.play_and_get_digits(
            channel,
            min_digits=1,
            max_digits=1,
            first_digit_timeout_ms=3000,
            terminators="#",
            prompt=[],
            invalid_prompt=[],
            regex=r"^\d$",
            inter_digit_timeout_ms=2000,
            timeout=10,
        )
        result["record"] = apps.record(
            channel,
            path=recording,
            max_seconds=30,
            silence_threshold=200,
            silence_seconds=2,
            terminators="#",
            timeout=10,
        )
        channel.hangup("NORMAL_CLEARING", timeout=5)
        result["complete"] = channel.wait_hangup_complete(5)

    server, results = _serve(handler)
    sim = Simulator(("127.0.0.1", server.server_port))
    try:
        outcome = sim.place_call("press 7 after 1s; speak 2s").wait(10)
    finally:
        sim.close()
        server.stop()
    result = results[0]
    assert "error" not in result, result["error"]
    assert result["played"].response == "FILE NOT FOUND"
    assert result["digits"].digits == "7"
    assert result["record"].milliseconds == 2000
    assert result["record"].stopped_by == "silence"
    assert result["complete"] is True
    assert (outcome.hangup_cause, outcome.hangup_by) == ("NORMAL_CLEARING", "controller")


def test_callflows_channel_sees_the_caller_hang_up_mid_playback() -> None:
    def handler(channel: Channel, result: dict[str, Any]) -> None:
        channel.start(linger_seconds=5)
        try:
            apps.playback(channel, files=["silence_stream://60000"], timeout=5)
        except CallEnded as exc:
            result["ended"] = (exc.cause, exc.by)

    server, results = _serve(handler)
    sim = Simulator(("127.0.0.1", server.server_port))
    try:
        sim.place_call("hangup after 3s").wait(10)
    finally:
        sim.close()
        server.stop()
    assert results[0].get("ended") == ("NORMAL_CLEARING", "caller"), results
