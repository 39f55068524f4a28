"""What the API answers: a status and a JSON body, errors included, never a traceback."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

JSON = "application/json"


@dataclass(slots=True)
class Response:
    status: int
    body: Any = None  # JSON-ready data; None: no body (204)
    headers: list[tuple[str, str]] = field(default_factory=list)
    raw: bytes | None = None  # a body that is not JSON (the OpenAPI document as YAML)
    content_type: str = JSON

    @property
    def status_line(self) -> str:
        return f"{self.status} {HTTPStatus(self.status).phrase}"

    def encode(self) -> tuple[list[tuple[str, str]], bytes]:
        if self.raw is not None:
            data = self.raw
        elif self.body is None:
            return list(self.headers), b""
        else:
            data = encode_json(self.body)
        headers = [("Content-Type", self.content_type), *self.headers]
        return [*headers, ("Content-Length", str(len(data)))], data


class ApiError(Exception):
    """Raised anywhere in a handler: becomes `{"error": message, **extra}` with `status`."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        headers: list[tuple[str, str]] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or []
        self.extra = extra

    def response(self) -> Response:
        return Response(self.status, {"error": self.message, **self.extra}, list(self.headers))


def encode_json(body: Any) -> bytes:
    """ASCII JSON (a lone surrogate in a flow's text cannot break the encoding); a non-finite
    number, which JSON cannot hold (a YAML file may say `.inf`), becomes null."""
    try:
        text = json.dumps(body, allow_nan=False, default=str)
    except ValueError:
        text = json.dumps(_finite(body), default=str)
    return text.encode("ascii")


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value
