"""The emulated audio-detection applications against ../shared/freeswitch/AUDIO-DETECTION.md
and the avmd recordings (avmd-beep, avmd-human, avmd-app-form, avmd-myevents-only)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sim_harness import (
    Peer,
    ScriptedController,
    between,
    compare,
    completes,
    events,
    flow,
    hangup_frame,
    replay,
    run_apps,
)

from controller.esl.messages import Event
from controller.simulator import Simulator
from controller.simulator.audio_timeline import AudioTimeline
from controller.simulator.outcome import CallOutcome

HELLO = "speech 0.2-0.9; silence"
MACHINE = "speech 0-4.6 words 9; tone 4.6-5.6 1000Hz; silence"


def _call(
    script: Callable[[Peer], None],
    audio: Any,
    caller: Any = None,
    *,
    clock: str = "simulated",
    **call_options: Any,
) -> tuple[Peer, CallOutcome]:
    controller = ScriptedController(script)
    sim = Simulator(controller.address, clock=clock)
    try:
        call = sim.place_call(caller, **call_options)
        call.session.audio_timeline = audio  # as the simulator hands it over: raw data
        assert controller.finished.wait(10), "the controller script did not finish"
        controller.check()
        return controller.peers[0], call.wait(10, until="hangup")
    finally:
        sim.close()
        controller.stop()


def _apps(audio: Any, *apps: tuple[str, str], **options: Any) -> dict[str, Event]:
    peer, _ = _call(flow(*apps), audio, **options)
    return completes(peer.frames)


def _at(event: Event) -> float:
    """Seconds from the answer, on the event's own (FreeSWITCH) clock."""
    stamp = int(event.get("Event-Date-Timestamp") or 0)
    return (stamp - int(event.get("Caller-Channel-Answered-Time") or 0)) / 1e6


# -- the audio timeline -------------------------------------------------------------------------


def test_timeline_scores_half_the_level_and_models_the_documented_quirks() -> None:
    hello = AudioTimeline.parse(HELLO)
    assert hello.words() == [(0.2, 0.9)]
    assert [hello.score(t) for t in (0.1, 0.5, 1.0)] == [0, 1000, 0]  # level 2000 reads 1000
    machine = AudioTimeline.from_data(MACHINE)
    assert len(machine.words()) == 9 and machine.words()[-1][1] == 4.6
    assert not machine.speech_at(0.45)  # a pause between words
    assert machine.score(5.0) == 4500 and machine.tones()[0].frequency == 1000
    assert AudioTimeline.parse("speech 0-2 level 8000 odd").score(1.0) == 0  # odd samples only
    noisy = AudioTimeline.parse("silence; noise 0.1 seed 7")
    loud = [k for k in range(1000) if noisy.frame_score(k) > 100]
    assert 60 < len(loud) < 140 and loud == [k for k in range(1000) if noisy.frame_score(k) > 100]
    same = AudioTimeline.from_data([{"silence": None}, {"noise": 0.1, "seed": 7}])
    assert [same.frame_score(k) for k in range(200)] == [noisy.frame_score(k) for k in range(200)]
    with pytest.raises(ValueError):
        AudioTimeline.parse("speech 1-0.5")


# -- detect_audio / detect_silence --------------------------------------------------------------


def test_detect_audio_returns_after_hits_plus_one_loud_frames() -> None:
    done = _apps(HELLO, ("detect_audio", "128 4 3000"))["app-0"]
    assert done.variable("detect_audio_timeout") == "false"
    assert done.variable("detect_audio_hits") is None  # set only on a timeout
    assert done.get("Application-Response") == "_none_"
    assert _at(done) == pytest.approx(0.2 + 5 * 0.02, abs=0.002)


