"""Prompts, digits, whole-call recording, variables, limits and a vanishing FreeSWITCH."""

from __future__ import annotations

from typing import Any

from support.harness import REPO, Harness, add_flow, build_harness, close_harness

AUDIO = REPO / "audio"


def play(node_id: str, audio_ids: list[str], following: str, **config: Any) -> dict[str, Any]:
    items = [{"type": "audioFile", "audioId": audio_id} for audio_id in audio_ids]
    return {
        "id": node_id,
        "type": "play",
        "config": {"audioItems": items, **config},
        "outputs": {"default": following},
    }


def menu(node_id: str = "menu", **config: Any) -> dict[str, Any]:
    return {
        "id": node_id,
        "type": "dtmf",
        "config": {"singleDigitConfig": {"allowedDigits": ["1", "2"]}, "timeout": 2000, **config},
        "outputs": {"branches": {"1": "end"}, "default": "end"},
    }


def flow(*nodes: dict[str, Any], **settings: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "name": "t",
        "graph": {
            "startNodeId": nodes[0]["id"],
            "nodes": [*nodes, {"id": "end", "type": "hangup"}],
        },
    }
    if settings:
        document["settings"] = settings
    return document


def test_several_items_play_as_one_gapless_file_string(harness: Harness) -> None:
    add_flow(harness, "t", flow(play("p", ["greeting-audio-id", "ivr/thanks"], "end")))
    sim_call = harness.place("t")
    harness.record_of(sim_call)
    outcome = sim_call.wait(10)
    assert outcome.app("playback").arg == (
        f"file_string://{AUDIO / 'greeting-audio-id.wav'}!{AUDIO / 'ivr/thanks.wav'}"
    )
    assert outcome.app("playback").response == "FILE PLAYED"


def test_every_execute_carries_event_lock_and_its_own_event_uuid(harness: Harness) -> None:
    sim_call = harness.place("inbound-ivr", "press 0")
    harness.record_of(sim_call)
    sendmsgs = [
        frame
        for frame in sim_call.wait(10).frames_received
        if frame.startswith(b"sendmsg") and b"call-command: execute" in frame
    ]
    assert sendmsgs
    assert all(b"\nevent-lock: true" in frame for frame in sendmsgs)
    uuids = [frame.split(b"Event-UUID: ")[1].split(b"\n")[0] for frame in sendmsgs]
    assert len(set(uuids)) == len(uuids)


def test_the_session_starts_with_connect_myevents_and_a_finite_linger(harness: Harness) -> None:
    sim_call = harness.place("inbound-ivr", "press 0")
    harness.record_of(sim_call)
    commands = sim_call.wait(10).commands
    assert commands[:2] == ["connect", "myevents"]
    assert commands[2].startswith("nixevent CHANNEL_ANSWER ") and commands[3] == "linger 5"


def test_the_events_nothing_reads_are_not_sent(harness: Harness) -> None:
    sim_call = harness.place("inbound-ivr", "press 0")
    harness.record_of(sim_call)
    outcome = sim_call.wait(10)
    names = {
        line.split(b": ", 1)[1].strip().decode()
        for frame in outcome.frames_sent
        if b"text/event-plain" in frame  # not the connect reply (a CHANNEL_DATA block)
        for line in frame.split(b"\n")
        if line.startswith(b"Event-Name: ")
    }
    assert names, "no event reached the controller"
    assert names <= {  # CHANNEL_EXECUTE only where asked for (answering-machine detection)
        "CHANNEL_EXECUTE_COMPLETE",
        "CHANNEL_HANGUP",
        "CHANNEL_HANGUP_COMPLETE",
        "DTMF",
    }


def test_a_key_pressed_during_an_interruptible_prompt_answers_the_menu(harness: Harness) -> None:
    add_flow(harness, "t", flow(play("p", ["ivr/menu"], "menu", interruptible=True), menu()))
    sim_call = harness.place("t", "press 1 during playback after 0.1s")
    record = harness.record_of(sim_call)
    assert harness.path(record)[1] == ("menu", "branches.1")
    assert "play_and_get_digits" not in sim_call.wait(10).app_names  # type-ahead used


