"""The call record: exactly one per call, written as one JSON line, whatever happened.

A `CallRecord` is filled in while the call runs (the path of nodes, digits, recordings) and
closed once by the engine. `RecordWriter` appends it to the records file under a lock and
flushes each line, so a crash of the controller loses no finished call. When the file cannot
be written (disk full, permissions), the record goes to the log instead — still one line of
JSON — and the failure is counted: a call never ends without a record somewhere.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from controller import metrics

log = logging.getLogger("callflow.records")


_SECOND: list[Any] = [-1, ""]  # the last whole second formatted, and its text


def utc_now() -> str:
    """Now, UTC, to the millisecond: 2026-11-27T13:40:05.123Z. Several per call (each step
    starts with one), so the date part is formatted once a second."""
    now = time.time()
    second = int(now)
    if second != _SECOND[0]:
        _SECOND[:] = [second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))]
    return f"{_SECOND[1]}.{int((now - second) * 1000):03d}Z"


@dataclass(slots=True)
class Step:
    """One node run: which node, what it returned, when and for how long."""

    nodeId: str
    type: str
    output: str | None = None
    next: str | None = None
    startedAt: str = field(default_factory=utc_now)
    durationMs: int = 0
    error: str | None = None


@dataclass(slots=True)
class CallRecord:
    callId: str
    direction: str = "inbound"
    flowId: str | None = None
    flowName: str | None = None
    flowVersion: str | None = None
    startedAt: str = field(default_factory=utc_now)
    endedAt: str | None = None
    durationMs: int = 0
    path: list[Step] = field(default_factory=list)
    variables: dict[str, Any] = field(default_factory=dict)
    digits: list[dict[str, Any]] = field(default_factory=list)
    recordings: list[str] = field(default_factory=list)
    dial: dict[str, Any] | None = None  # uuid, cause, ringMs, throttled, amd
    hangupCause: str | None = None
    hangupBy: str | None = None  # caller | controller | freeswitch
    result: str | None = None
    error: str | None = None
    callerIdNumber: str | None = None
    destinationNumber: str | None = None

    def as_dict(self) -> dict[str, Any]:
        # Not dataclasses.asdict: it deep-copies every value, a visible share of a call's CPU;
        # the record is serialized at once, so a shallow view is enough.
        data = {name: getattr(self, name) for name in _RECORD_FIELDS}
        data["path"] = [{name: getattr(step, name) for name in _STEP_FIELDS} for step in self.path]
        return data


_RECORD_FIELDS = tuple(f.name for f in fields(CallRecord))
_STEP_FIELDS = tuple(f.name for f in fields(Step))


class RecordWriter:
    """Appends records as JSON lines; safe to share between all calls of a process."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.written = 0
        self.failed = 0
        # A thread lock works under gevent's monkey-patching and without it; a record is one
        # write() call, so it is held for microseconds.
        self._lock = threading.Lock()
        self._file: Any = None

    def _open(self) -> Any:
        if self._file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = self.path.open("a", encoding="utf-8")
        return self._file

    def write(self, record: CallRecord) -> bool:
        metrics.child(metrics.CALLS, record.flowId or "none", record.result or "none").inc()
        line = json.dumps(record.as_dict(), ensure_ascii=False, default=str) + "\n"
        with self._lock:
            try:
                handle = self._open()
                handle.write(line)
                handle.flush()
            except OSError as exc:
                self.failed += 1
                metrics.RECORDS_FAILED.inc()
                log.error(
                    "cannot write call record to %s (%s); record follows: %s",
                    self.path,
                    exc,
                    line.rstrip(),
                )
                self._file = None
                return False
            self.written += 1
            metrics.RECORDS_WRITTEN.inc()
            return True

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.flush()
                os.fsync(self._file.fileno())
                self._file.close()
                self._file = None


def describe(record: CallRecord) -> str:
    """The path a call took, its digits and its result, then the full record as JSON."""
    lines = [f"call {record.callId}: flow {record.flowId} (version {record.flowVersion})"]
    for step in record.path:
        outcome = "end" if step.output is None else step.output
        arrow = f" -> {step.next}" if step.next else ""
        error = f"  [{step.error}]" if step.error else ""
        lines.append(f"  {step.nodeId} ({step.type}): {outcome}{arrow}{error}")
    for entry in record.digits:
        typed = entry["digits"] or entry["invalid"] or "none"
        invalid = " (invalid)" if entry["invalid"] else ""
        lines.append(f"  digits at {entry['nodeId']}, attempt {entry['attempt']}: {typed}{invalid}")
    lines.append(f"result: {record.result}; hangup: {record.hangupCause} by {record.hangupBy}")
    lines.append(json.dumps(record.as_dict(), indent=2, ensure_ascii=False))
    return "\n".join(lines) + "\n"
