"""The ESL codec (protocol, messages) against a real FreeSWITCH's recorded bytes (shared/).

Round trip: every frame FreeSWITCH sent in the recordings is parsed and encoded again with the
simulator-side encoders, and must come out byte-identical; every command the probe sent is
rebuilt with the controller-side encoders. There are no exceptions left: ROUND_TRIP_EXCEPTIONS
below is empty on purpose (see test_a_literal_percent_escape_does_not_survive for the one
case that cannot round-trip, which the recordings do not contain).
"""

from __future__ import annotations

import functools
import random
import re
from pathlib import Path

import pytest
from support.shared import TRANSCRIPTS

from controller.esl.messages import Event, parse_disconnect, parse_event, parse_reply
from controller.esl.protocol import (
    GOODBYE,
    Frame,
    FrameReader,
    ProtocolError,
    encode_command,
    encode_sendmsg_execute,
    url_decode,
    url_encode,
)
from controller.esl.serialize import (
    encode_api_response,
    encode_auth_request,
    encode_connect_reply,
    encode_disconnect_notice,
    encode_event_json,
    encode_event_plain,
    encode_reply,
    serialize_event,
)
from controller.simulator.transcript import Transcript, read_transcript

PATHS = sorted(TRANSCRIPTS.glob("*.txt"))
if not PATHS:
    pytest.skip(f"no FreeSWITCH transcripts in {TRANSCRIPTS}", allow_module_level=True)

# (transcript stem, marker line) -> why that frame cannot be re-encoded byte for byte. Empty:
# every recorded frame round-trips.
ROUND_TRIP_EXCEPTIONS: dict[tuple[str, int], str] = {}

CONNECT_TAIL = ["Content-Type", "Reply-Text", "Socket-Mode", "Control"]


@functools.cache
def transcript(path: Path) -> Transcript:
    return read_transcript(path)


def one_frame(data: bytes, *, commands: bool = False) -> Frame:
    reader = FrameReader(commands=commands)
    frames = reader.feed(data)
    assert len(frames) == 1, f"{len(frames)} frames in {data[:80]!r}"
    assert reader.buffered == 0
    return frames[0]


def reencode(frame: Frame) -> bytes:
    """What the simulator's encoders make of a frame FreeSWITCH sent."""
    content_type = frame.content_type
    if content_type == "text/event-plain":
        event = parse_event(frame)
        assert event is not None and event.name
        return encode_event_plain(event.items, event.body)
    if content_type == "text/event-json":
        event = parse_event(frame)
        assert event is not None and event.name
        return encode_event_json(event.items, event.body)
    if content_type == "auth/request":
        return encode_auth_request()
    if content_type == "api/response":
        reply = parse_reply(frame)
        assert reply is not None
        return encode_api_response(reply.text)
    if content_type == "text/disconnect-notice":
        notice = parse_disconnect(frame)
        assert notice is not None
        return encode_disconnect_notice(
            notice.session_uuid,
            linger=notice.linger,
            channel_name=notice.channel_name or "",
            linger_time=-1 if notice.linger_time is None else notice.linger_time,
            message=notice.message,
        )
    reply = parse_reply(frame)
    assert reply is not None, f"unexpected frame {frame.headers}"
    if "Event-Name" in frame.headers:  # the outbound connect reply (CHANNEL_DATA)
        assert [name for name, _ in reply.items[-4:]] == CONNECT_TAIL
        return encode_connect_reply(
            reply.items[:-4], reply.headers["Socket-Mode"], reply.headers["Control"]
        )
    assert [name for name, _ in reply.items[:2]] == ["Content-Type", "Reply-Text"]
    return encode_reply(reply.text, reply.items[2:])


def rebuild_command(frame: Frame) -> bytes:
    """What the controller-side encoders make of a command the probe sent."""
    headers = frame.headers
    assert frame.command is not None
    if frame.command == "sendmsg" and headers.get("call-command") == "execute":
        return encode_sendmsg_execute(
            headers["execute-app-name"],
            headers.get("execute-app-arg"),
            event_uuid=headers.get("Event-UUID"),
            event_lock=headers.get("event-lock") == "true",
            loops=int(headers["loops"]) if "loops" in headers else None,
        )
    return encode_command(frame.command, headers, frame.body or None)


