"""Text that holds bytes which are not UTF-8, written out as UTF-8 that shows those bytes.

FreeSWITCH hands over channel variables as bytes, and a caller chooses some of them (a SIP
To or From user, a header the dialplan copies): `12%FF34` on the wire is the byte 0xFF between
two digits. The ESL layer decodes values with `surrogateescape`, so the byte survives as the
lone surrogate U+DCFF and goes back to FreeSWITCH unchanged. Output that must be UTF-8 (a
call record, a log line) cannot hold a lone surrogate; there each one is written as the
four characters `\\xff` (lower-case hex), the byte it stands for, and any other lone
surrogate (one that `\\ud800` in JSON can produce) as `\\ud800`. A backslash written by the
caller is not escaped, so `\\xff` in a record may also be those four characters as sent.

Only text that holds a lone surrogate pays for this: the encoders fall back to the escaping
error handlers registered here when plain UTF-8 fails.
"""

from __future__ import annotations

import codecs

TEXT_ERRORS = "callflow-text"  # `\xff` in plain text
JSON_ERRORS = "callflow-json"  # `\\xff` inside the string of a JSON text: it reads `\xff`


def _escape(text: str, backslash: str) -> str:
    out = []
    for char in text:
        code = ord(char)
        if 0xDC80 <= code <= 0xDCFF:  # surrogateescape's stand-in for the byte code - 0xDC00
            out.append(f"{backslash}x{code - 0xDC00:02x}")
        else:
            out.append(f"{backslash}u{code:04x}")
    return "".join(out)


def _text_handler(exc: UnicodeError) -> tuple[str, int]:
    if not isinstance(exc, UnicodeEncodeError):
        raise exc
    return _escape(exc.object[exc.start : exc.end], "\\"), exc.end


def _json_handler(exc: UnicodeError) -> tuple[str, int]:
    if not isinstance(exc, UnicodeEncodeError):
        raise exc
    return _escape(exc.object[exc.start : exc.end], "\\\\"), exc.end


codecs.register_error(TEXT_ERRORS, _text_handler)
codecs.register_error(JSON_ERRORS, _json_handler)


def json_bytes(text: str) -> bytes:
    """A JSON text (from json.dumps(..., ensure_ascii=False)) as UTF-8; a lone surrogate,
    which can only stand inside a JSON string, becomes the escape `\\\\xff` there."""
    return text.encode("utf-8", JSON_ERRORS)


def safe_json(text: str) -> str:
    """`json_bytes`, kept as text (for a log line)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return json_bytes(text).decode("utf-8")
    return text


def safe_text(text: str) -> str:
    """Plain text with each lone surrogate written as `\\xff` (or `\\ud800`)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", TEXT_ERRORS).decode("utf-8")
    return text
