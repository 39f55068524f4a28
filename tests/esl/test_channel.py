"""Channel command/reply pairing over a real socket pair (FreeSWITCH's side written by hand)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import gevent
import pytest
from gevent import socket

from controller.esl.channel import Channel
from controller.esl.protocol import opening
from controller.esl.serialize import (
    encode_api_response,
    encode_connect_reply,
    encode_event_plain,
    encode_reply,
)
from controller.exceptions import CommandTimeout, ESLError

UUID = "0b0e7c6e-4b8f-4c55-9d1a-3a3e1f6c2b11"


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    ours, theirs = socket.socketpair()
    yield ours, theirs
    ours.close()
    theirs.close()


def _read_commands(sock: socket.socket, count: int) -> list[bytes]:
    """What the controller wrote, split into commands (each ends with a blank line)."""
    data = b""
    with gevent.Timeout(5):
        while data.count(b"\n\n") < count:
            data += sock.recv(4096)
    return data.split(b"\n\n")[:count]


def _connect_reply() -> bytes:
    return encode_connect_reply([("Event-Name", "CHANNEL_DATA"), ("Unique-ID", UUID)])


def test_the_opening_is_four_commands_in_one_write() -> None:
    commands = opening(5).split(b"\n\n")
    assert commands[:2] == [b"connect", b"myevents"] and commands[3:] == [b"linger 5", b""]
    assert commands[2].startswith(b"nixevent CHANNEL_ANSWER ")


def _starting(
    pair: tuple[socket.socket, socket.socket],
    nixevent: str = "+OK",
    linger: str = "+OK",
    **options: Any,
) -> tuple[Channel, gevent.Greenlet]:
    """A channel starting; FreeSWITCH's side reads the opening and answers it, all four
    replies in one segment (as it may)."""
    ours, theirs = pair
    channel = Channel(ours, command_timeout=5, **options)
    starting = gevent.spawn(channel.start, linger_seconds=5)
    connect, events, unread, linger_command = _read_commands(theirs, 4)
    assert (connect, events, linger_command) == (b"connect", b"myevents", b"linger 5")
    assert unread.startswith(b"nixevent ")
    theirs.sendall(
        _connect_reply()
        + encode_reply("+OK Events Enabled")
        + encode_reply(nixevent)
        + encode_reply(linger)
    )
    return channel, starting


def _started(pair: tuple[socket.socket, socket.socket]) -> Channel:
    channel, starting = _starting(pair)
    starting.get(timeout=5)
    return channel


def test_start_pairs_the_four_replies_in_order(pair: tuple[socket.socket, socket.socket]) -> None:
    channel = _started(pair)
    assert channel.uuid == UUID
    channel.close()


def test_every_read_and_write_passes_the_checkpoint(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    """Where the server lets new calls in while this one keeps the hub busy."""
    passes: list[int] = []
    channel, starting = _starting(pair, checkpoint=lambda: passes.append(1))
    starting.get(timeout=5)
    assert len(passes) >= 2  # the opening written, its replies read
    before = len(passes)
    asking = gevent.spawn(channel.api, "status", timeout=5)
    assert _read_commands(pair[1], 1) == [b"api status"]
    pair[1].sendall(encode_api_response("UP 0 years"))
    assert asking.get(timeout=5) == "UP 0 years"
    assert len(passes) == before + 2
    channel.close()


def test_a_refused_nixevent_only_means_more_events(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    channel, starting = _starting(pair, nixevent="-ERR command not found")
    starting.get(timeout=5)
    assert channel.uuid == UUID
    channel.close()


def test_a_refused_linger_is_reported(pair: tuple[socket.socket, socket.socket]) -> None:
    channel, starting = _starting(pair, linger="-ERR nope")
    with pytest.raises(ESLError, match="linger"):
        starting.get(timeout=5)
    channel.close()


def test_a_late_reply_is_not_taken_for_the_next_command(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    channel = _started(pair)
    with pytest.raises(CommandTimeout):
        channel.api("status", timeout=0.05)  # FreeSWITCH is slow to answer this one
    second = gevent.spawn(channel.api, "uuid_exists x", timeout=5)
    assert _read_commands(pair[1], 2) == [b"api status", b"api uuid_exists x"]
    pair[1].sendall(encode_api_response("UP 0 years") + encode_api_response("true"))
    assert second.get(timeout=5) == "true"
    channel.close()


def test_an_execute_refused_by_freeswitch_fails_at_once(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    channel = _started(pair)
    running = gevent.spawn(channel.execute, "playback", "/a.wav", timeout=30)
    _read_commands(pair[1], 1)
    pair[1].sendall(encode_reply("-ERR no such channel"))
    with pytest.raises(ESLError, match="execute playback: FreeSWITCH answered '-ERR no such"):
        running.get(timeout=5)
    channel.close()


def test_an_execute_returns_its_own_completion(pair: tuple[socket.socket, socket.socket]) -> None:
    channel = _started(pair)
    running = gevent.spawn(channel.execute, "playback", "/a.wav", timeout=30)
    (sendmsg,) = _read_commands(pair[1], 1)
    event_uuid = sendmsg.split(b"Event-UUID: ")[1].split(b"\n")[0].decode()
    completion = [
        ("Event-Name", "CHANNEL_EXECUTE_COMPLETE"),
        ("Unique-ID", UUID),
        ("Application", "playback"),
        ("Application-UUID", event_uuid),
        ("Application-Response", "FILE PLAYED"),
    ]
    other = [*completion[:3], ("Application-UUID", "someone-else"), completion[4]]
    pair[1].sendall(
        encode_reply("+OK") + encode_event_plain(other) + encode_event_plain(completion)
    )
    assert running.get(timeout=5).get("Application-UUID") == event_uuid
    channel.close()


def test_a_hangup_waits_for_freeswitch_to_report_it(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    channel = _started(pair)
    hanging_up = gevent.spawn(channel.hangup, "NORMAL_CLEARING", timeout=5)
    assert _read_commands(pair[1], 1) == [f"api uuid_kill {UUID} NORMAL_CLEARING".encode()]
    digit = [("Event-Name", "DTMF"), ("Unique-ID", UUID), ("DTMF-Digit", "5")]
    pair[1].sendall(encode_api_response("+OK\n") + encode_event_plain(digit))
    assert channel.wait_digit(5)  # the reader got past the +OK...
    assert not hanging_up.ready()  # ...and the reply alone is not the hangup
    pair[1].sendall(
        encode_event_plain(
            [("Event-Name", "CHANNEL_HANGUP"), ("Unique-ID", UUID), ("Hangup-Cause", "X_Y")]
        )
    )
    hanging_up.get(timeout=5)
    assert channel.ended and channel.hangup_cause == "X_Y"
    channel.close()


def test_a_refused_hangup_is_reported(pair: tuple[socket.socket, socket.socket]) -> None:
    channel = _started(pair)
    hanging_up = gevent.spawn(channel.hangup, "NORMAL_CLEARING", timeout=5)
    _read_commands(pair[1], 1)
    pair[1].sendall(encode_api_response("-ERR No such channel!\n"))
    with pytest.raises(ESLError, match="uuid_kill: FreeSWITCH answered '-ERR No such channel!'"):
        hanging_up.get(timeout=5)
    channel.close()


def test_execute_starts_are_subscribed_once_when_asked_for(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    channel = _started(pair)
    watching = gevent.spawn(channel.watch_executes, timeout=5)
    assert _read_commands(pair[1], 1) == [b"event plain CHANNEL_EXECUTE"]
    pair[1].sendall(encode_reply("+OK event listener enabled plain"))
    watching.get(timeout=5)
    channel.watch_executes(timeout=5)  # already subscribed: nothing is sent
    gevent.spawn(channel.api, "status", timeout=5)
    assert _read_commands(pair[1], 1) == [b"api status"]  # not a second subscription
    channel.close()
