"""The FreeSWITCH Event Socket wire protocol, bytes in and bytes out (no sockets, no gevent).

Byte-exact with recordings of a real FreeSWITCH (/work/shared/freeswitch) and with
mod_event_socket.c, switch_event_serialize and switch_url_encode. A frame is a header block, a
blank line, then Content-Length bytes. An event frame's body is a second header block whose
values are URL-encoded one by one, so they are decoded one by one *after* the block is split: a
`%0A` stays inside its value (greenswitch decodes the whole block first, letting a value forge
headers). The outbound `connect` reply is a serialized CHANNEL_DATA event used as the header
block of a command/reply (`Reply-Text: %2BOK%0A`); other replies are plain and not decoded.
FreeSWITCH does not decode what it reads and cuts a header at the first CR or LF, so commands
holding CR, LF or NUL are refused: nothing a caller passes can add a header or a command.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from urllib.parse import unquote

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


@dataclass(slots=True)
class Frame:
    """One ESL frame. `headers` are the outer headers as sent (not decoded); `command` is the
    first line of a frame read with `FrameReader(commands=True)` (what a controller sends)."""

    headers: dict[str, str]
    body: bytes = b""
    command: str | None = None
    raw_head: bytes = field(default=b"", repr=False)

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "")


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
            length = self._content_length(frame.headers)
            if length:
                self._head, self._need = frame, length
            else:
                frames.append(frame)
        if pos:
            del buf[:pos]
            self._scan = max(0, self._scan - pos)
        return frames

    def _parse_head(self, head: bytes) -> Frame:
        lines = _text(head).split("\n")
        command = None
        if self.commands:
            command = lines.pop(0).partition("\r")[0]
        headers: dict[str, str] = {}
        for line in lines:
            name, sep, value = line.partition(":")
            if not sep:
                continue  # not a header; FreeSWITCH and libesl skip such lines as well
            if self.commands:
                headers[name] = value.partition("\r")[0].lstrip(" ")
            else:
                headers[name] = value[1:] if value[:1] == " " else value
        return Frame(headers, b"", command, head)

    def _content_length(self, headers: dict[str, str]) -> int:
        value = headers.get("Content-Length")
        if value is None and self.commands:
            value = next((v for k, v in headers.items() if k.lower() == "content-length"), None)
        if value is None:
            return 0
        if not value.isdigit() or int(value) > self.max_frame_size:
            raise ProtocolError(f"bad Content-Length {value!r}")
        return int(value)


# -- events -----------------------------------------------------------------------------------


_HEADER_LINE = re.compile(r"^([^\n]*?): ([^\n]*)$", re.MULTILINE)


class Event:
    """A FreeSWITCH event. `items` keeps every header in wire order (FreeSWITCH repeats some,
    e.g. Hangup-Cause in CHANNEL_HANGUP_COMPLETE); `headers` maps each name to its first value,
    as switch_event_get_header does. Values are decoded; an empty value reads `_undef_`.

    An event read off the wire is not parsed up front: it carries ~150 headers and a controller
    reads a handful, so `get` finds the one header asked for in the raw block (the first line
    with that name, as FreeSWITCH's lookup does) and decodes that value alone — never the
    whole block, so an encoded newline stays inside its value. `items`/`headers` parse all."""

    __slots__ = ("_block", "_headers", "_items", "body", "name")

    def __init__(self, items: list[tuple[str, str]], body: str | None = None) -> None:
        self._block: str | None = None
        self._items: list[tuple[str, str]] | None = items
        self._headers: dict[str, str] | None = _first_wins(items)
        self.body = body
        self.name = self._headers.get("Event-Name", "")

    @classmethod
    def from_block(cls, block: bytes, body: str | None = None) -> Event:
        """From a serialized header block, values still URL-encoded."""
        event = cls.__new__(cls)
        event._block = "\n" + _text(block)  # every header then starts after a "\n"
        event._items = event._headers = None
        event.body = body
        event.name = event.get("Event-Name") or ""
        return event

    @property
    def items(self) -> list[tuple[str, str]]:
        if self._items is None:
            self._items = [(n, url_decode(v)) for n, v in _HEADER_LINE.findall(self._block or "")]
        return self._items

    @property
    def headers(self) -> dict[str, str]:
        if self._headers is None:
            self._headers = _first_wins(self.items)
        return self._headers

    def get(self, name: str, default: str | None = None) -> str | None:
        if self._headers is not None:
            return self._headers.get(name, default)
        block = self._block or ""
        key = "\n" + name + ": "
        start = block.find(key)
        if start < 0:
            return default
        start += len(key)
        end = block.find("\n", start)
        return url_decode(block[start:] if end < 0 else block[start:end])

    def variable(self, name: str, default: str | None = None) -> str | None:
        """The channel variable `name` (header `variable_<name>`)."""
        return self.get("variable_" + name, default)

    def __repr__(self) -> str:
        return f"<Event {self.name} {self.get('Unique-ID', '')}>"


def _first_wins(items: list[tuple[str, str]]) -> dict[str, str]:
    headers = dict(items)
    if len(headers) != len(items):  # a repeated header: the first value wins
        headers = dict(reversed(items))
    return headers


def _header_items(block: bytes) -> list[tuple[str, str]]:
    """`Name: value` lines, each value decoded on its own (lines without ": " are skipped)."""
    return [(n, url_decode(v)) for n, v in _HEADER_LINE.findall(_text(block))]


def parse_event_plain(data: bytes) -> Event:
    """A serialized event (switch_event_serialize): header block, optional body."""
    head, _, rest = data.partition(b"\n\n")
    body = None
    if rest:
        head, _, length_line = head.rpartition(b"\n")
        name, _, length = length_line.partition(b": ")
        if name != b"Content-Length" or not length.isdigit() or int(length) != len(rest):
            raise ProtocolError(f"event body without a matching Content-Length: {length_line!r}")
        body = _text(rest)
    return Event.from_block(head, body)


def parse_event_json(data: bytes) -> Event:
    """A `text/event-json` body: one object; `_body` is the body, arrays become `ARRAY::a|:b`."""
    try:
        obj = json.loads(_text(data), object_pairs_hook=tuple)  # keeps order and repeats
    except ValueError as exc:
        raise ProtocolError(f"bad event json: {exc}") from None
    if not isinstance(obj, tuple):
        raise ProtocolError("event json is not an object")
    pairs, body = list(obj), None
    if pairs and pairs[-1][0] == "_body":
        body = str(pairs.pop()[1])
        if pairs and pairs[-1][0] == "Content-Length":  # added by the serializer with _body
            pairs.pop()
    items = [
        (k, "ARRAY::" + "|:".join(map(str, v)) if isinstance(v, list) else str(v)) for k, v in pairs
    ]
    return Event(items, body)


def parse_event(frame: Frame) -> Event | None:
    """The event in an event frame, or None for any other frame."""
    content_type = frame.content_type
    if content_type == "text/event-plain":
        return parse_event_plain(frame.body)
    if content_type == "text/event-json":
        return parse_event_json(frame.body)
    return None


# -- replies and notices ----------------------------------------------------------------------


@dataclass(slots=True)
class Reply:
    """A `command/reply` or `api/response`. `ok` is False for `-ERR ...` / `-USAGE ...` (an
    unset or empty variable makes `getvar` answer `-ERR command not found`). For the connect
    reply `headers`/`items` are the CHANNEL_DATA headers, decoded, and `text` is "+OK\\n"."""

    ok: bool
    text: str
    content_type: str
    headers: dict[str, str]
    items: list[tuple[str, str]] = field(default_factory=list, repr=False)

    @property
    def job_uuid(self) -> str | None:
        return self.headers.get("Job-UUID")


def _is_ok(text: str) -> bool:
    return not text.startswith(("-ERR", "-USAGE"))


def parse_reply(frame: Frame) -> Reply | None:
    """The reply in a command/reply or api/response frame (api: `text` is the body), or None."""
    content_type, headers, items = frame.content_type, frame.headers, None
    if content_type == "api/response":
        text = _text(frame.body)
    elif content_type != "command/reply":
        return None
    else:
        if "Event-Name" in headers:  # connect: a serialized CHANNEL_DATA event
            event = Event(_header_items(frame.raw_head))
            headers, items = event.headers, event.items
        text = headers.get("Reply-Text", "")
    return Reply(_is_ok(text), text, content_type, headers, items or list(headers.items()))


@dataclass(slots=True)
class DisconnectNotice:
    """disposition `linger` (hung up, events still follow), `disconnect` or "" (inbound)."""

    disposition: str
    session_uuid: str | None
    channel_name: str | None
    linger_time: int | None
    message: str

    @property
    def linger(self) -> bool:
        return self.disposition == "linger"


def parse_disconnect(frame: Frame) -> DisconnectNotice | None:
    if frame.content_type != "text/disconnect-notice":
        return None
    get = frame.headers.get
    linger = get("Linger-Time", "")
    number = int(linger) if linger.lstrip("-").isdigit() else None
    return DisconnectNotice(
        get("Content-Disposition", ""),
        get("Controlled-Session-UUID"),
        get("Channel-Name"),
        number,
        _text(frame.body),
    )


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
    data = "".join(out).encode("utf-8")
    return data + body if body else data


def encode_sendmsg_execute(
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
    execute-app-arg ("" sends it empty; FreeSWITCH treats both alike). An arg with CR/LF or a
    leading space cannot be a header value: it goes in the body with content-type: text/plain,
    which switch_ivr_parse_event uses when execute-app-arg is empty. NUL is refused."""
    if not app or _BAD_NAME.search(app):
        raise ProtocolError(f"bad application name {app!r}")
    headers = [("call-command", "execute"), ("execute-app-name", app)]
    body = None
    if arg is not None:
        if "\x00" in arg:
            raise ProtocolError("NUL in application argument")
        if _FORBIDDEN.search(arg) or arg[:1] == " ":
            body = arg.encode("utf-8")
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
