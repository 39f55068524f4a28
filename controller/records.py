"""The call record: exactly one per call, written as one JSON line, whatever happened.

A `CallRecord` is filled in while the call runs (the path of nodes, digits, recordings) and
closed once by the engine. `encode_record` turns it into one line of UTF-8 JSON of bounded
size (`truncated` lists what was cut; bytes that are not UTF-8 show as `\\xff`, see
`controller.escapes`). `RecordWriter` appends each line with a single write() on an
O_APPEND descriptor, so a crash of the controller loses no finished call, and a line is
either whole in the file or absent: a short write (the disk filled up mid-line) is cut back
off before anything else is written. Lines the file refuses (disk full, I/O errors,
permissions) wait in a bounded queue, in order, and are written when the file takes them
again: retried on a timer and before each new record. While any wait, `ready` is False
(/readyz answers 503) and `callflow_records_pending` says how many.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import json
import logging
import math
import os
import threading
import time
from collections import deque
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import gevent

from controller import metrics
from controller.escapes import json_bytes, safe_text

log = logging.getLogger("callflow.records")

# -- what one record may carry (docs/operations.md, "Call records") ----------------------------
SMALL_RECORD_BYTES = 16 * 1024  # a line up to this size is written as it is
MAX_TEXT = 4096  # characters of one text value in a larger record
MAX_ITEMS = 1000  # entries of one list or mapping (the path, digits, variables, ...)
MAX_DEPTH = 16  # levels of nesting inside a value
MAX_RECORD_BYTES = 1024 * 1024  # a record line never exceeds this
_TIGHT = (256, 100, 4)  # text, items, depth: a second pass when the first is still too large
MAX_TRUNCATED_NOTES = 100  # entries of the `truncated` list itself
_POINTER_KEY = 64  # characters of a key shown in a `truncated` entry

# -- the queue of lines the file refused ---------------------------------------------------
DEFAULT_QUEUE_RECORDS = 10_000
QUEUE_BYTES = 64 * 1024 * 1024  # whichever of the two bounds comes first
RETRY_SECONDS = 1.0
BATCH_BYTES = 1024 * 1024  # queued lines go out in writes of about this size
# Queued bytes written at a time before the event loop runs other work again: 10,000 records
# (23 MB) at once held every call for 66-110 ms; 2 MiB turns take ~5 ms (docs/bench-records.md).
DRAIN_BYTES = 2 * 1024 * 1024


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


# -- one record, one bounded line ----------------------------------------------------------

_dumps = functools.partial(json.dumps, ensure_ascii=False, allow_nan=False)
_EMPTY: dict[str, Any] = {
    "variables": {},
    "digits": [],
    "path": [],
    "recordings": [],
    "dial": None,
    "error": None,
}


def encode_record(record: CallRecord) -> bytes:
    """The record as one line of UTF-8 JSON, newline included, at most MAX_RECORD_BYTES.

    A line of up to SMALL_RECORD_BYTES is written as it is (the common case: one dumps).
    A larger one, or one json cannot write as it stands (too deeply nested, a number too
    long or not finite), is bounded: each text cut at MAX_TEXT characters with a marker,
    lists and mappings at MAX_ITEMS entries, nesting at MAX_DEPTH; what was cut is named in
    a `truncated` list (`variables.customerNotes`, `path.3.error`, `digits`)."""
    data = record.as_dict()
    line = b""
    if not _surely_large(data):
        # ValueError, RecursionError: too deep, a loop, NaN, a huge integer: bounded below
        with contextlib.suppress(ValueError, TypeError, RecursionError):
            line = json_bytes(_dumps(data, default=str))
    if line and len(line) < SMALL_RECORD_BYTES:
        return line + b"\n"
    return _bounded(data) + b"\n"


def _surely_large(data: dict[str, Any]) -> bool:
    """A long text or a long list in a field or one level down: writing the whole record
    out first (60 MB took 0.8 s) would only be thrown away."""
    for value in data.values():
        if isinstance(value, str):
            if len(value) > SMALL_RECORD_BYTES:
                return True
        elif isinstance(value, dict | list):
            if len(value) > MAX_ITEMS:
                return True
            for item in value.values() if isinstance(value, dict) else value:
                if isinstance(item, str) and len(item) > SMALL_RECORD_BYTES:
                    return True
    return False


def snapshot(record: CallRecord) -> dict[str, Any]:
    """The record as written to the file, as data (what the API shows)."""
    return json.loads(encode_record(record))  # type: ignore[no-any-return]


class _Cutter:
    """Copies a record's data within limits, noting where it cut."""

    def __init__(self, max_text: int, max_items: int, max_depth: int) -> None:
        self.max_text = max_text
        self.max_items = max_items
        self.max_depth = max_depth
        self.notes: list[str] = []
        self.more_notes = 0

    def note(self, pointer: str) -> None:
        if len(self.notes) < MAX_TRUNCATED_NOTES:
            self.notes.append(pointer)
        else:
            self.more_notes += 1

    def truncated(self) -> list[str]:
        more = [f"... and {self.more_notes} more"] if self.more_notes else []
        return self.notes + more

    def text(self, value: str, pointer: str) -> str:
        if len(value) <= self.max_text:
            return value
        self.note(pointer)
        return f"{value[: self.max_text]}…[truncated: {len(value)} characters]"

    def value(self, value: Any, pointer: str, depth: int) -> Any:
        if isinstance(value, str):
            return self.text(value, pointer)
        if value is None or isinstance(value, bool):
            return value
        if isinstance(value, int):
            if value.bit_length() > 64 * 8:  # str() refuses past 4300 digits; none are real
                self.note(pointer)
                return f"…[truncated: an integer of {value.bit_length()} bits]"
            return value
        if isinstance(value, float):
            return value if math.isfinite(value) else str(value)  # JSON has no NaN or Infinity
        if isinstance(value, dict | list | tuple):
            if depth >= self.max_depth:
                self.note(pointer)
                return f"…[truncated: nested deeper than {self.max_depth} levels]"
            items = list(value.items()) if isinstance(value, dict) else list(enumerate(value))
            if len(items) > self.max_items:
                self.note(pointer)
                items = items[: self.max_items]
            copied = [
                (str(key), self.value(item, f"{pointer}.{str(key)[:_POINTER_KEY]}", depth + 1))
                for key, item in items
            ]
            if isinstance(value, dict):
                return {self.text(key, pointer): item for key, item in copied}
            return [item for _, item in copied]
        return self.text(str(value), pointer)  # what default=str writes


