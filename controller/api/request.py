"""One API request: method, path, headers and a size-limited JSON body."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from controller.api.errors import ApiError
from controller.flows.source import SourceError, parse_json
from controller.offload import off_loop

READ_CHUNK = 64 * 1024
# Bodies up to this size are parsed on the event loop (a few ms); larger ones off it.
INLINE_PARSE_BYTES = 32 * 1024


@dataclass(slots=True)
class Request:
    environ: dict[str, Any]
    max_body: int
    _body: bytes | None = field(default=None, init=False)

    @property
    def method(self) -> str:
        return str(self.environ.get("REQUEST_METHOD", "GET")).upper()

    @property
    def path(self) -> str:
        return str(self.environ.get("PATH_INFO", ""))

    def header(self, name: str) -> str | None:
        return self.environ.get("HTTP_" + name.upper().replace("-", "_"))

    def query(self, name: str) -> str | None:
        values = parse_qs(str(self.environ.get("QUERY_STRING", ""))).get(name)
        return values[-1] if values else None

    def body(self) -> bytes:
        """The body, at most `max_body` bytes (413 beyond), read once."""
        if self._body is not None:
            return self._body
        length_text = str(self.environ.get("CONTENT_LENGTH") or "").strip()
        stream = self.environ["wsgi.input"]
        if length_text:
            if not length_text.isdigit():
                raise ApiError(400, f"Content-Length {length_text!r} is not a number")
            if int(length_text) > self.max_body:
                raise self._too_large()
        try:
            data = self._read(stream, int(length_text) if length_text else None)
        except TimeoutError:  # the HTTP server's body timeout (controller/http.py)
            raise ApiError(
                408, "the request body stopped arriving (setting http_body_timeout)"
            ) from None
        except OSError as exc:  # the client went away mid-body
            raise ApiError(400, f"the request body could not be read: {exc}") from None
        self._body = data
        return data

    def _read(self, stream: Any, length: int | None) -> bytes:
        if length is not None:
            return stream.read(length) if length else b""
        # chunked, or no body: read until the end, never more than the limit
        chunks: list[bytes] = []
        size = 0
        while chunk := stream.read(READ_CHUNK):
            chunks.append(chunk)
            size += len(chunk)
            if size > self.max_body:
                raise self._too_large()
        return b"".join(chunks)

    def _too_large(self) -> ApiError:
        return ApiError(
            413,
            f"the request body is larger than {self.max_body} bytes (setting api_max_body)",
            limit=self.max_body,
        )

    def json(self) -> Any:
        """The body as JSON (whatever the Content-Type says: curl's -d sends a form type);
        400 for anything that is not one well-formed JSON document."""
        raw = self.body()
        if not raw.strip():
            raise ApiError(400, "the request has no body; send a JSON document")
        if len(raw) <= INLINE_PARSE_BYTES:
            return _parse(raw)
        return off_loop(_parse, raw)  # ~0.1 ms per KiB of pure Python (object hooks, checks)


def _parse(raw: bytes) -> Any:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError(400, "the body is not UTF-8 text") from None
    try:
        data = parse_json(text).data  # duplicate keys, depth and NaN refused, as in files
    except SourceError as exc:
        raise ApiError(400, f"request body: {exc.message}") from None
    problem = _unrepresentable(data)
    if problem:
        raise ApiError(400, f"request body: invalid JSON: {problem}")
    return data


def _unrepresentable(data: Any) -> str | None:
    """What JSON's syntax lets through but no answer or flow file can hold: 1e999 (parsed as
    infinity) and "\ud800" (half a UTF-16 pair, which no UTF-8 file can store)."""
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, float) and not math.isfinite(item):
            return "a number is out of range"
        if isinstance(item, dict):
            stack.extend(item.values())
            stack.extend(item.keys())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return "a text holds an unpaired UTF-16 surrogate (\\ud800-\\udfff)"
    return None