# -- the recordings ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_every_frame_freeswitch_sent_round_trips(path: Path) -> None:
    seen = set()
    for recorded in transcript(path).frames_for(kind="RECV"):
        frame = one_frame(recorded.data)
        seen.add(frame.content_type)
        if (path.stem, recorded.line) in ROUND_TRIP_EXCEPTIONS:
            continue
        assert reencode(frame) == recorded.data, f"{path.name}:{recorded.line}"
    assert seen <= {
        "auth/request",
        "command/reply",
        "api/response",
        "text/event-plain",
        "text/event-json",
        "text/disconnect-notice",
    }


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_every_command_the_controller_sent_is_rebuilt_exactly(path: Path) -> None:
    for recorded in transcript(path).frames_for(kind="SEND"):
        frame = one_frame(recorded.data, commands=True)
        assert rebuild_command(frame) == recorded.data, f"{path.name}:{recorded.line}"


def test_all_kinds_of_frames_were_checked() -> None:
    counts: dict[str, int] = {}
    for path in PATHS:
        for recorded in transcript(path).frames_for(kind="RECV"):
            frame = one_frame(recorded.data)
            kind = "connect" if "Event-Name" in frame.headers else frame.content_type
            counts[kind] = counts.get(kind, 0) + 1
    executes = [
        f
        for path in PATHS
        for f in transcript(path).frames_for(kind="SEND")
        if b"call-command: execute\n" in f.data
    ]
    assert counts["text/event-plain"] > 900 and counts["connect"] > 40
    assert counts["text/event-json"] > 10 and counts["text/disconnect-notice"] > 100
    assert len(executes) > 60


def test_byte_at_a_time_gives_the_same_frames() -> None:
    for name in ("outbound-connect", "inbound-auth-api", "record-hangup", "bgapi-from-outbound"):
        recording = transcript(TRANSCRIPTS / f"{name}.txt")
        for conn in recording.conns:
            stream = recording.stream(conn, "RECV")
            whole = FrameReader().feed(stream)
            reader = FrameReader()
            trickled = [
                frame for i in range(len(stream)) for frame in reader.feed(stream[i : i + 1])
            ]
            assert trickled == whole and reader.buffered == 0
            assert len(whole) == len(recording.frames_for(conn, "RECV"))


def test_random_chunks_give_the_same_frames() -> None:
    rng = random.Random(8021)
    for path in PATHS:
        recording = transcript(path)
        for conn in recording.conns:
            for kind in ("RECV", "SEND"):
                stream = recording.stream(conn, kind)
                whole = FrameReader(commands=kind == "SEND").feed(stream)
                reader = FrameReader(commands=kind == "SEND")
                chunked, pos = [], 0
                while pos < len(stream):
                    step = rng.choice((1, 2, 7, 100, 1500, 65536))
                    chunked += reader.feed(stream[pos : pos + step])
                    pos += step
                assert chunked == whole and reader.buffered == 0, f"{path.name} {conn} {kind}"


def test_url_encode_matches_what_freeswitch_left_unencoded() -> None:
    """Characters seen raw in recorded event values stay raw; every %XX seen is unsafe."""
    raw_chars, escaped = set(), set()
    for path in PATHS:
        for recorded in transcript(path).frames_for(kind="RECV"):
            if b"text/event-plain" not in recorded.data[:60]:
                continue
            for line in recorded.data.split(b"\n\n")[1].split(b"\n"):
                value = line.partition(b": ")[2].decode()
                escaped.update(re.findall("%([0-9A-F]{2})", value))
                raw_chars.update(re.sub("%[0-9A-F]{2}", "", value))
    assert {chr(int(h, 16)) for h in escaped} <= set('\r\n #%&+:;<=>?@[\\]^`{|}"')
    assert {",", "/", "'", "(", ")", "!", "$", "~", "-", "_", "."} <= raw_chars
    assert all(url_encode(c) == c for c in raw_chars)
    assert {"\n", "\r", " ", ":", "@", "=", "&", "+", "#", "{", "}", "|", '"'} <= {
        chr(int(h, 16)) for h in escaped
    }


