"""FreeSWITCH's side of the wire, for the simulator: frames byte-exact with the recordings.

Split from `protocol` (the controller's side) so the controller never carries code that only
a FreeSWITCH stand-in needs; both share its URL encoding and its refusal of line breaks.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable

from controller.esl.protocol import (
    _FORBIDDEN,
    GOODBYE,
    Headers,
    ProtocolError,
    _pairs,
    _raw,
    url_encode,
)


def serialize_event(headers: Headers, body: str | None = None) -> bytes:
    """switch_event_serialize(encode=TRUE): `Name: url_encode(value)` lines (an empty value
    reads `_undef_`), then `Content-Length: N`, a blank line and the body, or a blank line."""
    lines = []
    for name, value in _pairs(headers):
        if _FORBIDDEN.search(name):
            raise ProtocolError(f"bad header name {name!r}")
        lines.append(f"{name}: {url_encode(value) or '_undef_'}\n")
    data = _raw("".join(lines))
    if body:
        raw_body = _raw(body)
        return b"%sContent-Length: %d\n\n%s" % (data, len(raw_body), raw_body)
    return data + b"\n"


def encode_event_plain(headers: Headers, body: str | None = None) -> bytes:
    event = serialize_event(headers, body)
    return b"Content-Length: %d\nContent-Type: text/event-plain\n\n%s" % (len(event), event)


_json = functools.partial(json.dumps, ensure_ascii=False, separators=(",", ":"))


def encode_event_json(headers: Headers, body: str | None = None) -> bytes:
    """switch_event_serialize_json: compact cJSON, `ARRAY::` values as arrays, then
    `Content-Length` and `_body` when there is a body."""
    pairs: list[tuple[str, object]] = [
        (k, v[7:].split("|:") if v.startswith("ARRAY::") else v) for k, v in _pairs(headers)
    ]
    if body is not None:
        pairs += [("Content-Length", str(len(_raw(body)))), ("_body", body)]
    data = _raw("{" + ",".join(_json(k) + ":" + _json(v) for k, v in pairs) + "}")
    return b"Content-Length: %d\nContent-Type: text/event-json\n\n%s" % (len(data), data)


def encode_reply(text: str, extra: Iterable[tuple[str, str]] = ()) -> bytes:
    """`command/reply` with `Reply-Text: text` (sent as is, not encoded) and extra headers."""
    lines = ["Content-Type: command/reply\n"]
    for name, value in [("Reply-Text", text), *extra]:
        if _FORBIDDEN.search(name) or _FORBIDDEN.search(value):
            raise ProtocolError(f"line break in reply header {name}: {value!r}")
        lines.append(f"{name}: {value}\n")
    lines.append("\n")
    return _raw("".join(lines))


def encode_connect_reply(
    channel_data: Headers, socket_mode: str = "async", control: str = "full"
) -> bytes:
    """The reply to `connect` on an outbound socket: the CHANNEL_DATA event (`channel_data`,
    from Event-Name on) serialized as the header block, then Content-Type, Reply-Text "+OK\\n",
    Socket-Mode (async|static) and Control (full|single-channel). No Content-Length."""
    tail = [("Content-Type", "command/reply"), ("Reply-Text", "+OK\n")]
    return serialize_event(
        [*_pairs(channel_data), *tail, ("Socket-Mode", socket_mode), ("Control", control)]
    )


def encode_api_response(body: str) -> bytes:
    """`api/response`; FreeSWITCH sends `-ERR no reply\\n` for an empty result."""
    data = _raw(body or "-ERR no reply\n")
    return b"Content-Type: api/response\nContent-Length: %d\n\n%s" % (len(data), data)


def encode_disconnect_notice(
    session_uuid: str | None = None,
    *,
    linger: bool = False,
    channel_name: str = "",
    linger_time: int = -1,
    message: str = GOODBYE,
) -> bytes:
    """`text/disconnect-notice`. linger=True: the notice sent when the channel hangs up on a
    lingering socket (Linger-Time -1 = forever, no body). Otherwise the notice sent before the
    socket closes, with `message` and, on an outbound socket, Controlled-Session-UUID."""
    head = "Content-Type: text/disconnect-notice\n"
    if session_uuid:
        head += f"Controlled-Session-UUID: {session_uuid}\n"
    if linger:
        if not session_uuid:
            raise ProtocolError("a linger notice needs the session uuid")
        head += f"Content-Disposition: linger\nChannel-Name: {channel_name}\n"
        return _raw(f"{head}Linger-Time: {linger_time}\nContent-Length: 0\n\n")
    if session_uuid:
        head += "Content-Disposition: disconnect\n"
    data = _raw(message)
    return _raw(f"{head}Content-Length: {len(data)}\n\n") + data


def encode_auth_request() -> bytes:
    return b"Content-Type: auth/request\n\n"
