"""The flows a running controller serves, picked per call, never replaced by a bad edit.

Flows are loaded from the flows directory at start. A file changed on disk is re-read when a
call asks for that flow (at most once a second per flow): the new text is validated first,
and only a valid version replaces the one being served — an invalid edit is logged with its
problems and the previous version keeps serving. A call keeps the `Flow` object it started
with, so its version is pinned whatever happens to the file meanwhile.

A rejected edit is reported once per distinct text (however often the file is re-read): one
log line, `callflow_flow_load_failures_total`, `callflow_flow_stale` set to 1 until a valid
version is loaded, and `reload_status()` for the HTTP API.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from controller import metrics
from controller.config import Route
from controller.flows.loader import (
    LoadResult,
    discover,
    flow_id_for,
    load_flow_file,
    version_of,
)
from controller.flows.model import Flow

log = logging.getLogger("callflow.flows")

RECHECK_SECONDS = 1.0


@dataclass(slots=True)
class _Entry:
    path: Path
    mtime_ns: int
    checked: float
    serving: Flow | None
    last: LoadResult
    rejected: list[str] = field(default_factory=list)
    serving_since: float | None = None  # wall-clock time the serving version was loaded
    last_success: float | None = None  # wall-clock time of the last valid load
    rejected_version: str | None = None  # hash of the file text last rejected
    rejected_at: float | None = None  # when that text was first rejected


@dataclass(frozen=True, slots=True)
class FlowStatus:
    """What the store knows of one flow file: the HTTP API's view of it."""

    path: Path
    serving: Flow | None  # the version new calls run; None when no valid version was seen
    last: LoadResult  # the file's last load: its problems (an invalid edit keeps `serving`)