def test_detect_silence_returns_hits_plus_one_frames_after_the_audio_ends() -> None:
    done = _apps(HELLO, ("detect_audio", "128 1 3000"), ("detect_silence", "127 9 5000"))
    assert done["app-1"].variable("detect_silence_timeout") == "false"
    assert _at(done["app-1"]) == pytest.approx(0.9 + 10 * 0.02, abs=0.002)


def test_the_timeout_is_a_sample_budget_and_reports_the_current_run() -> None:
    done = _apps(
        "speech 0.9-3 words 1", ("detect_audio", "128 10 1000"), ("detect_silence", "127 3 990")
    )
    first, second = done["app-0"], done["app-1"]
    assert first.variable("detect_audio_timeout") == "true"
    assert first.variable("detect_audio_hits") == "4"  # frames 0.90-0.98; the 50th is not scored
    assert _at(first) == pytest.approx(1.0, abs=0.002)
    assert second.variable("detect_silence_timeout") == "true"
    assert second.variable("detect_silence_hits") == "0"
    assert _at(second) - _at(first) == pytest.approx(1.0, abs=0.002)  # 990 ms: 50 frames


def test_a_usage_error_sets_nothing_and_completes_at_once() -> None:
    done = _apps(
        None,
        ("detect_audio", "128 4 200"),  # digital silence: a timeout, true
        ("detect_audio", "0 4 200"),
        ("detect_audio", "128 0 200"),
        ("detect_audio", "128 4"),
    )
    assert done["app-0"].variable("detect_audio_timeout") == "true"
    for name in ("app-1", "app-2", "app-3"):
        assert done[name].variable("detect_audio_timeout") == "true"  # the old value stays
        assert _at(done[name]) == pytest.approx(_at(done["app-0"]), abs=0.01)


def test_a_hangup_during_detection_sets_nothing() -> None:
    script = flow(("detect_silence", "127 4 0"), hangup=False, linger=True)
    peer, outcome = _call(script, "speech 0-30 words 1", "hangup after 1s")
    done = completes(peer.frames)["app-0"]
    assert done.get("Answer-State") == "hangup"
    assert done.variable("detect_silence_timeout") is None
    assert outcome.hangup_by == "caller"


def test_the_threshold_acts_at_twice_the_level_scale() -> None:
    done = _apps("speech 0-1", ("detect_audio", "1000 1 500"), ("detect_audio", "1001 1 300"))
    assert done["app-0"].variable("detect_audio_timeout") == "false"
    assert done["app-1"].variable("detect_audio_timeout") == "true"
    odd = _apps("speech 0-1 level 8000 odd", ("detect_audio", "10 1 500"))["app-0"]
    assert odd.variable("detect_audio_timeout") == "true"  # never detected


def test_stray_loud_frames_defeat_a_long_silence_check_not_a_word_check() -> None:
    noisy = "silence; noise 0.2 seed 3"
    done = _apps(noisy, ("detect_silence", "100 39 3000"), ("detect_audio", "100 4 3000"))
    assert done["app-0"].variable("detect_silence_timeout") == "true"  # 40 quiet in a row: rare
    assert done["app-1"].variable("detect_audio_timeout") == "true"  # 5 loud in a row: never


def test_detect_does_not_stop_for_uuid_break() -> None:
    def script(peer: Peer) -> None:
        peer.start("linger 5")
        peer.execute("detect_silence", "127 3 400", uuid="d")
        peer.wait_event("CHANNEL_EXECUTE", Application_UUID="d")
        uuid = peer.frames[0].headers.get("Unique-ID") or ""
        peer.command(f"api uuid_break {uuid} all")
        peer.wait_event("CHANNEL_EXECUTE_COMPLETE", Application_UUID="d")
        peer.send(hangup_frame())
        peer.wait_event("CHANNEL_HANGUP_COMPLETE")

    started = time.monotonic()
    peer, _ = _call(script, "speech 0-5 words 1", clock="real")
    assert time.monotonic() - started >= 0.38
    done = completes(peer.frames)["d"]
    assert done.variable("detect_silence_timeout") == "true"


