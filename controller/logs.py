"""Logging: one line per event, as text or JSON, each line saying which call it is about.

Every call runs in a greenlet of its own, and a greenlet has its own `contextvars` context
(greenlet >= 1.0; a new greenlet starts with an empty one, so nothing leaks from whoever
spawned it). The greenlet that runs a call binds a `CallContext` where it starts (the
outbound server's connection handler, an outbound call, a resumed call); the engine keeps its
`node` current. `CallFields`, a filter on the handler, copies the context onto every record
as `call_uuid`, `flow` and `node`, unless the log call passed them itself with
`extra=about_call(...)` — which is what code running outside the call's greenlet does (the
event-socket reader handling a dial's events).

Greenlets that work for one call (a channel's socket reader) are started with
`in_this_context`, so they share the call's context: the same `CallContext` object, so a
call id learnt later (an outbound call's uuid once it is answered) shows on their lines too.
"""

from __future__ import annotations

import contextvars
import json
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, Any, ParamSpec, TypeVar

from controller.escapes import safe_json, safe_text

FIELDS = ("call_uuid", "flow", "node")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s%(call)s: %(message)s"

P = ParamSpec("P")
R = TypeVar("R")


@dataclass(slots=True)
class CallContext:
    """The call the current greenlet is working for; mutable, shared with its helpers."""

    call_uuid: str
    flow: str | None = None
    node: str | None = None


_CURRENT: contextvars.ContextVar[CallContext | None] = contextvars.ContextVar(
    "callflow_call", default=None
)


def bind_call(call_uuid: str, flow: str | None = None) -> CallContext:
    """From here on, this greenlet's log lines are about `call_uuid`."""
    context = CallContext(call_uuid, flow)
    _CURRENT.set(context)
    return context


def current_call() -> CallContext | None:
    return _CURRENT.get()


def update_call(**fields: str | None) -> None:
    """Change the bound call's uuid, flow or node (no call bound: nothing to do)."""
    context = _CURRENT.get()
    if context is None:
        return
    for name, value in fields.items():
        if name not in FIELDS:
            raise TypeError(f"not a call log field: {name!r}")
        setattr(context, name, value)


def unbind_call() -> None:
    _CURRENT.set(None)


def about_call(
    call_uuid: str | None, flow: str | None = None, node: str | None = None
) -> dict[str, Any]:
    """`extra=` for a line about a call, logged from a greenlet that is not the call's (or
    may not be). Fields not given come from the context when it is bound to the same call."""
    fields = {"call_uuid": call_uuid or None, "flow": flow, "node": node}
    return {name: value for name, value in fields.items() if value is not None}


def in_this_context(function: Callable[P, R]) -> Callable[P, R]:
    """`function`, to run in another greenlet with this greenlet's call context."""
    context = contextvars.copy_context()

    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        return context.run(function, *args, **kwargs)

    return run


class CallFields(logging.Filter):
    """Adds `call_uuid`, `flow` and `node` to every record (None when not about a call)."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = _CURRENT.get()
        explicit = getattr(record, "call_uuid", None)
        if context is not None and explicit is not None and explicit != context.call_uuid:
            context = None  # a line about another call than this greenlet's: none of its fields
        for name in FIELDS:
            if getattr(record, name, None) is None:
                setattr(record, name, getattr(context, name) if context is not None else None)
        return True


def _call_label(record: logging.LogRecord) -> str:
    call_uuid = getattr(record, "call_uuid", None)
    if not call_uuid:
        return ""
    flow, node = getattr(record, "flow", None), getattr(record, "node", None)
    where = f" {flow}/{node}" if flow and node else f" {flow}" if flow else ""
    return f" [{call_uuid}{where}]"


class TextFormatter(logging.Formatter):
    """`time LEVEL logger [uuid flow/node]: message`; the bracket only on lines about a call."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 - logging's name
        record.call = _call_label(record)
        return super().formatMessage(record)

    def format(self, record: logging.LogRecord) -> str:
        # A byte that is not UTF-8 in a channel variable shows as \xff (controller.escapes):
        # a log file opened strictly would refuse the whole line.
        return safe_text(super().format(record))


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC), level, logger, message, the call's fields."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                data[name] = value
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        return safe_json(json.dumps(data, ensure_ascii=False, default=str))


def make_handler(log_format: str, stream: IO[str] | None = None) -> logging.Handler:
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    handler.addFilter(CallFields())
    return handler


def configure(log_format: str, log_level: str, stream: IO[str] | None = None) -> None:
    """Send every log line to stderr (or `stream`) in `log_format`, from `log_level` up.
    Called again (SIGHUP), it replaces the handler: nothing is logged twice."""
    root = logging.getLogger()
    root.handlers[:] = [make_handler(log_format, stream)]
    root.setLevel(log_level.upper())