class FlowStore:
    def __init__(
        self,
        directory: Path,
        *,
        audio_root: Path | None = None,
        routes: tuple[Route, ...] = (),
        default_flow: str | None = None,
    ) -> None:
        self.directory = directory
        self.audio_root = audio_root
        self.routes = [(re.compile(route.match), route.flow) for route in routes]
        self.default_flow = default_flow
        self._entries: dict[str, _Entry] = {}
        # Every valid version seen, so a call resumed by another process after its dial runs
        # the exact version it started on, even if the file has changed since.
        self._versions: dict[tuple[str, str], Flow] = {}

    def load_all(self) -> list[LoadResult]:
        """(Re)load every flow file; returns the results so the caller can report them."""
        results = []
        paths = discover([self.directory]) if self.directory.is_dir() else []
        for path in paths:
            result = self.load_file(path)
            results.append(result)
        return results

    def rescan(self) -> list[LoadResult]:
        """Load flow files that are new or changed since they were read (SIGHUP). A file that
        is gone keeps serving its last version, as between rescans: logged, not dropped."""
        results = []
        paths = discover([self.directory]) if self.directory.is_dir() else []
        for path in paths:
            entry = self._entries.get(flow_id_for(path))
            try:
                mtime = path.stat().st_mtime_ns
            except OSError:
                continue  # gone since the listing
            if entry is None or entry.path != path or entry.mtime_ns != mtime:
                results.append(self.load_file(path))
        for flow_id, entry in self._entries.items():
            if not entry.path.exists() and entry.serving is not None:
                log.warning(
                    "flow %s: %s is gone; still serving version %s",
                    flow_id,
                    entry.path,
                    entry.serving.version,
                )
        return results

    def set_routes(self, routes: tuple[Route, ...], default_flow: str | None) -> None:
        """The route table and default flow for calls selected from now on."""
        self.routes = [(re.compile(route.match), route.flow) for route in routes]
        self.default_flow = default_flow

    def load_file(self, path: Path) -> LoadResult:
        """Load (or reload) one flow file; a valid version replaces the one being served."""
        result = load_flow_file(path, audio_root=self.audio_root)
        flow_id = flow_id_for(path)
        entry = self._entries.get(flow_id)
        mtime = path.stat().st_mtime_ns if path.exists() else 0
        if entry is None:
            entry = self._entries[flow_id] = _Entry(path, mtime, time.monotonic(), None, result)
        else:
            entry.path, entry.mtime_ns, entry.checked = path, mtime, time.monotonic()
        entry.last = result
        if result.flow is None:
            self._rejected(flow_id, entry, result)
        else:
            self._accepted(flow_id, entry, result.flow, result)
        return result

    def _accepted(self, flow_id: str, entry: _Entry, flow: Flow, result: LoadResult) -> None:
        previous, entry.serving = entry.serving, flow
        self._versions[(flow_id, flow.version)] = flow
        now = time.time()
        entry.last_success = now
        entry.rejected, entry.rejected_version, entry.rejected_at = [], None, None
        metrics.FLOW_STALE.labels(flow_id).set(0)
        metrics.FLOW_LAST_LOAD_SUCCESS.labels(flow_id).set(now)
        if previous is not None and previous.version == flow.version:
            return  # the same text again (touched, or a rescan): nothing new to say
        entry.serving_since = now
        if previous is not None:
            log.info(
                "flow %s: now serving version %s (was %s)", flow_id, flow.version, previous.version
            )
        for warning in result.warnings:
            log.warning("%s", warning.as_text())

    def _rejected(self, flow_id: str, entry: _Entry, result: LoadResult) -> None:
        """An invalid file: reported once per distinct text, however often it is re-read."""
        entry.rejected = [p.as_text() for p in result.errors]
        metrics.FLOW_STALE.labels(flow_id).set(1)
        try:
            version = version_of(entry.path.read_bytes())
        except OSError:
            version = None
        if version is not None and version == entry.rejected_version:
            return
        entry.rejected_version, entry.rejected_at = version, time.time()
        metrics.FLOW_LOAD_FAILURES.labels(flow_id).inc()
        problems = "; ".join(entry.rejected)  # one line per event, however many problems
        if entry.serving is not None:
            log.error(
                "flow %s: the edit is invalid; still serving version %s: %s",
                flow_id,
                entry.serving.version,
                problems,
            )
        else:
            log.error("flow %s is invalid and will not run: %s", flow_id, problems)

    def get(self, flow_id: str) -> Flow | None:
        """The version of `flow_id` to run now, or None when there is no valid one."""
        entry = self._entries.get(flow_id)
        if entry is None:
            return None
        now = time.monotonic()
        if now - entry.checked >= RECHECK_SECONDS:
            entry.checked = now
            try:
                mtime = entry.path.stat().st_mtime_ns
            except OSError:
                mtime = entry.mtime_ns  # deleted: keep serving what we have
            if mtime != entry.mtime_ns:
                self.load_file(entry.path)
        return entry.serving

    def get_version(self, flow_id: str, version: str) -> Flow | None:
        """That exact version if this process has seen it, else the version served now."""
        exact = self._versions.get((flow_id, version))
        if exact is not None:
            return exact
        current = self.get(flow_id)
        if current is not None:
            log.warning(
                "flow %s version %s is unknown here; running version %s",
                flow_id,
                version,
                current.version,
            )
        return current

    def status(self, flow_id: str) -> FlowStatus | None:
        """`flow_id`'s file, the version served and the last load (re-read if it changed)."""
        self.get(flow_id)
        entry = self._entries.get(flow_id)
        return FlowStatus(entry.path, entry.serving, entry.last) if entry else None

    def remove(self, flow_id: str) -> None:
        """Stop serving `flow_id` (its file is gone); calls running it keep their version."""
        self._entries.pop(flow_id, None)

    def reload_status(self, flow_id: str) -> dict[str, Any] | None:
        """How reloading `flow_id` went, JSON-ready (re-read first if the file changed): the
        version serving and since when, and the last rejected edit with its problems."""
        self.get(flow_id)
        entry = self._entries.get(flow_id)
        if entry is None:
            return None
        last_error = None
        if entry.rejected_at is not None:
            last_error = {
                "at": _iso(entry.rejected_at),
                "version": entry.rejected_version,
                "problems": [problem.as_dict() for problem in entry.last.errors],
            }
        return {
            "flowId": flow_id,
            "file": str(entry.path),
            "servingVersion": entry.serving.version if entry.serving else None,
            "servingSince": _iso(entry.serving_since),
            "lastLoadSuccess": _iso(entry.last_success),
            "stale": entry.rejected_at is not None,
            "lastError": last_error,
        }

    def problems(self, flow_id: str) -> list[str]:
        entry = self._entries.get(flow_id)
        return entry.rejected if entry else []

    def select(self, variables: dict[str, str]) -> tuple[str | None, Flow | None]:
        """Which flow a call runs: `callflow_flow`, else the route table, else the default."""
        flow_id = variables.get("callflow_flow")
        if not flow_id:
            destination = variables.get("destination_number", "")
            flow_id = (
                next(
                    (flow for pattern, flow in self.routes if pattern.fullmatch(destination)), None
                )
                or self.default_flow
            )
        if not flow_id:
            return None, None
        return flow_id, self.get(flow_id)

    @property
    def flow_ids(self) -> list[str]:
        return sorted(self._entries)


def _iso(timestamp: float | None) -> str | None:
    if timestamp is None:
        return None
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="seconds")
