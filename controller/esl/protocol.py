"""The FreeSWITCH Event Socket wire protocol, bytes in and bytes out (no sockets, no gevent).

Byte-exact with recordings of a real FreeSWITCH (/work/shared/freeswitch) and with
mod_event_socket.c, switch_event_serialize and switch_url_encode. A frame is a header block, a
blank line, then Content-Length bytes. An event frame's body is a second header block whose
values are URL-encoded one by one, so they are decoded one by one *after* the block is split: a
`%0A` stays inside its value (greenswitch decodes the whole block first, letting a value forge
headers); decoding what FreeSWITCH sends is in `messages`, FreeSWITCH's own side of the wire
(for the simulator) in `serialize`. FreeSWITCH does not decode what it reads and cuts a
header at the first CR or LF, so commands holding CR, LF or NUL are refused: nothing a caller
passes can add a header or a command.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from urllib.parse import unquote

from controller.esl.expansion import refuse_variables

DEFAULT_MAX_FRAME_SIZE = 16 * 1024 * 1024
GOODBYE = "Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n"

Headers = Mapping[str, str] | Iterable[tuple[str, str]]


class ProtocolError(ValueError):
    """Bytes that are not ESL, or a command that would not reach FreeSWITCH as written."""


# -- URL encoding (switch_url_encode, SWITCH_URL_UNSAFE = "\r\n #%&+:;<=>?@[\\]^`{|}\"") -------
# Every byte below 0x20 or above 0x7E and every unsafe character becomes %XX (uppercase), except
# that a '%' already followed by two *uppercase* hex digits is kept (double_encode is false).
_NEEDS_ENCODING = re.compile(r'[^\x21-\x7e]|[#%&+:;<=>?@\[\\\]^`{|}"]')
_ENCODE = re.compile(rb'%(?![0-9A-F]{2})|[^\x21-\x7e]|[#&+:;<=>?@\[\\\]^`{|}"]')
_ESCAPES = [b"%%%02X" % byte for byte in range(256)]


def _escape(match: re.Match[bytes]) -> bytes:
    return _ESCAPES[match.group()[0]]


@functools.lru_cache(maxsize=8192)
def url_encode(value: str) -> str:
    """Encode a header value exactly as FreeSWITCH's switch_url_encode does (bytes of UTF-8)."""
    if not _NEEDS_ENCODING.search(value):
        return value
    raw = value.encode("utf-8", "surrogateescape")
    return _ENCODE.sub(_escape, raw).decode("ascii")


@functools.lru_cache(maxsize=8192)  # values repeat a lot (dates, names, app data): 15x faster
def _unquote(value: str) -> str:
    return unquote(value, errors="surrogateescape")


def url_decode(value: str) -> str:
    """Decode one header value; bytes that are not UTF-8 survive as surrogate escapes."""
    return _unquote(value) if "%" in value else value


def _text(data: bytes) -> str:
    return data.decode("utf-8", "surrogateescape")


def _raw(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")


# -- frames -----------------------------------------------------------------------------------


class Frame:
    """One ESL frame. `headers` are the outer headers as sent (not decoded); `command` is the
    first line of a frame read with `FrameReader(commands=True)` (what a controller sends).

    Read by a controller, the headers are parsed only when asked for: a frame is mostly
    looked at for its Content-Type and Content-Length, and the reply to `connect` carries
    ~150 header lines that the lazily read event in it (messages.Event) looks up itself."""

    __slots__ = ("_content_type", "_headers", "body", "command", "raw_head")

    def __init__(
        self,
        headers: dict[str, str] | None,
        body: bytes = b"",
        command: str | None = None,
        raw_head: bytes = b"",
    ) -> None:
        self._headers = headers
        self._content_type: str | None = None
        self.body = body
        self.command = command
        self.raw_head = raw_head

    @property
    def headers(self) -> dict[str, str]:
        if self._headers is None:
            self._headers = _outer_headers(self.raw_head)
        return self._headers

    def header(self, name: str) -> str | None:
        """One outer header (the last of that name, as `headers` keeps), without the rest."""
        if self._headers is not None:
            return self._headers.get(name)
        return _last_header(self.raw_head, _raw(name))

    @property
    def content_type(self) -> str:
        if self._content_type is None:
            self._content_type = self.header("Content-Type") or ""
        return self._content_type

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Frame):
            return NotImplemented
        return (self.headers, self.body, self.command, self.raw_head) == (
            other.headers,
            other.body,
            other.command,
            other.raw_head,
        )

    __hash__ = None  # type: ignore[assignment]  # mutable, like the dataclass it was

    def __repr__(self) -> str:
        return f"<Frame {self.command or self.content_type!r} {len(self.body)} bytes>"


EAGER_HEAD_BYTES = 256


def _outer_headers(head: bytes) -> dict[str, str]:
    """`Name: value` lines as FreeSWITCH and libesl read them: lines without ':' skipped, one
    space after the colon dropped, a repeated name keeps its last value."""
    headers: dict[str, str] = {}
    for line in _text(head).split("\n"):
        name, sep, value = line.partition(":")
        if sep:
            headers[name] = value[1:] if value[:1] == " " else value
    return headers


