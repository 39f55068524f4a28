"""`originate` through the simulator's event socket: every callee outcome with the exact results
and event order, dial-string variables, timeouts, error endpoints, gateways, the
sessions-per-second throttle, hupall/show/uuid_kill on originated legs. Real TCP, every wait
bounded. (The `&socket` application: test_inbound_socket.py.)
"""

from __future__ import annotations

import pytest
from test_inbound_support import UUID, bgapi, free_port, inbound_sim, labels, legs, start

from controller.simulator import Simulator
from controller.simulator.callee import Callee

FAILURE = [
    "CHANNEL_CREATE A",
    "CHANNEL_CREATE B",
    "CHANNEL_HANGUP B",
    "CHANNEL_HANGUP A",
    "CHANNEL_HANGUP_COMPLETE B",
    "CHANNEL_HANGUP_COMPLETE A",
    "BACKGROUND_JOB",
]


@pytest.mark.parametrize(
    ("callee", "cause"),
    [
        ("busy", "USER_BUSY"),
        ("reject", "CALL_REJECTED"),
        ("unallocated", "UNALLOCATED_NUMBER"),
        ("unreachable", "NORMAL_TEMPORARY_FAILURE"),
        ("SUBSCRIBER_ABSENT", "SUBSCRIBER_ABSENT"),
    ],
)
def test_a_callee_that_fails_gives_its_cause_after_both_legs_complete(
    callee: str, cause: str
) -> None:
    with inbound_sim() as (sim, address):
        sim.add_callee("0600000001", callee)
        client = start(address)
        body, events = bgapi(client, f"{{origination_uuid={UUID}}}loopback/0600000001/ctx &park()")
        assert body == f"-ERR {cause}\n"
        assert legs(events) == FAILURE
        assert {e.get("Hangup-Cause") for e in events[2:6]} == {cause}
        a_hangup = events[3]
        assert (a_hangup.get("Answer-State"), a_hangup.get("Channel-Call-State")) == (
            "hangup",
            "DOWN",
        )
        assert client.api(f"uuid_exists {UUID}") == "false"
        # The same through `api`: the response first, then the events it held back.
        assert client.api("originate loopback/0600000001/ctx &park()") == f"-ERR {cause}\n"
        assert labels(client.frames[client._pos : client._pos + 6]) == [
            "CHANNEL_CREATE",
            "CHANNEL_CREATE",
            "CHANNEL_HANGUP",
            "CHANNEL_HANGUP",
            "CHANNEL_HANGUP_COMPLETE",
            "CHANNEL_HANGUP_COMPLETE",
        ]


def test_an_answered_call_parks_with_the_variables_of_the_dial_string() -> None:
    with inbound_sim() as (_, address):
        client = start(address)
        arg = (
            f"{{origination_uuid={UUID},flow=demo,note='two words, one comma'}}"
            "[leg_var=1]loopback/callee-silent/ctx &park()"
        )
        body, events = bgapi(client, arg)
        assert body == f"+OK {UUID}\n"
        assert legs(events) == [
            "CHANNEL_CREATE A",
            "CHANNEL_CREATE B",
            "CHANNEL_ANSWER A",
            "CHANNEL_ANSWER B",
            "BACKGROUND_JOB",
        ]
        a = events[0]
        assert a.get("Channel-Name") == "loopback/callee-silent-a"
        assert a.variable("flow") == "demo" and a.variable("leg_var") == "1"
        # FreeSWITCH strips the quotes before it splits the list: the value stops at the comma.
        assert a.variable("note") == "two words"
        names = [k for k, _ in a.items if k.startswith("variable_")]
        assert names.index("variable_leg_var") < names.index("variable_origination_uuid")
        assert events[1].variable("other_loopback_leg_uuid") == UUID
        assert client.api(f"uuid_exists {UUID}") == "true"
        assert client.api(f"uuid_getvar {UUID} flow") == "demo"
        assert client.api(f"uuid_getvar {UUID} current_application") == "park"
        assert client.api(f"uuid_kill {UUID}") == "+OK\n"
        ends = [client.next_event() for _ in range(4)]
        assert legs(ends) == [
            "CHANNEL_HANGUP A",
            "CHANNEL_HANGUP B",
            "CHANNEL_HANGUP_COMPLETE A",
            "CHANNEL_HANGUP_COMPLETE B",
        ]
        assert ends[2].variable("caller_id") == '"Outbound Call" <ctx>'
        assert ends[2].variable("last_app") == "park"


