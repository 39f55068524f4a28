"""The flows a running controller serves, picked per call, never replaced by a bad edit.

Flows are loaded from the flows directory at start. A file changed on disk is re-read when a
call asks for that flow (at most once a second per flow): the new text is validated first,
and only a valid version replaces the one being served — an invalid edit is logged with its
problems and the previous version keeps serving. A call keeps the `Flow` object it started
with, so its version is pinned whatever happens to the file meanwhile; an old version stays
in memory only as long as a call or a program still holds it, or while it is one of the
last RECENT_VERSIONS the flow served (a call another process dialled may resume here).
Reading and validating a file runs on a worker thread (controller.offload): a big flow takes
seconds, which the event loop, serving every call, must not.

The directory is scanned again for files added since (SIGHUP always; a list of the flows, or
a call asking for a flow the store does not know, at most once a second). A file that is gone
is dropped once it is still gone a second later (a `git checkout` rewriting it is not a
removal): it is logged, its gauges go, and calls already running it finish on their version.

A rejected edit is reported once per distinct text (however often the file is re-read): one
log line, `callflow_flow_load_failures_total`, `callflow_flow_stale` set to 1 until a valid
version is loaded, and `status()` for the HTTP API.
"""

from __future__ import annotations

import itertools
import logging
import time
import weakref
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from controller import metrics, patterns
from controller.config import Route
from controller.flows.loader import (
    LoadResult,
    discover,
    flow_id_for,
    load_flow_file,
    version_of,
)
from controller.flows.model import Flow
from controller.offload import off_loop
from controller.patterns import PatternError

log = logging.getLogger("callflow.flows")

RECHECK_SECONDS = 1.0
RECENT_VERSIONS = 3  # replaced versions of each flow kept whether or not anything holds them


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
    missing_since: float | None = None  # monotonic time the file was first found gone


