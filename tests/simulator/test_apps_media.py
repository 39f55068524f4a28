"""Media applications: playback, play_and_get_digits, record (FINDINGS.md "Application
results")."""

from __future__ import annotations

import time
import wave
from collections.abc import Callable
from pathlib import Path

from sim_harness import Peer, between, completes, events, flow, names, run_call

from controller.esl.messages import Event
from controller.esl.protocol import Frame

Wav = Callable[[str, float], str]


# -- playback ---------------------------------------------------------------------------------


def test_playback_of_a_wav_file_takes_its_length_in_call_time(make_wav: Wav) -> None:
    path = make_wav("hello.wav", 3.2365)
    started = time.monotonic()
    run = run_call(flow(("playback", path)))
    assert time.monotonic() - started < 2  # the simulated clock: no real 3.2 s wait
    got = events(run.peer.frames)
    start = next(e for e in got if e.name == "PLAYBACK_START")
    stop = next(e for e in got if e.name == "PLAYBACK_STOP")
    done = completes(run.peer.frames)["app-0"]
    assert between(run.peer.frames, "CHANNEL_EXECUTE", "CHANNEL_EXECUTE_COMPLETE") == [
        "CHANNEL_EXECUTE",
        "PLAYBACK_START",
        "PLAYBACK_STOP",
        "CHANNEL_EXECUTE_COMPLETE",
    ]
    assert start.get("Playback-File-Path") == path
    assert stop.get("Playback-Status") == "done"
    assert done.get("Application-Response") == "FILE PLAYED"
    assert done.variable("playback_ms") == "3236"
    assert done.variable("playback_samples") == "25892"
    elapsed_us = int(stop.get("Event-Date-Timestamp")) - int(start.get("Event-Date-Timestamp"))
    assert 3_236_000 <= elapsed_us < 3_300_000
    assert run.outcome.app("playback").response == "FILE PLAYED"


def test_playback_missing_and_empty(make_wav: Wav) -> None:
    run = run_call(flow(("playback", "/nowhere/none.wav"), ("playback", "relative.wav"),
                        ("playback", "")))  # fmt: skip
    done = completes(run.peer.frames)
    assert [done[f"app-{i}"].get("Application-Response") for i in range(3)] == [
        "FILE NOT FOUND",
        "FILE NOT FOUND",
        "PLAYBACK ERROR",
    ]
    assert "PLAYBACK_START" not in names(run.peer.frames)
    assert "Application-Data" not in done["app-2"].headers
    # The socket application's own completion repeats the last response.
    socket = next(e for e in events(run.peer.frames) if e.get("Application") == "socket")
    assert socket.get("Application-Response") == "PLAYBACK ERROR"


def test_file_string_skips_missing_members(make_wav: Wav) -> None:
    one, two = make_wav("1.wav", 0.6), make_wav("2.wav", 0.4)
    target = f"file_string://{one}!/nowhere/missing.wav!{two}"
    run = run_call(flow(("playback", target), ("playback", "file_string:///a.wav!/b.wav")))
    done = completes(run.peer.frames)
    assert done["app-0"].get("Application-Response") == "FILE PLAYED"
    assert done["app-0"].variable("playback_ms") == "1250"  # 0.6 + 0.4 + 0.25 s
    assert done["app-1"].get("Application-Response") == "FILE NOT FOUND"
    starts = [e for e in events(run.peer.frames) if e.name == "PLAYBACK_START"]
    assert [e.get("Playback-File-Path") for e in starts] == [target]


def test_tone_and_silence_streams_are_generated() -> None:
    run = run_call(flow(("playback", "tone_stream://%(250,0,1000)"),
                        ("playback", "silence_stream://1500")))  # fmt: skip
    done = completes(run.peer.frames)
    assert done["app-0"].variable("playback_ms") == "250"
    assert done["app-1"].variable("playback_ms") == "1500"
    start = next(e for e in events(run.peer.frames) if e.name == "PLAYBACK_START")
    assert start.get("Playback-File-Type") == "tone_stream"