# -- wait_for_silence ---------------------------------------------------------------------------


def test_wait_for_silence_never_hears_a_loopback_channel() -> None:
    done = _apps(
        "speech 0-5", ("wait_for_silence", "200 10 0 5000"), ("wait_for_silence", "200 10 3 600")
    )
    quick, deaf = done["app-0"], done["app-1"]
    assert quick.variable("wait_for_silence_timeout") == "false"  # S+25 frames, speech or not
    assert _at(quick) == pytest.approx(35 * 0.02, abs=0.025)
    assert deaf.variable("wait_for_silence_timeout") == "true"
    assert deaf.variable("wait_for_silence_listenhits") == "0"
    assert deaf.variable("wait_for_silence_silence_hits") == "10"  # hits still remaining


def test_wait_for_silence_hears_a_channel_with_real_frames() -> None:
    peer, _ = _call(
        flow(("wait_for_silence", "200 10 3 5000")), "speech 0-1", channel_name="sofia/x/y"
    )
    done = completes(peer.frames)["app-0"]
    assert done.variable("wait_for_silence_timeout") == "false"
    assert _at(done) == pytest.approx(1.0 + 10 * 0.02 + 25 * 0.02, abs=0.025)


# -- voice_amd (mod_amd) ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("audio", "result", "cause", "at"),
    [
        (HELLO, "HUMAN", "HUMAN", 0.9 + 0.8),
        (MACHINE, "MACHINE", "MAXWORDS", None),
        (None, "MACHINE", "INITIALSILENCE", 2.5),
        ("speech 0.5-6 words 1", "MACHINE", "LONGGREETING", 0.5 + 1.5),
    ],
)
def test_voice_amd_is_asterisks_algorithm(audio: Any, result: str, cause: str, at: Any) -> None:
    done = _apps(audio, ("voice_amd", "silence_threshold=128"))["app-0"]
    assert (done.variable("amd_result"), done.variable("amd_cause")) == (result, cause)
    if at is not None:
        assert _at(done) == pytest.approx(at, abs=0.03)


# -- mod_avmd -----------------------------------------------------------------------------------


@pytest.fixture
def audio_for_every_call(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[Any], None]]:
    """Give every call placed (by replay()) this audio."""
    original = Simulator.place_call
    chosen: list[Any] = [None]

    def place_call(self: Simulator, *args: Any, **kwargs: Any) -> Any:
        call = original(self, *args, **kwargs)
        call.session.audio_timeline = chosen[0]
        return call

    monkeypatch.setattr(Simulator, "place_call", place_call)
    yield lambda audio: chosen.__setitem__(0, audio)


AVMD_TIMES = ("variable_avmd_total_time",)


@pytest.mark.parametrize(
    ("name", "audio"),
    [
        ("avmd-beep", "speech 0-0.2; tone 0.2-1.2 1000Hz; silence"),  # the beep: 0.2 s, not 4.6
        ("avmd-app-form", "speech 0-0.2; tone 0.2-1.2 1000Hz; silence"),
        ("avmd-human", HELLO),
    ],
)
def test_avmd_replays_like_the_recording(
    name: str, audio: str, audio_for_every_call: Callable[[Any], None]
) -> None:
    audio_for_every_call(audio)
    result = replay(name, "silent")
    assert compare(result, volatile=AVMD_TIMES) == []


def _avmd(peer: Peer) -> list[Event]:
    return [e for e in events(peer.frames) if e.name == "CUSTOM"]