def _bounded(data: dict[str, Any]) -> bytes:
    bounded: dict[str, Any] = {}
    for max_text, max_items, max_depth in ((MAX_TEXT, MAX_ITEMS, MAX_DEPTH), _TIGHT):
        cutter = _Cutter(max_text, max_items, max_depth)
        bounded = {name: cutter.value(value, name, 0) for name, value in data.items()}
        if cutter.notes:
            bounded["truncated"] = cutter.truncated()
        line = json_bytes(_dumps(bounded))
        if len(line) <= MAX_RECORD_BYTES:
            return line
    # Still too large (thousands of long values): empty the largest fields until it fits.
    # What is left, callId and the other single values, is a few KB at most.
    notes = bounded.setdefault("truncated", [])
    sizes = sorted(
        ((len(json_bytes(_dumps(bounded[name]))), name) for name in _EMPTY if name in bounded),
        reverse=True,
    )
    for _, name in sizes:
        bounded[name] = _EMPTY[name]
        notes.append(name)
        line = json_bytes(_dumps(bounded))
        if len(line) <= MAX_RECORD_BYTES:
            break
    return line


def _unencodable(record: CallRecord, exc: Exception) -> bytes:
    """A record `encode_record` failed on (a bug): the fields that say which call it was."""
    data = {
        "callId": record.callId,
        "flowId": record.flowId,
        "result": record.result,
        "error": f"internal error: the record could not be written: {type(exc).__name__}: {exc}",
        "truncated": ["*"],
    }
    return _bounded(data) + b"\n"


# -- the records file ----------------------------------------------------------------------


