"""Reading the recordings of a real FreeSWITCH (../shared/freeswitch/transcripts)."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest
from support.shared import TRANSCRIPTS

from controller.esl.messages import parse_event
from controller.simulator.transcript import (
    Transcript,
    TranscriptError,
    parse_transcript,
    read_transcript,
)

PATHS = sorted(TRANSCRIPTS.glob("*.txt"))
if not PATHS:
    pytest.skip(f"no FreeSWITCH transcripts in {TRANSCRIPTS}", allow_module_level=True)

CONNS = {"IN", "OUT", "IN2", "IN-badpw", "IN-noauth"}

GOOD = (
    b"#### TRANSCRIPT tiny\n"
    b"#### a comment\n"
    b"\n"
    b"#### RECV IN +0.001s 28 bytes\n"
    b"Content-Type: auth/request\n\n"
    b"\n"
    b"#### SEND IN +0.002s 14 bytes\n"
    b"auth ClueCon\n\n"
    b"\n"
    b"#### NOTE - +0.003s 4 bytes\n"
    b"done"
)


@functools.cache
def transcript(path: Path) -> Transcript:
    return read_transcript(path)


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_every_transcript_reads(path: Path) -> None:
    recording = transcript(path)
    assert recording.title == path.stem and recording.path == path
    assert any(c.startswith("format:") for c in recording.comments)
    assert recording.frames and {f.kind for f in recording.frames} <= {"SEND", "RECV", "NOTE"}
    assert set(recording.conns) <= CONNS
    assert all(f.conn == "-" for f in recording.frames_for(kind="NOTE"))
    times = [f.at for f in recording.frames]
    assert all(t >= 0 for t in times)
    # one ESL frame per recorded frame, and every event in them parses
    for conn in recording.conns:
        for kind in ("RECV", "SEND"):
            frames = recording.esl_frames(conn, kind)
            assert len(frames) == len(recording.frames_for(conn, kind))
        for frame in recording.esl_frames(conn, "RECV"):
            if frame.content_type.startswith("text/event-"):
                event = parse_event(frame)
                assert event is not None and event.name and event.get("Event-Sequence")


def test_a_small_transcript() -> None:
    recording = parse_transcript(GOOD)
    assert recording.title == "tiny" and recording.comments == ["a comment"]
    assert [(f.kind, f.conn, f.at, f.line) for f in recording.frames] == [
        ("RECV", "IN", 0.001, 4),
        ("SEND", "IN", 0.002, 8),
        ("NOTE", "-", 0.003, 12),
    ]
    assert recording.frames[2].data == b"done"
    assert recording.frames_for("IN", "SEND")[0].data == b"auth ClueCon\n\n"
    assert recording.stream("IN", "RECV") == b"Content-Type: auth/request\n\n"
    assert recording.esl_frames("IN", "SEND")[0].command == "auth ClueCon"
    assert recording.conns == ["IN"]
    with pytest.raises(ValueError):
        recording.esl_frames("-", "NOTE")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (GOOD.replace(b"28 bytes", b"27 bytes"), ":7: .* byte count at line 4 right"),
        (GOOD.replace(b"28 bytes", b"29 bytes"), ":4: 29 bytes of frame data are not followed"),
        (GOOD.replace(b"4 bytes\ndone", b"5 bytes\ndone"), ":12: frame declares 5 bytes"),
        (GOOD.replace(b"TRANSCRIPT tiny", b"TRANSCRIPTION"), ":1: expected '#### TRANSCRIPT"),
        (GOOD.replace(b"#### SEND IN", b"### SEND IN"), ":8: expected a frame marker"),
        (GOOD.replace(b"SEND IN +0.002s", b"SEND IN 0.002s"), ":8: expected a frame marker"),
        (GOOD.replace(b"SEND IN", b"PEEK IN"), ":8: expected a frame marker"),
        (GOOD.replace(b"SEND IN", b"SEND -"), ":8: conn '-' is for NOTE frames, and only them"),
        (GOOD.replace(b"NOTE -", b"NOTE IN"), ":12: conn '-' is for NOTE frames, and only them"),
        (GOOD + b"\n\n", ":14: expected a frame marker, found b'' .*line 12"),
    ],
)
def test_format_errors_name_the_line(data: bytes, message: str) -> None:
    with pytest.raises(TranscriptError, match=message):
        parse_transcript(data, "x.txt")


def test_a_stream_that_ends_inside_a_frame_is_an_error() -> None:
    cut = GOOD.replace(b"14 bytes\nauth ClueCon\n\n", b"13 bytes\nauth ClueCon\n")
    with pytest.raises(TranscriptError, match="ends inside a frame"):
        parse_transcript(cut).esl_frames("IN", "SEND")


def test_frames_for_filters_by_connection_and_kind() -> None:
    recording = transcript(TRANSCRIPTS / "outbound-connect.txt")
    assert recording.conns == ["IN", "OUT"]
    out = recording.frames_for("OUT")
    assert out and all(f.conn == "OUT" for f in out)
    sent = recording.frames_for("OUT", "SEND")
    assert sent[0].data == b"connect\n\n" and all(f.kind == "SEND" for f in sent)
    assert len(recording.frames_for(kind="NOTE")) == len(recording.frames_for("-"))
    assert recording.frames_for("OUT", "RECV")[0].data.startswith(b"Event-Name: CHANNEL_DATA\n")
