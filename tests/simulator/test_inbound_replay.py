"""Transcript replay, inbound side: the recorded controller's IN commands (and its OUT socket's,
where the recording has one) against the simulator's event socket and originate, compared
with what FreeSWITCH sent (test_inbound_replay_support.compare_inbound says how).

The recordings' callees (README "The test dialplan") are the simulator's callees here
(test_inbound_support.DIALPLAN). What is not compared, and why:

- originate-respond486: the callee ran `respond 486` where the simulator's callee hangs up
  with NORMAL_CLEARING; the B leg's current_application/last_app differ (cosmetic).
- originate-noanswer-leg-timeout, second originate (`api`): FreeSWITCH fired the A leg's
  CHANNEL_PROGRESS before its CHANNEL_CREATE, from a state it had not reached (CS_INIT,
  number 1, loopback_leg not set yet): a race between its threads. Only which events each leg
  got is compared there.
- originate-sofia-*: FreeSWITCH dialled itself, so the callee is a second, inbound SIP channel
  with ~80 SIP/SDP variables that a gateway call would not have; the simulator makes the A leg
  only. test_sofia_legs_give_the_recorded_results checks the A leg's events and the results.
"""

from __future__ import annotations

from typing import Any

import pytest
from sim_harness import Replay, compare
from test_inbound_replay_support import compare_inbound, replay_inbound

from controller.esl.messages import parse_event

B_LEG_APP = (
    "variable_current_application_data",
    "variable_current_application",
    "variable_last_app",
    "variable_last_arg",
)

CASES: list[tuple[str, dict[str, Any]]] = [
    ("inbound-auth-api", {}),
    ("originate-answer", {}),
    ("originate-busy", {}),
    ("originate-noanswer", {}),
    ("originate-noanswer-leg-timeout", {"racy": (1,)}),
    ("originate-reject", {}),
    ("originate-unallocated", {}),
    ("originate-respond486", {"volatile": B_LEG_APP}),
    ("originate-no-such-extension", {"loose": (0,)}),
    ("originate-error-user-busy", {}),
    ("originate-error-no-answer", {}),
    ("originate-error-call-rejected", {}),
    ("originate-bad-endpoint", {}),
    ("originate-socket-refused", {}),
    ("originate-sps-throttle", {}),
    ("outbound-connect-UNQUOTED-socket-arg-static", {}),
    ("outbound-connect", {}),
    ("bgapi-from-outbound", {}),
]


@pytest.mark.parametrize(("name", "options"), CASES, ids=[c[0] for c in CASES])
def test_inbound_replay_matches_the_recording(name: str, options: dict[str, Any]) -> None:
    result = replay_inbound(name)
    assert compare_inbound(result, **options) == []


@pytest.mark.parametrize(
    "name",
    ["outbound-connect-UNQUOTED-socket-arg-static", "outbound-connect", "bgapi-from-outbound"],
)
def test_an_originated_calls_socket_matches_the_recording(name: str) -> None:
    """The OUT side too: the call an originate made talks to the controller as recorded."""
    result = replay_inbound(name)
    assert result.out is not None
    expected, actual = result.out
    drop = ("CHANNEL_PARK",)  # seen or not, by timing (sim_harness.IGNORED_EVENTS)

    def kept(frames: list[Any]) -> list[Any]:
        return [f for f in frames if (e := parse_event(f)) is None or e.name not in drop]

    port = next(p for p, recorded in result.ports.items() if recorded == 8084)
    assert compare(Replay(kept(expected), kept(actual), port)) == []


SOFIA_VALUES = ("Answer-State", "Channel-Call-State", "Hangup-Cause", "variable_sip_term_status")


@pytest.mark.parametrize(
    "name",
    ["originate-sofia-answer", "originate-sofia-busy", "originate-sofia-noanswer",
     "originate-sofia-unreachable"],
)  # fmt: skip
def test_sofia_legs_give_the_recorded_results(name: str) -> None:
    """The A leg's events (names, answer and call states, causes, SIP status) and every reply,
    response and job result, as recorded; the recording's second SIP channel (FreeSWITCH
    calling itself) is left out."""
    result = replay_inbound(name)
    for conn in result.conns:
        originates = [
            c.split("origination_uuid=")[1][:36] for c in conn.commands if "origination_uuid" in c
        ]

        def a_leg(frames: list[Any], uuids: list[str] = originates) -> list[tuple[str, ...]]:
            rows = []
            for frame in frames:
                event = parse_event(frame)
                if event is None:
                    rows.append((frame.content_type, frame.body.decode()))
                elif event.name == "BACKGROUND_JOB":
                    rows.append((event.name, event.body or ""))
                elif event.get("Unique-ID") in uuids:
                    values = tuple(event.get(k) or "" for k in SOFIA_VALUES)
                    rows.append((event.name, event.get("Unique-ID") or "", *values))
            return rows

        def until_hupall(rows: list[tuple[str, ...]]) -> list[tuple[str, ...]]:
            """After `hupall` the probe left at once: whether the SIP leg's hangup made it
            before `exit` is timing (it did not, in the recording); only replies count."""
            cut = next((i for i, r in enumerate(rows) if r[1].startswith("+OK hangup all")), None)
            if cut is None:
                return rows
            return rows[: cut + 1] + [r for r in rows[cut + 1 :] if "/" in r[0]]

        want, got = until_hupall(a_leg(conn.expected)), until_hupall(a_leg(conn.actual))
        # A job's result may come before or after the A leg's last events (a race in
        # FreeSWITCH); compare it where it is, and everything else in order.
        assert sorted(w for w in want if w[0] == "BACKGROUND_JOB") == sorted(
            g for g in got if g[0] == "BACKGROUND_JOB"
        )
        assert [w for w in want if w[0] != "BACKGROUND_JOB"] == [
            g for g in got if g[0] != "BACKGROUND_JOB"
        ]