class RecordWriter:
    """Appends records as JSON lines; safe to share between all calls of a process.

    `write` never raises and never blocks on the disk for longer than one write() call: a
    line the file refuses is queued (at most `queue_limit` lines and QUEUE_BYTES; past that
    the newest are dropped, counted in `callflow_records_dropped_total` and logged once per
    burst). Queued lines go out in order before any new one, on the next `write` or after
    `retry_seconds`."""

    def __init__(
        self,
        path: Path,
        *,
        queue_limit: int = DEFAULT_QUEUE_RECORDS,
        retry_seconds: float = RETRY_SECONDS,
    ) -> None:
        self.path = path
        self.queue_limit = queue_limit
        self.retry_seconds = retry_seconds
        self.written = 0
        self.failed = 0  # write attempts the file refused
        self.dropped = 0  # records lost: the queue was full
        # A thread lock works under gevent's monkey-patching and without it. Nothing held
        # under it yields to gevent (os.write on a file does not), so greenlets never wait.
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._pending: deque[bytes] = deque()
        self._pending_bytes = 0
        self._cut_back_to: int | None = None  # a torn line to remove before the next write
        self._end_foreign_line = False  # the file ended inside a line when we opened it
        self._failing = False  # logged once per outage
        self._dropped_in_burst = 0  # logged once per burst
        self._retry: gevent.Greenlet | None = None
        self._retry_soon = False  # the timer set runs at once (not retry_seconds later)

    @property
    def pending(self) -> int:
        """Records waiting for the file to take them."""
        return len(self._pending)

    @property
    def ready(self) -> bool:
        """Every record so far is in the file (for /readyz)."""
        return not self._pending

    def write(self, record: CallRecord) -> bool:
        """Append the record; True once it is in the file, False when it waits (or, past
        the queue's bound, was dropped)."""
        # A flow the controller has, not whatever name a call asked for (no_flow): labels
        # stay bounded, and a byte that is not UTF-8 cannot break /metrics.
        flow = "none" if record.result == "no_flow" or not record.flowId else record.flowId
        metrics.child(metrics.CALLS, safe_text(flow), record.result or "none").inc()
        try:
            line = encode_record(record)
        except Exception as exc:  # a bug in encoding must not cost the call its record
            log.exception("call %s: cannot encode its record", record.callId)
            line = _unencodable(record, exc)
        with self._lock:
            if self._pending:
                self._write_pending(DRAIN_BYTES)
            if not self._pending and self._append(line):
                self._wrote(1)
                return True
            self._enqueue(line)
        self._schedule_retry()
        return False

    def flush_pending(self, budget: int | None = None) -> int:
        """Try the queued records now (about `budget` bytes of them; None: all); how many
        are still waiting."""
        with self._lock:
            self._write_pending(budget)
            return len(self._pending)

    def close(self) -> None:
        """Write what waits if the file takes it, then close. Records still refused are
        logged, one JSON line each: the process is ending, the log is their last chance."""
        if self._retry is not None:
            self._retry.kill(block=False)
            self._retry = None
        with self._lock:
            self._write_pending()
            while self._pending:
                line = self._pending.popleft()
                log.error(
                    "call record not written to %s; record follows: %s",
                    self.path,
                    line.decode("utf-8").rstrip(),
                )
            self._pending_bytes = 0
            metrics.RECORDS_PENDING.set(0)
            if self._fd is not None:
                try:
                    os.fsync(self._fd)
                except OSError as exc:
                    log.error("cannot sync the records file %s: %s", self.path, exc)
                os.close(self._fd)
                self._fd = None

    # -- under the lock ------------------------------------------------------------------

    def _open(self) -> int:
        if self._fd is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o666)
            size = os.fstat(fd).st_size
            if size and os.pread(fd, 1, size - 1) != b"\n":
                # Not ours to cut (a crash of another writer, a power loss): we cannot tell
                # where that line began, so end it, and keep our lines whole.
                log.warning("%s ends inside a line; the next record starts a new one", self.path)
                self._end_foreign_line = True
            self._fd = fd
        return self._fd

    def _append(self, data: bytes) -> bool:
        """One write() of whole lines; on a short write the part written is cut back off."""
        try:
            fd = self._open()
            if self._cut_back_to is not None:
                self._cut_back(fd)
            if self._end_foreign_line:
                data = b"\n" + data
            done = os.write(fd, data)
            if done != len(data):
                self._cut_back_to = os.fstat(fd).st_size - done
                self._cut_back(fd)
                raise OSError(errno.ENOSPC, f"short write ({done} of {len(data)} bytes)")
            self._end_foreign_line = False
        except OSError as exc:
            self._refused(exc)
            return False
        if self._failing:
            self._failing = False
            log.warning("records file %s is written again", self.path)
        return True

    def _cut_back(self, fd: int) -> None:
        target = self._cut_back_to
        assert target is not None
        if os.fstat(fd).st_size > target:  # never extends a file that changed meanwhile
            os.ftruncate(fd, target)
        self._cut_back_to = None

    def _refused(self, exc: OSError) -> None:
        self.failed += 1
        metrics.RECORD_WRITE_FAILURES.inc()
        if not self._failing:
            self._failing = True
            log.error(
                "cannot write call records to %s (%s); keeping them in memory (up to %d) "
                "and retrying every %g s",
                self.path,
                exc.strerror or exc,
                self.queue_limit,
                self.retry_seconds,
            )
        if self._fd is not None and self._cut_back_to is None:
            # Opened again on the next attempt: the path may have been fixed or remounted.
            # Kept open while a torn line waits to be cut off.
            os.close(self._fd)
            self._fd = None

    def _write_pending(self, budget: int | None = None) -> None:
        """Queued lines, oldest first, in writes of about BATCH_BYTES, until the queue is
        empty, the file refuses one, or `budget` bytes are written."""
        while self._pending:
            if budget is not None and budget <= 0:
                return
            batch, size = [], 0
            for line in self._pending:
                if batch and size + len(line) > BATCH_BYTES:
                    break
                batch.append(line)
                size += len(line)
            if not self._append(b"".join(batch)):
                return
            for _ in batch:
                self._pending.popleft()
            self._pending_bytes -= size
            if budget is not None:
                budget -= size
            metrics.RECORDS_PENDING.set(len(self._pending))
            self._wrote(len(batch))
        if self._dropped_in_burst:
            log.warning(
                "records file %s takes records again; %d record(s) were dropped while the "
                "queue was full",
                self.path,
                self._dropped_in_burst,
            )
            self._dropped_in_burst = 0

    def _wrote(self, count: int) -> None:
        self.written += count
        metrics.RECORDS_WRITTEN.inc(count)

    def _enqueue(self, line: bytes) -> None:
        if len(self._pending) >= self.queue_limit or self._pending_bytes + len(line) > QUEUE_BYTES:
            self.dropped += 1
            metrics.RECORDS_DROPPED.inc()
            if not self._dropped_in_burst:
                log.error(
                    "the queue of unwritten call records is full (%d records, %d bytes): "
                    "records are dropped until %s takes them again",
                    len(self._pending),
                    self._pending_bytes,
                    self.path,
                )
            self._dropped_in_burst += 1
            return
        self._pending.append(line)
        self._pending_bytes += len(line)
        metrics.RECORDS_PENDING.set(len(self._pending))

    # -- the retry timer -----------------------------------------------------------------

    def _schedule_retry(self) -> None:
        if not self._pending:
            return
        # Refused: wait before trying again. Left by a budget: carry on at once, after
        # whatever else is ready to run (the calls).
        delay = self.retry_seconds if self._failing else 0.0
        if self._retry is not None and not self._retry.dead:
            if delay or self._retry_soon:
                return  # the timer set already comes soon enough
            self._retry.kill(block=False)  # set while refused; the file takes records now
        self._retry_soon = not delay
        self._retry = gevent.spawn_later(delay, self._retry_pending)

    def _retry_pending(self) -> None:
        self._retry = None
        self.flush_pending(DRAIN_BYTES)
        self._schedule_retry()


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
    lines.append(json.dumps(snapshot(record), indent=2, ensure_ascii=False))
    return safe_text("\n".join(lines)) + "\n"
