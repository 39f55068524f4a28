"""The flows a running controller serves, picked per call, never replaced by a bad edit.

Flows are loaded from the flows directory at start. A file changed on disk is re-read when a
call asks for that flow (at most once a second per flow): the new text is validated first,
and only a valid version replaces the one being served — an invalid edit is logged with its
problems and the previous version keeps serving. A call keeps the `Flow` object it started
with, so its version is pinned whatever happens to the file meanwhile.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from controller import metrics
from controller.config import Route
from controller.flows.loader import LoadResult, discover, flow_id_for, load_flow_file
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

    def load_file(self, path: Path) -> LoadResult:
        """Load (or reload) one flow file; a valid version replaces the one being served."""
        result = load_flow_file(path, audio_root=self.audio_root)
        flow_id = flow_id_for(path)
        entry = self._entries.get(flow_id)
        mtime = path.stat().st_mtime_ns if path.exists() else 0
        if entry is None:
            entry = self._entries[flow_id] = _Entry(
                path, mtime, time.monotonic(), result.flow, result
            )
        else:
            entry.path, entry.mtime_ns, entry.checked, entry.last = (
                path,
                mtime,
                time.monotonic(),
                result,
            )
            if result.flow is not None:
                entry.serving = result.flow
        if result.flow is not None:
            self._versions[(flow_id, result.flow.version)] = result.flow
        if result.flow is None:
            metrics.FLOW_LOAD_FAILURES.labels(flow_id).inc()
            messages = [p.as_text() for p in result.errors]
            entry.rejected = messages
            if entry.serving is not None:
                log.error(
                    "flow %s: the edit is invalid; still serving version %s:\n  %s",
                    flow_id,
                    entry.serving.version,
                    "\n  ".join(messages),
                )
            else:
                log.error(
                    "flow %s is invalid and will not run:\n  %s", flow_id, "\n  ".join(messages)
                )
        else:
            entry.rejected = []
            for warning in result.warnings:
                log.warning("%s", warning.as_text())
        return result

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