def test_connect_reply_is_ok_and_getvar_of_unset_is_not() -> None:
    recording = transcript(TRANSCRIPTS / "outbound-connect.txt")
    replies = [parse_reply(one_frame(f.data)) for f in recording.frames_for("OUT", "RECV")]
    connect = replies[0]
    assert connect is not None and connect.ok and connect.text == "+OK\n"
    assert connect.headers["Socket-Mode"] == "async" and connect.headers["Control"] == "full"
    assert connect.headers["variable_current_application_data"] == "127.0.0.1:8084 async full"
    assert connect.headers["Event-Date-GMT"].endswith(" GMT") and "%" not in connect.text
    texts = [r.text for r in replies if r is not None]
    assert "-ERR command not found" in texts and "outbound-connect" in texts
    unset = next(r for r in replies if r is not None and r.text == "-ERR command not found")
    assert not unset.ok
    aready = next(r for r in replies if r is not None and r.text.startswith("-ERR aready"))
    assert not aready.ok


def test_background_job_body_and_json_body() -> None:
    recording = transcript(TRANSCRIPTS / "inbound-auth-api.txt")
    events = [parse_event(one_frame(f.data)) for f in recording.frames_for("IN", "RECV")]
    jobs = [e for e in events if e is not None and e.name == "BACKGROUND_JOB"]
    assert jobs[0].body == "-ERR no_such_command Command not found!\n"
    assert jobs[0].get("Job-Command-Arg") == "foo" and "Content-Length" not in jobs[0].headers
    as_json = jobs[-1]
    assert as_json.body is not None and as_json.body.startswith("UP 0 years")
    assert as_json.get("FreeSWITCH-IPv6") == "fd00::2" and "_body" not in as_json.headers


# -- framing ----------------------------------------------------------------------------------


def test_partial_reads_and_several_frames_per_chunk() -> None:
    data = encode_reply("+OK accepted") + encode_api_response("true") + encode_auth_request()
    reader = FrameReader()
    assert reader.feed(data[:10]) == []
    frames = reader.feed(data[10:50]) + reader.feed(data[50:])
    assert [f.content_type for f in frames] == ["command/reply", "api/response", "auth/request"]
    assert frames[1].body == b"true" and reader.buffered == 0


def test_frame_size_is_limited() -> None:
    with pytest.raises(ProtocolError):
        FrameReader(max_frame_size=100).feed(b"Content-Type: x\n" + b"X-Pad: y\n" * 20)
    with pytest.raises(ProtocolError):
        FrameReader(max_frame_size=100).feed(b"Content-Length: 101\n\n")
    for bad in (b"-1", b"abc", b"1e3"):
        with pytest.raises(ProtocolError):
            FrameReader().feed(b"Content-Type: api/response\nContent-Length: " + bad + b"\n\n")


def test_commands_are_read_as_freeswitch_reads_them() -> None:
    frame = one_frame(b"bgapi status\nJob-UUID:   abc\r\ncontent-length: 3\n\nxyz", commands=True)
    assert frame.command == "bgapi status"
    assert frame.headers == {"Job-UUID": "abc", "content-length": "3"} and frame.body == b"xyz"


# -- injection --------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["a\nb", "a\rb", "a\r\n", "\n", "a\x00b"])
def test_line_breaks_are_refused_everywhere(bad: str) -> None:
    with pytest.raises(ProtocolError):
        encode_command(f"api status {bad}")
    with pytest.raises(ProtocolError):
        encode_command("sendmsg", {"call-command": bad})
    with pytest.raises(ProtocolError):
        encode_command("sendmsg", {f"x{bad}": "1"})
    with pytest.raises(ProtocolError):
        encode_sendmsg_execute(f"play{bad}", "x", event_uuid="u")
    with pytest.raises(ProtocolError):
        encode_sendmsg_execute("playback", "x", event_uuid=f"u{bad}")
    with pytest.raises(ProtocolError):
        encode_reply(f"+OK {bad}")


@pytest.mark.parametrize(
    "headers", [{"a:b": "1"}, {"a b": "1"}, {"": "1"}, {"Content-Length": "5"}, {"x": " lead"}]
)
def test_header_names_and_values_freeswitch_would_misread_are_refused(headers: dict) -> None:
    with pytest.raises(ProtocolError):
        encode_command("sendmsg", headers)


