"""Recordings of a real FreeSWITCH's Event Socket traffic (`/work/shared/freeswitch/transcripts`).

Format: a few `#### ` comment lines (the first `#### TRANSCRIPT <title>`), a blank line, then
frames: a marker `#### <SEND|RECV|NOTE> <conn> +<seconds>s <n> bytes`, a newline, exactly n raw
bytes, and a newline before the next marker (the last frame may end the file without one).
`conn` is IN (inbound socket, 8021), OUT (FreeSWITCH's outbound socket), a variant such as IN2 or
IN-badpw for another connection of the same kind, or `-` for a NOTE. SEND is what the
controller sent, RECV what FreeSWITCH sent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from controller.esl.protocol import Frame, FrameReader

Kind = Literal["SEND", "RECV", "NOTE"]
KINDS: tuple[Kind, ...] = ("SEND", "RECV", "NOTE")

_MARKER = re.compile(rb"#### (SEND|RECV|NOTE) ([A-Za-z0-9_-]+) \+(\d+(?:\.\d+)?)s (\d+) bytes\n")


class TranscriptError(ValueError):
    """The file does not follow the transcript format; the message names the line."""


@dataclass(frozen=True, slots=True)
class TranscriptFrame:
    kind: Kind
    conn: str
    at: float
    data: bytes
    line: int = 0  # line of the marker in the file


@dataclass(slots=True)
class Transcript:
    title: str
    comments: list[str]
    frames: list[TranscriptFrame]
    path: Path | None = field(default=None, compare=False)

    @property
    def conns(self) -> list[str]:
        """The connections (IN, OUT, ...) in order of first appearance; NOTE's `-` excluded."""
        return list(dict.fromkeys(f.conn for f in self.frames if f.kind != "NOTE"))

    def frames_for(
        self, conn: str | None = None, kind: Kind | None = None
    ) -> list[TranscriptFrame]:
        """The frames of one connection and/or one kind, in file order."""
        return [
            f
            for f in self.frames
            if (conn is None or f.conn == conn) and (kind is None or f.kind == kind)
        ]

    def stream(self, conn: str, kind: Kind) -> bytes:
        """Every byte one side of a connection sent, reassembled into one stream."""
        return b"".join(f.data for f in self.frames_for(conn, kind))

    def esl_frames(self, conn: str, kind: Kind) -> list[Frame]:
        """That stream split into ESL frames (SEND read as commands, the way FreeSWITCH does).
        Raises TranscriptError if bytes are left over after the last complete frame."""
        if kind == "NOTE":
            raise ValueError("NOTE frames are not ESL")
        reader = FrameReader(commands=kind == "SEND")
        frames = reader.feed(self.stream(conn, kind))
        if reader.buffered:
            raise TranscriptError(f"{self.title}: {conn} {kind} ends inside a frame")
        return frames


def parse_transcript(data: bytes, name: str = "<transcript>") -> Transcript:
    pos = 0
    comments: list[str] = []
    while data.startswith(b"#### ", pos) and not _MARKER.match(data, pos):
        end = data.find(b"\n", pos)
        end = len(data) if end < 0 else end
        comments.append(data[pos + 5 : end].decode("utf-8", "replace"))
        pos = end + 1
    if not comments or not comments[0].startswith("TRANSCRIPT "):
        raise TranscriptError(f"{name}:1: expected '#### TRANSCRIPT <title>'")
    title = comments.pop(0)[len("TRANSCRIPT ") :].strip()
    while data.startswith(b"\n", pos):
        pos += 1
    frames: list[TranscriptFrame] = []
    line, counted = 1, 0
    while pos < len(data):
        line += data.count(b"\n", counted, pos)
        counted = pos
        marker = _MARKER.match(data, pos)
        if marker is None:
            snippet = data[pos : pos + 60].split(b"\n", 1)[0]
            hint = f" (is the byte count at line {frames[-1].line} right?)" if frames else ""
            raise TranscriptError(
                f"{name}:{line}: expected a frame marker, found {snippet!r}{hint}"
            )
        kind, conn, at, size = marker.groups()
        start, end = marker.end(), marker.end() + int(size)
        if end > len(data):
            raise TranscriptError(
                f"{name}:{line}: frame declares {int(size)} bytes, "
                f"only {len(data) - start} left in the file"
            )
        if end < len(data) and data[end : end + 1] != b"\n":
            raise TranscriptError(
                f"{name}:{line}: {int(size)} bytes of frame data are not followed "
                f"by a newline (found {data[end : end + 20]!r}): wrong byte count"
            )
        if (kind == b"NOTE") != (conn == b"-"):
            raise TranscriptError(f"{name}:{line}: conn '-' is for NOTE frames, and only them")
        frames.append(
            TranscriptFrame(
                kind.decode(),  # type: ignore[arg-type]
                conn.decode(),
                float(at),
                data[start:end],
                line,
            )
        )
        pos = end + 1
    return Transcript(title, comments, frames)


def read_transcript(path: str | Path) -> Transcript:
    path = Path(path)
    transcript = parse_transcript(path.read_bytes(), str(path))
    transcript.path = path
    return transcript