def test_the_caret_delimiter_and_escaped_commas_keep_commas_in_values() -> None:
    with inbound_sim() as (sim, _):
        sim.originate(f"{{^^:origination_uuid={UUID}:list=a,b}}loopback/callee-silent/c &park()")
        assert sim.api("uuid_getvar", f"{UUID} list") == "a,b"
        other = "5c79fa9a-6c9c-4db2-8911-7b0588a69512"
        sim.originate(f"{{origination_uuid={other},list=a\\,b}}loopback/callee-silent/c &park()")
        assert sim.api("uuid_getvar", f"{other} list") == "a,b"


def test_originate_timeout_gives_no_answer_and_leg_timeout_allotted_timeout() -> None:
    """Whole-second arithmetic on the call clock: originate_timeout=3 fires 2..3 s after the
    start, [leg_timeout=3] 3..4 s after (here the call starts at x.5)."""
    with inbound_sim(start_time=1_000_000.5) as (_, address):
        client = start(address)
        body, events = bgapi(
            client,
            f"{{origination_uuid={UUID},originate_timeout=3}}loopback/callee-noanswer/c &park()",
        )
        assert body == "-ERR NO_ANSWER\n"
        assert legs(events) == [
            "CHANNEL_CREATE A",
            "CHANNEL_CREATE B",
            "CHANNEL_PROGRESS A",
            "CHANNEL_PROGRESS B",
            "CHANNEL_HANGUP A",
            "CHANNEL_HANGUP B",
            "CHANNEL_HANGUP_COMPLETE A",
            "CHANNEL_HANGUP_COMPLETE B",
            "BACKGROUND_JOB",
        ]
        hangup = int(events[4].get("Event-Date-Timestamp") or 0) / 1e6
        assert hangup - 1_000_000.5 == pytest.approx(2.5, abs=0.05)
        other = "5c79fa9a-6c9c-4db2-8911-7b0588a69512"
        body, events = bgapi(
            client, f"{{origination_uuid={other}}}[leg_timeout=3]loopback/callee-noanswer/c &park()"
        )
        assert body == "-ERR ALLOTTED_TIMEOUT\n"
        assert events[4].get("Hangup-Cause") == "ALLOTTED_TIMEOUT"
        hangup = int(events[4].get("Event-Date-Timestamp") or 0) / 1e6
        assert hangup - 1_000_000.5 == pytest.approx(3.5, abs=0.05)
        complete = events[6]
        assert complete.variable("hangup_cause_q850") == "16"
        assert complete.variable("progress_stamp")


def test_a_callee_that_rings_first_then_answers() -> None:
    with inbound_sim() as (sim, address):
        sim.add_callee("0600000001", Callee(ring_seconds=40))
        client = start(address)
        body, events = bgapi(client, f"{{origination_uuid={UUID}}}loopback/0600000001/c &park()")
        assert body == f"+OK {UUID}\n"
        assert legs(events)[2:6] == [
            "CHANNEL_PROGRESS A",
            "CHANNEL_PROGRESS B",
            "CHANNEL_ANSWER A",
            "CHANNEL_ANSWER B",
        ]
        rang = int(events[4].get("Event-Date-Timestamp") or 0) - int(
            events[2].get("Event-Date-Timestamp") or 0
        )
        assert rang == pytest.approx(40_000_000, abs=50_000)  # call time, not real time


def test_error_endpoints_and_unknown_endpoint_types_fail_at_once_without_channels() -> None:
    with inbound_sim() as (_, address):
        client = start(address)
        for dial, cause in [
            ("error/user_busy", "USER_BUSY"),
            ("error/no_answer", "NO_ANSWER"),
            ("error/call_rejected", "CALL_REJECTED"),
            ("nosuchtech/foo", "CHAN_NOT_IMPLEMENTED"),
        ]:
            body, events = bgapi(client, f"{{origination_uuid={UUID}}}{dial} &park()")
            assert (body, legs(events)) == (f"-ERR {cause}\n", ["BACKGROUND_JOB"])