def test_a_body_sets_content_length() -> None:
    data = encode_command("sendmsg", {"call-command": "execute"}, b"abc")
    assert data == b"sendmsg\ncall-command: execute\nContent-Length: 3\n\nabc"


def test_sendmsg_execute_bytes() -> None:
    assert encode_sendmsg_execute("playback", "/tmp/a b.wav", event_uuid="u-1") == (
        b"sendmsg\ncall-command: execute\nexecute-app-name: playback\n"
        b"execute-app-arg: /tmp/a b.wav\nevent-lock: true\nEvent-UUID: u-1\n\n"
    )
    assert encode_sendmsg_execute("answer", event_uuid=None, event_lock=False, uuid="c-1") == (
        b"sendmsg c-1\ncall-command: execute\nexecute-app-name: answer\n\n"
    )


@pytest.mark.parametrize("arg", ["line1\nline2", "a\r\nb", " leading space", "\n"])
def test_an_argument_that_cannot_be_a_header_goes_in_the_body(arg: str) -> None:
    data = encode_sendmsg_execute("set", arg, event_uuid="u-1")
    frame = one_frame(data, commands=True)
    assert "execute-app-arg" not in frame.headers
    assert frame.headers["content-type"] == "text/plain"
    assert frame.body.decode() == arg
    assert list(frame.headers) == [
        "call-command",
        "execute-app-name",
        "event-lock",
        "Event-UUID",
        "content-type",
        "Content-Length",
    ]
    with pytest.raises(ProtocolError):
        encode_sendmsg_execute("set", "a\x00b", event_uuid="u-1")


def test_decoding_is_per_header_and_cannot_create_headers() -> None:
    block = b"Event-Name: CUSTOM\nX-Note: one%0AEvent-Name%3A%20EVIL%0A%0AContent-Length%3A%201\n\n"
    frame = Frame({"Content-Type": "text/event-plain"}, block)
    event = parse_event(frame)
    assert event is not None and event.name == "CUSTOM"
    assert event.items == [
        ("Event-Name", "CUSTOM"),
        ("X-Note", "one\nEvent-Name: EVIL\n\nContent-Length: 1"),
    ]
    assert event.body is None
    again = encode_event_plain(event.items, event.body)
    assert again.endswith(block) and parse_event(one_frame(again)).items == event.items  # type: ignore[union-attr]


def test_connect_reply_values_are_decoded_one_by_one() -> None:
    data = encode_connect_reply(
        [("Event-Name", "CHANNEL_DATA"), ("variable_x", "a\nReply-Text: -ERR")]
    )
    assert b"variable_x: a%0AReply-Text%3A%20-ERR\n" in data
    reply = parse_reply(one_frame(data))
    assert reply is not None and reply.ok and reply.headers["variable_x"] == "a\nReply-Text: -ERR"
    assert reply.text == "+OK\n" and reply.headers["Socket-Mode"] == "async"


# -- encoding details -------------------------------------------------------------------------


def test_url_encode_reserved_set() -> None:
    assert url_encode("a b:c") == "a%20b%3Ac"
    unsafe = '\r\n #%&+:;<=>?@[\\]^`{|}"'
    for code in range(0x20, 0x7F):
        char = chr(code)
        expected = f"%{code:02X}" if char in unsafe else char
        assert url_encode(char) == expected, repr(char)
    assert url_encode("\x01\x7f") == "%01%7F"
    assert url_encode("é€") == "%C3%A9%E2%82%AC"
    assert url_decode("%C3%A9%e2%82%ac") == "é€"
    assert url_decode(url_encode("\udcff")) == "\udcff"  # bytes that are not UTF-8 survive


def test_a_literal_percent_escape_does_not_survive() -> None:
    """switch_url_encode keeps a '%' followed by two uppercase hex digits (double_encode is
    false), so such a value reaches the controller decoded: the one value that cannot round
    trip, and the reason to never put literal %XX into variables FreeSWITCH reports."""
    assert url_encode("50%") == "50%25" and url_encode("%zz") == "%25zz"
    assert url_encode("%2b") == "%252b"  # lowercase hex is encoded again
    assert url_encode("%41") == "%41" and url_decode(url_encode("%41")) == "A"