def test_a_digit_during_playback_stops_it_only_when_playback_terminators_allow() -> None:
    run = run_call(flow(("playback", "silence_stream://3000"),
                        ("set", "playback_terminators=any"),
                        ("playback", "silence_stream://3000")),
                   "press 1 during playback after 1s; press 2 during playback")  # fmt: skip
    got = events(run.peer.frames)
    stops = [e for e in got if e.name == "PLAYBACK_STOP"]
    assert [e.get("DTMF-Digit") for e in got if e.name == "DTMF"] == ["1", "2"]
    # Default terminators (*): the digit is an event, the playback goes on.
    assert stops[0].get("Playback-Status") == "done"
    assert stops[0].variable("playback_terminator_used") is None
    # `any`: it stops; the response is still FILE PLAYED; playback_ms is the read-ahead.
    assert stops[1].get("Playback-Status") == "break"
    done = completes(run.peer.frames)["app-2"]
    assert done.get("Application-Response") == "FILE PLAYED"
    assert done.variable("playback_terminator_used") == "2"
    assert done.variable("playback_ms") == "2048"


# -- play_and_get_digits ----------------------------------------------------------------------

PAGD = "1 1 {tries} 3000 # silence_stream://1000 silence_stream://700 choice ^[12]$ 2000"


def pagd(caller: str, tries: int = 1, args: str = PAGD) -> tuple[Event, list[Frame]]:
    run = run_call(flow(("play_and_get_digits", args.format(tries=tries))), caller)
    return completes(run.peer.frames)["app-0"], run.peer.frames


def test_pagd_digits() -> None:
    done, _ = pagd("press 1 after 1.5s")
    assert done.get("Application-Response") == "_none_"
    assert done.variable("choice") == "1"
    assert done.variable("read_result") == "success"
    assert done.variable("choice_invalid") is None


def test_pagd_typed_during_the_prompt_stops_the_prompt() -> None:
    done, frames = pagd("press 2 after 0.3s")
    stop = next(e for e in events(frames) if e.name == "PLAYBACK_STOP")
    assert stop.get("Playback-Status") == "break"
    assert done.variable("choice") == "2"


def test_pagd_invalid() -> None:
    done, frames = pagd("press 5")
    assert done.variable("choice") is None
    assert done.variable("choice_invalid") == "5"
    assert done.variable("read_result") == "success"  # sic
    paths = [e.get("Playback-File-Path") for e in events(frames) if e.name == "PLAYBACK_START"]
    assert paths == ["silence_stream://1000", "silence_stream://700"]  # the invalid file


def test_pagd_timeout() -> None:
    done, frames = pagd("silent", tries=2)
    assert done.variable("choice") is None
    assert done.variable("read_result") == "failure"
    assert len([e for e in events(frames) if e.name == "PLAYBACK_START"]) == 4


def test_pagd_invalid_then_timeout_keeps_the_stale_invalid_value() -> None:
    done, _ = pagd("press 5", tries=2)
    assert done.variable("choice") is None
    assert done.variable("choice_invalid") == "5"
    assert done.variable("read_result") == "failure"


def test_pagd_multi_digit_with_terminator() -> None:
    args = "1 4 1 5000 # silence_stream://500 silence_stream://500 num ^[0-9]+$ 3000"
    done, frames = pagd("press 123# after 1s", args=args)
    assert done.variable("num") == "123"
    assert done.variable("read_terminator_used") == "#"
    assert done.variable("read_result") == "success"
    assert [e.get("DTMF-Digit") for e in events(frames) if e.name == "DTMF"] == list("123#")


def test_pagd_stops_at_the_inter_digit_timeout() -> None:
    args = "1 4 1 5000 # silence_stream://500 silence_stream://500 num ^[0-9]+$ 1000"
    done, _ = pagd("press 12 after 1s", args=args)
    assert done.variable("num") == "12"
    assert done.variable("read_result") == "timeout"  # FreeSWITCH's wording; digits are kept


# -- record -----------------------------------------------------------------------------------