def test_without_type_ahead_the_menu_starts_clean(harness: Harness) -> None:
    add_flow(
        harness,
        "t",
        flow(play("p", ["ivr/menu"], "menu", interruptible=True), menu(), typeAhead=False),
    )
    record = harness.run("t", "press 1 during playback after 0.1s; silent")
    assert harness.path(record)[1] == ("menu", "onTimeout")


def test_keys_pressed_two_prompts_ago_never_answer_a_menu(harness: Harness) -> None:
    add_flow(
        harness,
        "t",
        flow(
            play("first", ["ivr/menu"], "second", interruptible=True),
            play("second", ["ivr/thanks"], "menu"),
            menu(),
        ),
    )
    record = harness.run("t", "press 1 during playback after 0.1s; silent")
    assert harness.path(record)[2] == ("menu", "onTimeout")


def test_record_session_keeps_the_whole_call(harness: Harness) -> None:
    add_flow(harness, "t", flow(play("p", ["ivr/thanks"], "end"), recordSession=True))
    sim_call = harness.place("t")
    record = harness.record_of(sim_call)
    [session_file] = record.recordings
    assert session_file.endswith("-session.wav")
    assert sim_call.wait(10).app("record_session").arg == session_file


def test_variables_from_sys_contact_and_earlier_nodes(harness: Harness) -> None:
    set_greeting = {
        "id": "s",
        "type": "set_variable",
        "config": {
            "variable": "greeting",
            "value": "{{contact.firstName}} {{sys.callId}} {{missing}}",
        },
        "outputs": {"default": "end"},
    }
    add_flow(harness, "t", flow(set_greeting))
    sim_call = harness.place("t", contact={"firstName": "Amina"})
    record = harness.record_of(sim_call)
    assert record.variables["greeting"] == f"Amina {sim_call.uuid} "
    assert record.variables["_unsetReads"] == ["missing"]


def test_a_runaway_loop_is_stopped_by_the_step_cap(tmp_path, flows_dir) -> None:
    capped = build_harness(tmp_path, flows_dir, max_steps=20)
    try:
        looping = {
            "id": "menu",
            "type": "dtmf",
            "config": {"timeout": 1000},
            "outputs": {"onTimeout": "again", "default": "end"},
        }
        again = play("again", ["ivr/no-input"], "menu")
        add_flow(capped, "t", flow(looping, again))
        record = capped.run("t", "silent")  # an exhausted script stays silent forever
    finally:
        close_harness(capped)
    assert record.result == "flow_limit"
    assert len(record.path) == 20
    assert record.hangupCause == "NORMAL_TEMPORARY_FAILURE"


def test_freeswitch_vanishing_mid_call_still_gives_one_record(harness: Harness) -> None:
    harness.watcher.hook = lambda call, node: (
        harness.watcher.sim_calls[call.id].vanish() if node.id == "menu" else None
    )
    record = harness.run("inbound-ivr", "press 1")
    assert record.result == "disconnected"
    assert record.hangupBy == "freeswitch"
    assert record.path[-1].nodeId == "menu"
    assert len(harness.written_records()) == 1
    assert harness.server.active == 0


def test_barge_in_is_turned_off_with_a_set_when_the_dialplan_did_not(harness: Harness) -> None:
    add_flow(harness, "t", flow(play("p", ["greeting-audio-id"], "end")))
    sim_call = harness.place("t")
    harness.record_of(sim_call)
    outcome = sim_call.wait(10)
    assert outcome.app_names[0] == "set"
    assert outcome.apps[0].arg == "playback_terminators=none"


def test_no_set_is_sent_when_the_dialplan_already_turned_barge_in_off(harness: Harness) -> None:
    add_flow(harness, "t", flow(play("p", ["greeting-audio-id"], "end")))
    sim_call = harness.place("t", variables={"playback_terminators": "none"})
    harness.record_of(sim_call)
    assert sim_call.wait(10).app_names == ["playback"]