def test_serialize_event_like_freeswitch() -> None:
    assert serialize_event([("A", ""), ("B", "x y")]) == b"A: _undef_\nB: x%20y\n\n"
    assert serialize_event({"A": "1"}, "+OK é\n") == b"A: 1\nContent-Length: 7\n\n+OK \xc3\xa9\n"
    assert serialize_event({"A": "1"}, "") == b"A: 1\n\n"


def test_event_helpers_and_duplicate_headers() -> None:
    event = Event(
        [("Event-Name", "X"), ("Hangup-Cause", "A"), ("variable_v", "1"), ("Hangup-Cause", "B")]
    )
    assert event.get("Hangup-Cause") == "A" and len(event.items) == 4
    assert event.variable("v") == "1" and event.variable("w") is None and event.get("w", "d") == "d"
    assert encode_event_plain(event.items).count(b"Hangup-Cause") == 2


def test_json_arrays_and_bodies() -> None:
    data = encode_event_json([("Event-Name", "X"), ("L", "ARRAY::a|:b")], "x\n")
    assert data.endswith(b'{"Event-Name":"X","L":["a","b"],"Content-Length":"2","_body":"x\\n"}')
    event = parse_event(one_frame(data))
    assert event is not None and event.items == [("Event-Name", "X"), ("L", "ARRAY::a|:b")]
    assert event.body == "x\n"
    for bad in (b"[1, 2]", b"{", b'"x"'):
        with pytest.raises(ProtocolError):
            parse_event(Frame({"Content-Type": "text/event-json"}, bad))


def test_freeswitch_side_notices_and_replies() -> None:
    assert (
        encode_api_response("")
        == b"Content-Type: api/response\nContent-Length: 14\n\n-ERR no reply\n"
    )
    linger = encode_disconnect_notice("u-1", linger=True, channel_name="loopback/x-a")
    notice = parse_disconnect(one_frame(linger))
    assert (
        notice is not None and notice.linger and notice.linger_time == -1 and notice.message == ""
    )
    inbound = parse_disconnect(one_frame(encode_disconnect_notice()))
    assert inbound is not None and inbound.disposition == "" and inbound.message == GOODBYE
    bye = parse_disconnect(one_frame(encode_disconnect_notice("u-1")))
    assert bye is not None and bye.disposition == "disconnect" and bye.session_uuid == "u-1"
    job = parse_reply(one_frame(encode_reply("+OK Job-UUID: j", [("Job-UUID", "j")])))
    assert job is not None and job.ok and job.job_uuid == "j"
    usage = parse_reply(one_frame(encode_api_response("-USAGE: <uuid>")))
    assert usage is not None and not usage.ok


@pytest.mark.parametrize(
    "head",
    [
        b"Content-Type: command/reply\nReply-Text: +OK",
        b"Content-Length: 5\nContent-Type: text/event-plain\nContent-Length: 7",  # last wins
        b"Content-Type:no-space\nnot a header line\nX-Content-Type: other",
        b"Reply-Text: a: b\nContent-Type:  two spaces",
        b"Content-Type: first\nContent-Type: second",
        b"",
    ],
)
def test_one_header_looked_up_alone_reads_as_the_whole_parse_does(head: bytes) -> None:
    lazy, whole = Frame(None, raw_head=head), Frame(None, raw_head=head)
    parsed = whole.headers  # every header, parsed
    for name in ("Content-Type", "Content-Length", "Reply-Text", "X-Content-Type", "Nope"):
        assert lazy.header(name) == parsed.get(name)


def test_headers_looked_up_alone_match_the_whole_parse_in_every_transcript() -> None:
    for path in sorted(TRANSCRIPTS.glob("*.txt")):
        recording = transcript(path)
        for conn in recording.conns:
            for frame in FrameReader().feed(recording.stream(conn, "RECV")):
                lazy = Frame(None, raw_head=frame.raw_head)
                for name, value in frame.headers.items():
                    assert lazy.header(name) == value, (path.name, name)