def _last_header(head: bytes, name: bytes) -> str | None:
    """What `_outer_headers(head).get(name)` would say, found by searching for the name."""
    key = b"\n" + name + b":"
    at = head.rfind(key)
    if at >= 0:
        start = at + len(key)
    elif head.startswith(name + b":"):
        start = len(name) + 1
    else:
        return None
    end = head.find(b"\n", start)
    value = head[start:] if end < 0 else head[start:end]
    return _text(value[1:] if value[:1] == b" " else value)


class FrameReader:
    """Incremental parser: feed it what recv() returned, get the complete frames. ProtocolError
    (bad Content-Length, frame over `max_frame_size`) means the connection must be dropped.
    `commands=True` reads a controller's commands as FreeSWITCH's read_packet does: first line
    = command, values lose leading spaces and anything from a CR on, content-length any case."""

    __slots__ = ("_buf", "_head", "_need", "_scan", "commands", "max_frame_size")

    def __init__(
        self, max_frame_size: int = DEFAULT_MAX_FRAME_SIZE, *, commands: bool = False
    ) -> None:
        self.max_frame_size = max_frame_size
        self.commands = commands
        self._buf = bytearray()
        self._head: Frame | None = None  # headers read, body still arriving
        self._need = 0
        self._scan = 0  # where the search for the blank line goes on

    @property
    def buffered(self) -> int:  # bytes of a frame not complete yet (0 between frames)
        return len(self._buf)

    def feed(self, data: bytes) -> list[Frame]:
        buf = self._buf
        buf += data
        frames: list[Frame] = []
        pos = 0
        size = len(buf)
        while True:
            if self._head is not None:
                if size - pos < self._need:
                    break
                frame, self._head = self._head, None
                frame.body = bytes(buf[pos : pos + self._need])
                pos += self._need
                frames.append(frame)
                self._scan = pos
                continue
            while pos < size and buf[pos] in b"\r\n":  # FreeSWITCH skips blank lines too
                pos += 1
            end = buf.find(b"\n\n", max(pos, self._scan))
            if end < 0:
                if size - pos > self.max_frame_size:
                    raise ProtocolError(f"no end of headers after {size - pos} bytes")
                self._scan = max(pos, size - 1)
                break
            frame = self._parse_head(bytes(buf[pos:end]))
            pos = end + 2
            self._scan = pos
            length = self._content_length(frame)
            if length:
                self._head, self._need = frame, length
            else:
                frames.append(frame)
        if pos:
            del buf[:pos]
            self._scan = max(0, self._scan - pos)
        return frames

    def _parse_head(self, head: bytes) -> Frame:
        if not self.commands:
            # A long head (the connect reply's ~150 lines) is parsed on demand; a short one
            # (an event's Content-Length and Content-Type) costs less parsed at once.
            headers = None if len(head) > EAGER_HEAD_BYTES else _outer_headers(head)
            return Frame(headers, b"", None, head)
        lines = _text(head).split("\n")
        command = lines.pop(0).partition("\r")[0]
        headers: dict[str, str] = {}
        for line in lines:
            name, sep, value = line.partition(":")
            if not sep:
                continue  # not a header; FreeSWITCH skips such lines as well
            headers[name] = value.partition("\r")[0].lstrip(" ")
        return Frame(headers, b"", command, head)

    def _content_length(self, frame: Frame) -> int:
        value = frame.header("Content-Length")
        if value is None and self.commands:
            items = frame.headers.items()
            value = next((v for k, v in items if k.lower() == "content-length"), None)
        if value is None:
            return 0
        if not value.isdigit() or int(value) > self.max_frame_size:
            raise ProtocolError(f"bad Content-Length {value!r}")
        return int(value)


# -- encoding: the controller's side ----------------------------------------------------------

_FORBIDDEN = re.compile(r"[\r\n\x00]")
_BAD_NAME = re.compile(r"[\r\n\x00: \t]")


def _pairs(headers: Headers | None) -> Iterable[tuple[str, str]]:
    if headers is None:
        return ()
    return headers.items() if isinstance(headers, Mapping) else headers


def encode_command(line: str, headers: Headers | None = None, body: bytes | None = None) -> bytes:
    """A command: `line`, `name: value` headers, a Content-Length for a non-empty body.

    Raises ProtocolError for CR/LF/NUL anywhere, a header name with ':' or blanks, a value with
    leading blanks (FreeSWITCH strips them) or a caller-supplied Content-Length.
    """
    if not line or _FORBIDDEN.search(line):
        raise ProtocolError(f"bad command line {line!r}")
    out = [line, "\n"]
    for name, value in _pairs(headers):
        if not name or _BAD_NAME.search(name) or name.lower() == "content-length":
            raise ProtocolError(f"bad header name {name!r}")
        if _FORBIDDEN.search(value) or value[:1] == " ":
            raise ProtocolError(f"bad value for header {name}: {value!r}")
        out += (name, ": ", value, "\n")
    if body:
        out.append(f"Content-Length: {len(body)}\n")
    out.append("\n")
    # A byte that came from FreeSWITCH as it was (a surrogate escape, see url_decode) goes
    # back as that byte; strict UTF-8 would fail the command, and the call's node with it.
    data = _raw("".join(out))
    return data + body if body else data