def test_a_gateway_call_has_one_leg_and_the_sip_status() -> None:
    with inbound_sim() as (sim, address):
        sim.add_callee("0600000001", "busy")
        client = start(address)
        body, events = bgapi(
            client, f"{{origination_uuid={UUID}}}sofia/gateway/gw1/0600000001 &park()"
        )
        assert body == "-ERR USER_BUSY\n"
        assert legs(events) == [
            "CHANNEL_CREATE A",
            "CHANNEL_HANGUP A",
            "CHANNEL_HANGUP_COMPLETE A",
            "BACKGROUND_JOB",
        ]
        assert events[1].variable("sip_term_status") == "486"
        assert events[0].get("Caller-Destination-Number") == "0600000001"
        assert "Channel-Read-Codec-Name" not in events[0].headers  # no media yet


def test_the_sessions_per_second_throttle_refuses_over_budget_originates() -> None:
    with inbound_sim(sessions_per_second=5) as (_, address):
        client = start(address)
        client.command("nixevent CHANNEL_CREATE CHANNEL_HANGUP CHANNEL_HANGUP_COMPLETE")
        results = [bgapi(client, "loopback/callee-busy/c &park()")[0] for _ in range(20)]
        assert results.count("-ERR USER_BUSY\n") == 2  # a loopback call takes 2 sessions
        assert results.count("-ERR DESTINATION_OUT_OF_ORDER\n") == 18
        assert client.api("fsctl sps 1000") == "+OK sessions per second: 1000\n"
        assert bgapi(client, "loopback/callee-busy/c &park()")[0] == "-ERR USER_BUSY\n"


def test_place_call_passes_audio_to_the_session() -> None:
    sim = Simulator(("127.0.0.1", free_port()))
    try:
        marker = object()
        call = sim.place_call(None, audio=marker)
        assert call.session.audio_timeline is marker
        assert sim.place_call(None).session.audio_timeline is None
    finally:
        sim.close()


def test_hupall_and_show_channels_see_originated_legs() -> None:
    with inbound_sim() as (sim, address):
        client = start(address)
        sim.originate(f"{{origination_uuid={UUID}}}loopback/callee-silent/c &park()")
        assert client.api("show channels count") == "\n2 total.\n"
        listing = client.api("show channels")
        assert listing.startswith("uuid,direction,created,")
        assert f"{UUID},outbound," in listing and listing.endswith("\n\n2 total.\n")
        assert '"row_count": 2' in client.api("show channels as json")
        assert client.api("hupall") == "+OK hangup all channels with cause MANAGER_REQUEST\n"
        causes = [client.next_event("CHANNEL_HANGUP").get("Hangup-Cause") for _ in range(2)]
        assert causes == ["MANAGER_REQUEST"] * 2


def test_uuid_kill_while_it_rings_ends_the_originate() -> None:
    with inbound_sim(clock="real") as (sim, address):
        sim.add_callee("0600000001", "ring 30s")
        client = start(address)
        job = client.command(
            f"bgapi originate {{origination_uuid={UUID}}}loopback/0600000001/c &park()"
        ).job_uuid
        client.next_event("CHANNEL_PROGRESS")
        assert client.api(f"uuid_kill {UUID} ORIGINATOR_CANCEL") == "+OK\n"
        assert client.job(job or "").body == "-ERR ORIGINATOR_CANCEL\n"


def test_a_parked_calls_callee_hangs_up_when_its_script_says() -> None:
    with inbound_sim() as (sim, address):
        sim.add_callee("0600000001", "answer: hangup after 10s")
        client = start(address)
        assert bgapi(client, f"{{origination_uuid={UUID}}}loopback/0600000001/c &park()")[0] == (
            f"+OK {UUID}\n"
        )
        ends = [client.next_event() for _ in range(4)]  # call time: no real 10 s
        assert legs(ends) == [
            "CHANNEL_HANGUP B",
            "CHANNEL_HANGUP A",
            "CHANNEL_HANGUP_COMPLETE B",
            "CHANNEL_HANGUP_COMPLETE A",
        ]
        billed = int(ends[3].variable("billsec") or 0)
        assert billed == 10