@dataclass(frozen=True, slots=True)
class FlowStatus:
    """What the store knows of one flow file and how reloading it went (the HTTP API's view).
    Times are wall-clock (Unix) seconds."""

    flow_id: str
    path: Path
    serving: Flow | None  # the version new calls run; None when no valid version was seen
    last: LoadResult  # the file's last load: its problems (an invalid edit keeps `serving`)
    serving_since: float | None  # when the serving version was loaded
    last_success: float | None  # when the file was last loaded and found valid
    rejected_version: str | None  # hash of the rejected text the file holds, if any
    rejected_at: float | None  # when that text was first rejected
    missing: bool  # the file is gone; the flow is dropped when it still is at the next check

    @property
    def stale(self) -> bool:
        """The file holds a rejected edit (`callflow_flow_stale`)."""
        return self.rejected_at is not None


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
        self.routes = [(route.match, route.flow) for route in routes]
        self.default_flow = default_flow
        self._entries: dict[str, _Entry] = {}
        self._scanned = time.monotonic()  # the last look for files added to the directory
        # Valid versions still in use: a call keeps the `Flow` it started on, a program's
        # runner the one it pinned, so a call resumed after its dial (maybe dialled by
        # another process) runs the exact version it started on, even if the file changed.
        # Weak: a version nothing holds any more goes (200 replacements of a 158 KB flow
        # kept 111 MB when every version was kept); the serving one is held by its entry,
        # the last RECENT_VERSIONS replaced by `_recent`.
        self._versions: weakref.WeakValueDictionary[tuple[str, str], Flow] = (
            weakref.WeakValueDictionary()
        )
        # The versions a flow served last, held a while longer: a call dialled by another
        # process on one of them may be resumed here, and nothing here holds it.
        self._recent: dict[str, deque[Flow]] = {}
        # Loads of a file run off the event loop (controller.offload); each takes a ticket,
        # and a load finishing after a later-started one was applied is dropped (stale).
        self._tickets = itertools.count(1)
        self._applied: dict[str, int] = {}  # flow id -> ticket of the load last applied
        self._reloading: set[str] = set()  # flow ids being re-read after a change

    def load_all(self) -> list[LoadResult]:
        """(Re)load every flow file; returns the results so the caller can report them."""
        results = []
        paths = discover([self.directory]) if self.directory.is_dir() else []
        for path in paths:
            result = self.load_file(path)
            results.append(result)
        return results

    def rescan(self) -> list[LoadResult]:
        """Load flow files that are new, changed or moved since they were read (SIGHUP), and
        drop those gone for a second. Returns the loads, so the caller can report them."""
        self._scanned = time.monotonic()
        found: dict[str, list[Path]] = {}
        for path in discover([self.directory]) if self.directory.is_dir() else []:
            found.setdefault(flow_id_for(path), []).append(path)
        results = []
        for flow_id, paths in found.items():
            entry = self._entries.get(flow_id)
            # The file already served keeps the id; another file with the same id is not
            # taken for a new version of it at every scan.
            path = entry.path if entry is not None and entry.path in paths else paths[0]
            try:
                mtime = path.stat().st_mtime_ns
            except OSError:
                continue  # gone since the listing
            if entry is None or entry.path != path or entry.mtime_ns != mtime:
                results.append(self.load_file(path))
            elif entry.missing_since is not None:
                entry.missing_since = None  # back before it was dropped
        for flow_id in [f for f in self._entries if f not in found]:
            self._gone(flow_id, self._entries[flow_id])
        return results

    def refresh(self) -> None:
        """`rescan()`, at most once every RECHECK_SECONDS: for lists of the flows, and calls
        asking for a flow the store does not know (a file added since the last look)."""
        if time.monotonic() - self._scanned >= RECHECK_SECONDS:
            self.rescan()

    def _gone(self, flow_id: str, entry: _Entry) -> bool:
        """The file is gone: dropped when it still is RECHECK_SECONDS after first seen gone
        (True), so a file rewritten by unlink-and-create is not a removal."""
        now = time.monotonic()
        if entry.missing_since is None:
            entry.missing_since = now
            return False
        if now - entry.missing_since < RECHECK_SECONDS:
            return False
        self.remove(flow_id)
        if entry.serving is not None:
            log.warning(
                "flow %s: %s is gone; version %s is no longer served (calls running it finish "
                "on it)",
                flow_id,
                entry.path,
                entry.serving.version,
            )
        else:
            log.warning("flow %s: %s is gone", flow_id, entry.path)
        return True

    def set_routes(self, routes: tuple[Route, ...], default_flow: str | None) -> None:
        """The route table and default flow for calls selected from now on."""
        self.routes = [(route.match, route.flow) for route in routes]
        self.default_flow = default_flow

    def load_file(self, path: Path, result: LoadResult | None = None) -> LoadResult:
        """Load (or reload) one flow file; a valid version replaces the one being served.
        The parse and checks run off the event loop (seconds for a big flow); `result`: the
        load of the file's current text, already made (the API validated it to write it)."""
        ticket = next(self._tickets)
        try:
            mtime = path.stat().st_mtime_ns  # before reading: a write meanwhile is seen later
        except OSError:
            mtime = 0
        if result is None:
            result = off_loop(load_flow_file, path, audio_root=self.audio_root)
        flow_id = flow_id_for(path)
        if self._applied.get(flow_id, 0) > ticket:
            return result  # a load started after this one was applied already
        self._applied[flow_id] = ticket
        entry = self._entries.get(flow_id)
        if entry is None:
            entry = self._entries[flow_id] = _Entry(path, mtime, time.monotonic(), None, result)
        else:
            entry.path, entry.mtime_ns, entry.checked = path, mtime, time.monotonic()
        entry.missing_since = None
        entry.last = result
        if result.flow is None:
            self._rejected(flow_id, entry, result)
        else:
            self._accepted(flow_id, entry, result.flow, result)
        return result

    def _accepted(self, flow_id: str, entry: _Entry, flow: Flow, result: LoadResult) -> None:
        previous, entry.serving = entry.serving, flow
        self._versions[(flow_id, flow.version)] = flow
        if previous is not None and previous.version != flow.version:
            self._recent.setdefault(flow_id, deque(maxlen=RECENT_VERSIONS)).append(previous)
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
            self.refresh()  # a file added since the last look?
            entry = self._entries.get(flow_id)
            if entry is None:
                return None
        now = time.monotonic()
        if now - entry.checked >= RECHECK_SECONDS:
            entry.checked = now
            try:
                mtime = entry.path.stat().st_mtime_ns
            except OSError:
                return None if self._gone(flow_id, entry) else entry.serving
            entry.missing_since = None
            if mtime != entry.mtime_ns and flow_id not in self._reloading:
                # This call waits for the new text to be validated (off the loop); calls
                # asking meanwhile get the version served now rather than a second load.
                self._reloading.add(flow_id)
                try:
                    self.load_file(entry.path)
                finally:
                    self._reloading.discard(flow_id)
                entry = self._entries.get(flow_id, entry)
        return entry.serving

    def get_version(self, flow_id: str, version: str) -> Flow | None:
        """That exact version if it is still in use here, else the version served now."""
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
        """`flow_id`'s file, the version served and since when, the last load and the edit it
        rejected, if any (the file is re-read first if it changed); None: no such flow."""
        self.get(flow_id)
        entry = self._entries.get(flow_id)
        if entry is None:
            return None
        return FlowStatus(
            flow_id=flow_id,
            path=entry.path,
            serving=entry.serving,
            last=entry.last,
            serving_since=entry.serving_since,
            last_success=entry.last_success,
            rejected_version=entry.rejected_version,
            rejected_at=entry.rejected_at,
            missing=entry.missing_since is not None,
        )

    def remove(self, flow_id: str) -> None:
        """Stop serving `flow_id` (its file is gone); calls running it keep their version.
        Its gauges go with it: a flow that is not there is neither stale nor loaded."""
        self._entries.pop(flow_id, None)
        self._recent.pop(flow_id, None)
        self._applied[flow_id] = next(self._tickets)  # a load still running is not applied
        metrics.FLOW_STALE.remove(flow_id)
        metrics.FLOW_LAST_LOAD_SUCCESS.remove(flow_id)

    def problems(self, flow_id: str) -> list[str]:
        entry = self._entries.get(flow_id)
        return entry.rejected if entry else []

    def select(self, variables: dict[str, str]) -> tuple[str | None, Flow | None]:
        """Which flow a call runs: `callflow_flow`, else the route table, else the default."""
        flow_id = variables.get("callflow_flow")
        if not flow_id:
            destination = variables.get("destination_number", "")
            flow_id = (
                next((flow for match, flow in self.routes if _routes(match, destination)), None)
                or self.default_flow
            )
        if not flow_id:
            return None, None
        return flow_id, self.get(flow_id)

    @property
    def versions_kept(self) -> int:
        """How many versions are in memory: the ones served plus those still held."""
        return len(self._versions)

    @property
    def flow_ids(self) -> list[str]:
        return sorted(self._entries)


def _routes(match: str, destination: str) -> bool:
    """Whether a route's pattern matches the whole dialled number (the caller's text: RE2,
    so no number can make a pattern backtrack; a number too long to test matches none)."""
    try:
        return patterns.fullmatch(match, destination)
    except PatternError:
        return False