def test_record_writes_a_wav_of_the_speech_and_stops_on_silence(tmp_path: Path) -> None:
    path = tmp_path / "msg.wav"
    run = run_call(flow(("record", f"{path} 20 200 2")), "speak 3s")
    got = events(run.peer.frames)
    assert between(run.peer.frames, "CHANNEL_EXECUTE", "CHANNEL_EXECUTE_COMPLETE") == [
        "CHANNEL_EXECUTE", "CODEC", "RECORD_START", "RECORD_STOP", "CODEC",
        "CHANNEL_EXECUTE_COMPLETE"]  # fmt: skip
    stop = next(e for e in got if e.name == "RECORD_STOP")
    assert stop.get("Record-File-Path") == str(path)
    assert stop.variable("record_ms") == "3000"
    assert stop.variable("silence_hits_exhausted") == "true"
    assert stop.variable("record_file_size") == str(44 + 2 * 24000)
    with wave.open(str(path)) as handle:
        assert (handle.getnframes(), handle.getframerate()) == (24000, 8000)
    assert completes(run.peer.frames)["app-0"].get("Application-Response") == "_none_"
    assert run.outcome.recordings == [str(path)]


def test_record_of_a_silent_caller_is_header_only_and_respects_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "quiet.wav"
    run = run_call(flow(("record", f"{path} 3")), "silent")
    done = completes(run.peer.frames)["app-0"]
    assert done.variable("record_ms") == "0"
    assert path.stat().st_size == 44
    ran = run.outcome.app("record").seconds
    assert ran is not None and 3.0 < ran <= 4.0  # whole-second epoch arithmetic


def test_record_when_the_caller_hangs_up(tmp_path: Path) -> None:
    def script(peer: Peer) -> None:
        peer.start("linger 1")
        peer.command("event plain ALL")
        peer.execute("record", f"{tmp_path / 'r.wav'} 20", uuid="rec")
        peer.until_closed()

    run = run_call(script, "speak 10s; hangup after 2.5s")
    got = [n for n in names(run.peer.frames) if n not in ("command/reply", "CODEC")]
    assert got[got.index("CHANNEL_HANGUP") :] == [
        "CHANNEL_HANGUP",
        "notice:linger",
        "RECORD_STOP",
        "CHANNEL_EXECUTE_COMPLETE",
        "PRIVATE_COMMAND",
        "CHANNEL_UNPARK",
        "CHANNEL_EXECUTE_COMPLETE",
        "CHANNEL_STATE",
        "CHANNEL_CALLSTATE",
        "CHANNEL_STATE",
        "CHANNEL_HANGUP_COMPLETE",
        "notice:disconnect",
    ]
    stop = next(e for e in events(run.peer.frames) if e.name == "RECORD_STOP")
    assert 2400 <= int(stop.variable("record_ms") or 0) <= 2500
    assert (run.outcome.hangup_by, run.outcome.hangup_cause) == ("caller", "NORMAL_CLEARING")


def test_record_to_an_unwritable_path_hangs_up_destination_out_of_order() -> None:
    run = run_call(flow(("record", "/nonexistent-dir/x.wav 3"), hangup=False))
    got = [n for n in names(run.peer.frames) if n not in ("command/reply", "PRIVATE_COMMAND")]
    assert got[:3] == ["CHANNEL_EXECUTE", "CHANNEL_HANGUP", "CHANNEL_EXECUTE_COMPLETE"]
    assert "RECORD_START" not in got
    assert run.outcome.hangup_cause == "DESTINATION_OUT_OF_ORDER"
    assert run.outcome.hangup_by == "freeswitch"


def test_record_session_until_stopped(tmp_path: Path, make_wav: Wav) -> None:
    path = str(tmp_path / "session.wav")
    run = run_call(flow(("record_session", path), ("playback", make_wav("p.wav", 2.0)),
                        ("stop_record_session", path)))  # fmt: skip
    got = names(run.peer.frames)
    assert got.index("RECORD_START") < got.index("PLAYBACK_START") < got.index("RECORD_STOP")
    stop = next(e for e in events(run.peer.frames) if e.name == "RECORD_STOP")
    assert stop.get("Record-Completion-Cause") == "success-maxtime"
    assert 2000 <= int(stop.variable("record_ms") or 0) < 2200
