"""The programs of a controller: recovery at start, a runner greenlet per running program.

`ProgramManager.start()` first resolves what a previous run left half-done (recovery), then
a supervisor greenlet polls the store every POLL_SECONDS and starts a `ProgramRunner` for
each running program that has none — so a program that was running when the controller
stopped (or was killed) continues when it starts again, and one started by
`callflow program start` in another process is picked up within a second. Every greenlet
is in the manager's group; `stop()` kills them (no new dials), and the store stays open
until `close()`, so calls still draining can record their results.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gevent import Greenlet
from gevent.event import Event
from gevent.pool import Group

from controller.dialer import INSTANCE_ID
from controller.programs import metrics
from controller.programs.model import PROGRAM_STATES
from controller.programs.pacing import GatewayLoad, TokenBucket, program_rate_limit
from controller.programs.recovery import RecoveryReport, recover
from controller.programs.runner import POLL_SECONDS, FlowSource, Placer, ProgramRunner
from controller.programs.sqlite_store import SQLiteStore
from controller.programs.store import ProgramStore

log = logging.getLogger("callflow.programs")


class ProgramManager:
    def __init__(
        self,
        store: ProgramStore | None,
        placer: Placer,
        flows: FlowSource,
        *,
        records_path: Path,
        freeswitch_sps: float = 30.0,
        default_gateway: str = "default",
        owner: str = INSTANCE_ID,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        poll_seconds: float = POLL_SECONDS,
        ready: Callable[[], bool] = lambda: True,
        open_store: Callable[[], ProgramStore | None] | None = None,
    ) -> None:
        self.ready = ready
        self.open_store = open_store  # while `store` is None: is there a store yet?
        self.store = store
        self.placer = placer
        self.flows = flows
        self.records_path = records_path
        self.default_gateway = default_gateway
        self.owner = owner
        self.clock = clock
        self.monotonic = monotonic
        self.poll_seconds = poll_seconds
        self.gateways = GatewayLoad()
        rate = program_rate_limit(freeswitch_sps)
        self.global_bucket = TokenBucket(rate, max(1.0, rate), monotonic)
        self.runners: dict[str, ProgramRunner] = {}
        self._greenlets: dict[str, Greenlet] = {}
        self.group = Group()
        self._stopping = Event()
        self.recovery: RecoveryReport | None = None

    def start(self) -> None:
        self._ensure_store()
        self.group.spawn(self._supervise)

    def _ensure_store(self) -> ProgramStore | None:
        """The store, opened (and recovered) the first time it exists. A controller does not
        create the database: `callflow program create` does; until then there is nothing to
        run and nothing is written."""
        if self.store is None and self.open_store is not None:
            self.store = self.open_store()
            if self.store is not None:
                self.recovery = None
        if self.store is not None and self.recovery is None:
            self.recovery = recover(self.store, self.records_path, now=self.clock())
        return self.store

    def _supervise(self) -> None:
        while not self._stopping.is_set():
            try:
                self.check()
            except Exception:  # a store hiccup must not end every program for good
                log.exception("programs: supervisor pass failed; trying again")
            self._stopping.wait(self.poll_seconds)

    def check(self) -> None:
        """One supervisor pass: a runner for every running program, metrics by state."""
        store = self._ensure_store()
        if store is None:
            return
        programs = store.list_programs()
        counts = dict.fromkeys(PROGRAM_STATES, 0)
        for program in programs:
            counts[program.state] = counts.get(program.state, 0) + 1
            if program.state != "running":
                continue
            runner = self.runners.get(program.id)
            if runner is not None and not self._greenlets[program.id].dead:
                runner.wake.set()
                continue
            if runner is None:  # after a pause the same runner goes on: it counts its calls
                runner = self.runners[program.id] = self.runner_for(program.id)
            self._greenlets[program.id] = self.group.spawn(self._run, runner)
            log.info("program %s: running (flow %s)", program.id, program.spec.flow)
        for state, count in counts.items():
            metrics.PROGRAMS.labels(state).set(count)

    def runner_for(self, program_id: str) -> ProgramRunner:
        store = self._ensure_store()
        if store is None:
            raise LookupError("there is no program store yet")
        return ProgramRunner(
            program_id,
            store=store,
            placer=self.placer,
            flows=self.flows,
            owner=self.owner,
            gateways=self.gateways,
            global_bucket=self.global_bucket,
            default_gateway=self.default_gateway,
            clock=self.clock,
            monotonic=self.monotonic,
            ready=self.ready,
        )

    def _run(self, runner: ProgramRunner) -> None:
        try:
            runner.run()
        except Exception:  # logged; the supervisor starts a new runner at its next pass
            log.exception("program %s: runner failed", runner.program_id)

    def stop(self, timeout: float = 5.0) -> None:
        """No more dials; calls in progress are the outbound side's to finish."""
        self._stopping.set()
        self.group.kill(block=True, timeout=timeout)

    def close(self) -> None:
        if self.store is not None:
            self.store.close()


def build_manager(controller: Any) -> ProgramManager | None:
    """The manager for a controller built by `controller.runner.build` (None without an
    event socket: programs need to dial)."""
    settings = controller.settings
    if controller.outbound is None or not getattr(settings, "programs_db", None):
        return None
    path: Path = settings.programs_db

    def open_store() -> ProgramStore | None:
        return SQLiteStore(path) if path.exists() else None

    return ProgramManager(
        None,
        controller.outbound,
        controller.flows,
        records_path=settings.records,
        freeswitch_sps=settings.freeswitch_sps,
        default_gateway=settings.gateway,
        ready=lambda: bool(controller.esl and controller.esl.connected),
        open_store=open_store,
    )
