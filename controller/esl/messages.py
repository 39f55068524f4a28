"""What FreeSWITCH sends, decoded: events, command and api replies, disconnect notices.

Split from `protocol` (frames, URL encoding, commands), on which it builds. An event's header
values are URL-encoded one by one, so they are decoded one by one *after* the block is split:
a `%0A` stays inside its value. The outbound `connect` reply is a serialized CHANNEL_DATA event
used as the header block of a command/reply (`Reply-Text: %2BOK%0A`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from controller.esl.protocol import Frame, ProtocolError, _raw, _text, url_decode

# -- events -----------------------------------------------------------------------------------


_HEADER_LINE = re.compile(r"^([^\n]*?): ([^\n]*)$", re.MULTILINE)
_KEYS: dict[str, bytes] = {}  # header name -> b"\nName: ", for the names a controller reads


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
        self._block: bytes | None = None
        self._items: list[tuple[str, str]] | None = items
        self._headers: dict[str, str] | None = _first_wins(items)
        self.body = body
        self.name = self._headers.get("Event-Name", "")

    @classmethod
    def from_block(cls, block: bytes, body: str | None = None) -> Event:
        """From a serialized header block, values still URL-encoded."""
        event = cls.__new__(cls)
        # Kept as bytes: every header then starts after a b"\n", and only the values asked
        # for are ever decoded (decoding the ~3 KB block of each event cost more than the rest).
        event._block = b"\n" + block
        event._items = event._headers = None
        event.body = body
        event.name = event.get("Event-Name") or ""
        return event

    @property
    def items(self) -> list[tuple[str, str]]:
        if self._items is None:
            text = _text(self._block or b"")
            self._items = [(n, url_decode(v)) for n, v in _HEADER_LINE.findall(text)]
        return self._items

    @property
    def headers(self) -> dict[str, str]:
        if self._headers is None:
            self._headers = _first_wins(self.items)
        return self._headers

    def get(self, name: str, default: str | None = None) -> str | None:
        if self._headers is not None:
            return self._headers.get(name, default)
        block = self._block or b""
        key = _KEYS.get(name)
        if key is None:
            key = b"\n" + _raw(name) + b": "
            if len(_KEYS) < 1024:  # header names are a small fixed set; bounded all the same
                _KEYS[name] = key
        start = block.find(key)
        if start < 0:
            return default
        start += len(key)
        end = block.find(b"\n", start)
        return url_decode(_text(block[start:] if end < 0 else block[start:end]))

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


class ChannelVariables(Mapping[str, str]):
    """The channel's variables (`variable_*` headers) as the connect reply reported them, read
    one at a time from its header block: a call reads a handful of ~100."""

    __slots__ = ("_all", "_event")

    def __init__(self, event: Event | None) -> None:
        self._event = event
        self._all: dict[str, str] | None = None

    def get(self, name: str, default: Any = None) -> Any:  # type: ignore[override]
        if self._all is not None:
            return self._all.get(name, default)
        if self._event is None:
            return default
        return self._event.get("variable_" + name, default)

    def __getitem__(self, name: str) -> str:
        value = self.get(name)
        if value is None:
            raise KeyError(name)
        return value

    def _every(self) -> dict[str, str]:
        if self._all is None:
            items = self._event.items if self._event is not None else []
            self._all = {}
            for key, value in items:
                if key.startswith("variable_"):
                    self._all.setdefault(key[9:], value)
        return self._all

    def __iter__(self) -> Iterator[str]:
        return iter(self._every())

    def __len__(self) -> int:
        return len(self._every())


# -- replies and notices ----------------------------------------------------------------------


class Reply:
    """A `command/reply` or `api/response`. `ok` is False for `-ERR ...` / `-USAGE ...` (an
    unset or empty variable makes `getvar` answer `-ERR command not found`). For the connect
    reply `event` is the CHANNEL_DATA event it carries, read lazily like any event (a
    controller reads a handful of its ~150 headers), `headers`/`items` its headers, decoded,
    and `text` is "+OK\\n"."""

    __slots__ = ("_headers", "content_type", "event", "ok", "text")

    def __init__(
        self,
        ok: bool,
        text: str,
        content_type: str,
        headers: dict[str, str] | None = None,
        event: Event | None = None,
    ) -> None:
        self.ok = ok
        self.text = text
        self.content_type = content_type
        self._headers = headers
        self.event = event

    @property
    def headers(self) -> dict[str, str]:
        if self._headers is None:
            self._headers = self.event.headers if self.event is not None else {}
        return self._headers

    @property
    def items(self) -> list[tuple[str, str]]:
        return self.event.items if self.event is not None else list(self.headers.items())

    def header(self, name: str, default: str | None = None) -> str | None:
        """One header, without parsing the others."""
        if self.event is not None and self._headers is None:
            return self.event.get(name, default)
        return self.headers.get(name, default)

    @property
    def job_uuid(self) -> str | None:
        return self.header("Job-UUID")

    def __repr__(self) -> str:
        return f"<Reply {self.content_type} {self.text.strip()!r}>"


def _is_ok(text: str) -> bool:
    return not text.startswith(("-ERR", "-USAGE"))


def parse_reply(frame: Frame) -> Reply | None:
    """The reply in a command/reply or api/response frame (api: `text` is the body), or None."""
    content_type = frame.content_type
    if content_type == "api/response":
        return Reply(_is_ok(text := _text(frame.body)), text, content_type, frame.headers)
    if content_type != "command/reply":
        return None
    if frame.header("Event-Name") is not None:  # connect: a serialized CHANNEL_DATA event
        event = Event.from_block(frame.raw_head)
        text = event.get("Reply-Text") or ""
        return Reply(_is_ok(text), text, content_type, event=event)
    headers = frame.headers
    text = headers.get("Reply-Text", "")
    return Reply(_is_ok(text), text, content_type, headers)


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
