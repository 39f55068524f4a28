"""Transcript replay: the recorded controller's commands against the simulator.

Each case plays a real FreeSWITCH recording's OUT commands (../shared/freeswitch/transcripts)
with the caller the recording's test dialplan had (README "The test dialplan": callee-silent,
callee-press-<d>, callee-hangup-<ms>, ...), and compares what the simulator sent with what
FreeSWITCH sent, frame by frame: the frame kinds and event names in order, each event's header
names in order, and the values that matter (applications and their responses, states, digits,
replies, notices, every channel variable except identities, times and durations).

Times in the callers are shortened where nothing depends on them (a hangup while parked costs
real time, even with the simulated clock). CHANNEL_PARK is left out on both sides: whether a
socket sees it depends on a race in FreeSWITCH (it is fired while the first commands arrive).
"""

from __future__ import annotations

from typing import Any

import pytest
from sim_harness import compare, replay

from controller.esl.messages import parse_event

RECORD_TIMES = ("variable_record_ms", "variable_record_seconds", "variable_record_samples",
                "variable_record_file_size", "variable_record_record_file_size")  # fmt: skip

CASES: list[tuple[str, str, dict[str, Any]]] = [
    ("playback-ok", "silent", {}),
    ("playback-missing", "silent", {}),
    ("playback-filestring", "silent", {}),
    ("playback-dtmf-terminators-any", "press 1 at 1s", {}),
    ("playback-dtmf-default", "press 1 at 1s", {}),
    ("pagd-digits", "press 1 at 1.5s", {}),
    ("pagd-invalid", "press 5 at 1.5s", {}),
    ("pagd-timeout", "silent", {}),
    ("pagd-invalid-then-timeout", "press 5 at 1.5s", {}),
    ("pagd-multi", "press 123# at 1.5s", {}),
    ("read", "press 1 at 1.5s", {}),
    ("record", "silent", {}),
    ("record-hangup", "hangup after 2.5s", {}),
    ("record-dtmf-stop", "press # at 2s", {}),
    ("record-session", "silent", {"volatile": RECORD_TIMES}),
    ("hangup-app", "silent", {}),
    ("outbound-hangup-app-from-connect", "silent", {}),
    ("set-export", "silent", {}),
    ("disconnect-linger", "hangup after 0.2s", {}),
    ("disconnect-linger-2s", "hangup after 0.2s", {}),
    ("disconnect-nolinger", "hangup after 0.2s", {}),
    ("linger-forever-leak", "hangup after 0.2s", {}),
    ("linger-5-controller-hangup", "silent", {}),
    ("dtmf-events", "press 123# at 0.2s", {}),
    ("sendmsg-after-hangup", "hangup after 0.2s", {}),
    ("outbound-connect", "silent", {}),
    ("outbound-event-json", "silent", {}),
    ("bgapi-from-outbound", "silent", {}),
    ("outbound-connect-UNQUOTED-socket-arg-static", "silent", {"call": {"socket_args": ""}}),
    ("outbound-static-mode", "silent", {"call": {"socket_args": "full"}}),
    # Nesting and uuid_break need media to take real time.
    ("execute-queue-uuid", "silent", {"clock": "real"}),
    ("playback-break", "silent", {"clock": "real"}),
]


@pytest.mark.parametrize(("name", "caller", "options"), CASES, ids=[c[0] for c in CASES])
def test_replay_matches_the_recording(name: str, caller: str, options: dict[str, Any]) -> None:
    options = dict(options)
    volatile = options.pop("volatile", ())
    result = replay(name, caller, **options)
    assert compare(result, volatile=volatile) == []


def test_record_with_a_speaking_caller_lasts_as_long_as_freeswitch_allows() -> None:
    """record-human: `record path 3` on a speaking caller lasts 3..4 s (whole-second epoch
    arithmetic; FreeSWITCH wrote 3160 ms), and then `record path 20 200 2` on the silence
    after the greeting writes nothing and stops after 2 s of silence."""
    result = replay("record-human", "speak 3s; silent")
    assert compare(result, volatile=RECORD_TIMES) == []
    stops = [e for e in map(parse_event, result.actual) if e and e.name == "RECORD_STOP"]
    first, second = (int(e.variable("record_ms") or -1) for e in stops)
    assert (first, second) == (3000, 0)
    start = next(e for e in map(parse_event, result.actual) if e and e.name == "RECORD_START")
    lasted = int(stops[0].get("Event-Date-Timestamp") or 0) - int(
        start.get("Event-Date-Timestamp") or 0
    )
    assert 3_000_000 < lasted <= 4_000_000  # call time: it cost no real time
    assert stops[1].variable("silence_hits_exhausted") == "true"