def encode_api(command: str, headers: Headers = (), *, background: bool = False) -> bytes:
    """`api <command>` (or `bgapi`); UnsafeValue when the command names a variable: nothing
    callflow runs needs `${...}`, so none ever reaches FreeSWITCH (controller.esl.expansion)."""
    refuse_variables(command, f"the api command {command.split(' ', 1)[0]!r}")
    return encode_command(("bgapi " if background else "api ") + command, headers)


def frame_sendmsg_execute(
    app: str,
    arg: str | None = None,
    *,
    event_uuid: str | None,
    event_lock: bool = True,
    uuid: str | None = None,
    loops: int | None = None,
) -> bytes:
    """`sendmsg [uuid]` executing `app arg`; header order as recorded: call-command,
    execute-app-name, execute-app-arg, event-lock, loops, Event-UUID. arg None sends no
    execute-app-arg ("" sends it empty; FreeSWITCH treats both alike). The argument is framed
    as given (what callflow sends goes through `encode_sendmsg_execute`). An arg with CR/LF or
    a leading space cannot be a header value: it goes in the body with content-type:
    text/plain, which switch_ivr_parse_event uses when execute-app-arg is empty. NUL is
    refused."""
    if not app or _BAD_NAME.search(app):
        raise ProtocolError(f"bad application name {app!r}")
    headers = [("call-command", "execute"), ("execute-app-name", app)]
    body = None
    if arg is not None:
        if "\x00" in arg:
            raise ProtocolError("NUL in application argument")
        if _FORBIDDEN.search(arg) or arg[:1] == " ":
            body = _raw(arg)
        else:
            headers.append(("execute-app-arg", arg))
    if event_lock:
        headers.append(("event-lock", "true"))
    if loops is not None:
        if loops < 1:
            raise ProtocolError(f"loops must be >= 1, not {loops}")
        headers.append(("loops", str(loops)))
    if event_uuid is not None:
        headers.append(("Event-UUID", event_uuid))
    if body is not None:
        headers.append(("content-type", "text/plain"))
    return encode_command("sendmsg" if uuid is None else f"sendmsg {uuid}", headers, body)


def encode_sendmsg_execute(
    app: str,
    arg: str | None = None,
    *,
    event_uuid: str | None,
    event_lock: bool = True,
    uuid: str | None = None,
    loops: int | None = None,
) -> bytes:
    """`frame_sendmsg_execute`, refusing an argument FreeSWITCH would expand (UnsafeValue):
    FreeSWITCH expands every application argument (controller.esl.expansion), and nothing
    callflow runs needs `${...}`."""
    if arg is not None:
        refuse_variables(arg, f"the argument of {app}")
    return frame_sendmsg_execute(
        app, arg, event_uuid=event_uuid, event_lock=event_lock, uuid=uuid, loops=loops
    )


# -- the controller's opening ------------------------------------------------------------

CONNECT = encode_command("connect")
MYEVENTS = encode_command("myevents")
# Of the events `myevents` subscribes to, the ones a call does not read (what is read:
# CHANNEL_EXECUTE_COMPLETE, CHANNEL_HANGUP, CHANNEL_HANGUP_COMPLETE, DTMF; CHANNEL_EXECUTE and
# CUSTOM events only where asked for, by `Channel.subscribe`). Each costs a frame to read and
# parse, several a call.
UNREAD_EVENTS = (
    "CHANNEL_ANSWER",
    "CHANNEL_APPLICATION",
    "CHANNEL_BRIDGE",
    "CHANNEL_CREATE",
    "CHANNEL_DATA",
    "CHANNEL_DESTROY",
    "CHANNEL_EXECUTE",
    "CHANNEL_ORIGINATE",
    "CHANNEL_OUTGOING",
    "CHANNEL_PARK",
    "CHANNEL_PROGRESS",
    "CHANNEL_PROGRESS_MEDIA",
    "CHANNEL_STATE",
    "CHANNEL_UNBRIDGE",
    "CHANNEL_UNPARK",
    "CHANNEL_UUID",
    "DETECTED_SPEECH",
    "NOTALK",
    "TALK",
)
NIXEVENT = encode_command("nixevent " + " ".join(UNREAD_EVENTS))
OPENING_COMMANDS = 4


@functools.lru_cache(maxsize=4)
def opening(linger_seconds: int) -> bytes:
    """What the controller says first on a new socket, in one write: `connect`, `myevents`,
    `nixevent` (the events nothing reads), `linger N` (a bare `linger` lingers forever and
    leaks the channel in FreeSWITCH: always give N). Written together they cost one send and
    one wake-up instead of four round trips; FreeSWITCH still answers them one by one, in
    order (mod_event_socket reads one command at a time off the socket)."""
    return CONNECT + MYEVENTS + NIXEVENT + encode_command(f"linger {int(linger_seconds)}")
