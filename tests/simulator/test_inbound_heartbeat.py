"""The simulator's HEARTBEAT (switch_core.c send_heartbeat) and its freeze()/thaw() test hook
(a FreeSWITCH stopped with its TCP connections open). Real TCP; every wait has a timeout."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from test_inbound_support import InboundClient

from controller.simulator import Simulator

QUIET = 0.3  # how long "nothing arrives" is watched for


@pytest.fixture
def sim() -> Iterator[Simulator]:
    simulator = Simulator(("127.0.0.1", 9))
    try:
        yield simulator
    finally:
        simulator.close()


def test_heartbeats_come_at_the_interval_with_freeswitchs_headers(sim: Simulator) -> None:
    client = InboundClient(sim.start_inbound(heartbeat_interval=0.05)).login()
    assert client.command("event plain HEARTBEAT").text == "+OK event listener enabled plain"
    first = client.next_event("HEARTBEAT")
    second = client.next_event("HEARTBEAT")
    assert first.get("Event-Info") == "System Ready"
    assert first.get("Event-Calling-Function") == "send_heartbeat"
    assert first.get("Up-Time", "").startswith("0 years, 0 days, 0 hours, 0 minutes, ")
    for header in ("FreeSWITCH-Version", "Uptime-msec", "Session-Count", "Max-Sessions"):
        assert first.get(header), header
    assert int(second.get("Event-Sequence")) > int(first.get("Event-Sequence"))
    client.close()


def test_heartbeats_reach_only_those_subscribed(sim: Simulator) -> None:
    address = sim.start_inbound(heartbeat_interval=0.05)
    quiet = InboundClient(address).login()
    assert quiet.command("event plain BACKGROUND_JOB").text.startswith("+OK")
    listening = InboundClient(address).login()
    listening.command("event plain HEARTBEAT")
    listening.next_event("HEARTBEAT")
    with pytest.raises(TimeoutError):
        quiet.next_frame(timeout=QUIET)


def test_a_frozen_server_says_nothing_then_runs_what_it_was_sent(sim: Simulator) -> None:
    address = sim.start_inbound(heartbeat_interval=0.05)
    client = InboundClient(address).login()
    client.command("event plain HEARTBEAT BACKGROUND_JOB")
    client.next_event("HEARTBEAT")
    assert sim.inbound is not None
    sim.inbound.freeze()
    client.send("bgapi status", {"Job-UUID": "11111111-1111-4111-8111-111111111111"})
    late = InboundClient(address)  # the kernel accepts it; FreeSWITCH does not greet it
    with pytest.raises(TimeoutError):
        client.next_frame(timeout=QUIET)  # no heartbeat, no reply
    with pytest.raises(TimeoutError):
        late.next_frame(timeout=QUIET)

    sim.inbound.thaw()
    reply = client.next_reply()
    assert reply.text == "+OK Job-UUID: 11111111-1111-4111-8111-111111111111"
    assert client.job("11111111-1111-4111-8111-111111111111").body.startswith("UP ")
    assert late.login() is late
    client.next_event("HEARTBEAT")