def test_avmd_events_twice_with_the_beep_frequency() -> None:
    def script(peer: Peer) -> None:
        peer.start("linger 5")
        peer.command("event plain CUSTOM avmd::beep avmd::start avmd::stop")
        run_apps(peer, ("avmd_start", ""), ("sleep", "6000"), ("avmd_stop", ""))
        peer.send(hangup_frame())
        peer.wait_event("CHANNEL_HANGUP_COMPLETE")

    peer, _ = _call(script, MACHINE)
    custom = _avmd(peer)
    assert [e.get("Event-Subclass") for e in custom] == ["avmd::start"] * 2 + ["avmd::beep"] * 2 + [
        "avmd::stop"
    ] * 2
    beep, full = custom[2], custom[3]
    assert beep.get("Event-Sequence") == full.get("Event-Sequence")  # one event, two copies
    assert beep.get("Channel-State") is None and full.get("Channel-State") == "CS_EXECUTE"
    assert (beep.get("Beep-Status"), float(beep.get("Frequency") or 0)) == ("DETECTED", 1000.0)
    assert full.variable("avmd_detect") == "TRUE"
    assert 4.6 < _at(full) <= 4.6 + 0.24  # measured: median ~110 ms after the tone starts
    assert custom[4].get("Beep-Status") == "DETECTED"


def test_avmd_reports_one_beep_per_start_and_a_false_positive_consumes_it() -> None:
    audio = "speech 0-4.6 words 9; tone 1.0-1.3 920Hz; tone 4.6-5.6 1000Hz; silence"

    def script(peer: Peer) -> None:
        peer.start("linger 5")
        peer.command("event plain CUSTOM avmd::beep")
        run_apps(peer, ("avmd_start", ""), ("sleep", "2000"), ("sleep", "4000"), ("avmd_stop", ""))
        run_apps(peer, ("avmd_start", ""), ("sleep", "4000"), ("avmd_stop", ""))  # re-armed
        peer.send(hangup_frame())
        peer.wait_event("CHANNEL_HANGUP_COMPLETE")

    peer, _ = _call(script, audio)
    beeps = [e for e in _avmd(peer) if e.get("Channel-State") is None]
    assert [e.get("Event-Subclass") for e in _avmd(peer)] == ["avmd::beep"] * 2  # only subscribed
    assert [float(e.get("Frequency") or 0) for e in beeps] == [920.0]
    peer2, _ = _call(script, audio.replace("tone 1.0-1.3 920Hz; ", ""))
    assert [float(e.get("Frequency") or 0) for e in _avmd(peer2)][::2] == [1000.0]


def test_avmd_events_need_a_subscription_by_name() -> None:
    """avmd-myevents-only: no avmd event reaches a socket with only myevents, though the beep
    is detected (avmd_detect=TRUE)."""

    def script(peer: Peer) -> None:
        peer.start("linger 5")
        run_apps(peer, ("avmd_start", ""), ("sleep", "6000"), ("avmd_stop", ""))
        peer.send(hangup_frame())
        peer.wait_event("CHANNEL_HANGUP_COMPLETE")

    peer, _ = _call(script, MACHINE)
    assert _avmd(peer) == []
    stop = completes(peer.frames)["app-2"]
    assert stop.variable("avmd_detect") == "TRUE"
    total = int((stop.variable("avmd_total_time") or "[0]").strip("[]"))
    assert 4600 <= total <= 4600 + 240  # the beep starts 4.6 s after the answer


def test_avmd_stop_app_form_sends_no_stop_event() -> None:
    def script(peer: Peer) -> None:
        peer.start("linger 5")
        peer.command("event plain ALL")
        run_apps(peer, ("avmd", "start"), ("sleep", "500"), ("avmd", "stop"))
        peer.send(hangup_frame())
        peer.wait_event("CHANNEL_HANGUP_COMPLETE")

    peer, _ = _call(script, HELLO)
    assert between(peer.frames, "MEDIA_BUG_STOP", "CHANNEL_EXECUTE_COMPLETE") == [
        "MEDIA_BUG_STOP",
        "CHANNEL_EXECUTE_COMPLETE",
    ]
    assert [e.get("Event-Subclass") for e in _avmd(peer)] == ["avmd::start"] * 2
