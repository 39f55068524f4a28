"""The programs of a controller: recovery at start, a runner greenlet per running program.

`ProgramManager.start()` first holds this process's owner name (setting `instance_name`) and
resolves what a previous run left half-done (recovery), then a supervisor greenlet polls the
store every POLL_SECONDS and starts a `ProgramRunner` for each running program that has none
— so a program that was running when the controller stopped (or was killed) continues when
it starts again, and one started by `callflow program start` in another process is picked up
within a second. Recovery covers this owner's attempts on a shared store (PostgreSQL: other
processes' calls may be in progress) and every owner's on SQLite (one controller).

While the owner name is not held (a live process already runs under it, or the database is
unreachable) nothing is dialled; each pass tries again. Runner greenlets are in `group`;
`stop()` kills them (no new dials). The results of calls still draining are written by
greenlets of `completions`, which `close()` waits for before the store closes.
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

from controller.programs import metrics
from controller.programs.database import default_instance_name
from controller.programs.model import PROGRAM_STATES
from controller.programs.pacing import GatewayLoad, TokenBucket, program_rate_limit
from controller.programs.recovery import RecoveryReport, recover
from controller.programs.runner import POLL_SECONDS, FlowSource, Placer, ProgramRunner
from controller.programs.store import ProgramStore, StoreError, StoreUnavailable

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
        owner: str | None = None,
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
        self.owner = owner or default_instance_name()
        self.owner_held = False
        self._owner_problem: str | None = None
        self._unavailable: str | None = None  # the program database cannot be reached: why
        self.clock = clock
        self.monotonic = monotonic
        self.poll_seconds = poll_seconds
        self.gateways = GatewayLoad()
        rate = program_rate_limit(freeswitch_sps)
        self.global_bucket = TokenBucket(rate, max(1.0, rate), monotonic)
        self.runners: dict[str, ProgramRunner] = {}
        self._greenlets: dict[str, Greenlet] = {}
        self.group = Group()
        self.completions = Group()  # results of ended calls being written
        self._stopping = Event()
        self.recovery: RecoveryReport | None = None

    def start(self) -> None:
        """Recover and hold the owner name now if the store can be reached; the supervisor
        keeps trying when it cannot (a database down must not keep calls from being served)."""
        try:
            self._ensure_store()
        except StoreUnavailable as exc:
            self._say_unavailable(exc)
        self.group.spawn(self._supervise)

    def _ensure_store(self) -> ProgramStore | None:
        """The store, opened (and recovered) the first time it exists. A controller does not
        create the database: `callflow program create` does; until then there is nothing to
        run and nothing is written."""
        if self.store is None and self.open_store is not None:
            self.store = self.open_store()
            if self.store is not None:
                self.recovery = None
        store = self.store
        if store is None or not self._hold_owner(store):
            return None
        if self.recovery is None:
            owner = self.owner if store.shared else None
            self.recovery = recover(store, self.records_path, now=self.clock(), owner=owner)
        return store

    def _hold_owner(self, store: ProgramStore) -> bool:
        """Hold (or check that we still hold) the owner name; said once when it changes."""
        try:
            store.hold_owner(self.owner)
        except StoreError as exc:
            if self._owner_problem != str(exc):
                log.error("programs: not dialling as %s: %s", self.owner, exc)
            self._owner_problem, self.owner_held = str(exc), False
            return False
        if self._owner_problem is not None or not self.owner_held:
            log.info("programs: dialling as %s (setting instance_name)", self.owner)
        self._owner_problem, self.owner_held = None, True
        return True

    def _supervise(self) -> None:
        while not self._stopping.is_set():
            try:
                self.check()
                self._unavailable = None
            except StoreUnavailable as exc:  # said once, not every second
                self._say_unavailable(exc)
            except Exception:  # a store hiccup must not end every program for good
                log.exception("programs: supervisor pass failed; trying again")
            self._stopping.wait(self.poll_seconds)

    def _say_unavailable(self, exc: StoreUnavailable) -> None:
        if self._unavailable != str(exc):
            log.error("programs: not dialling, the program database is unavailable: %s", exc)
        self._unavailable = str(exc)

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
            ready=lambda: self.owner_held and self.ready(),
            spawn=self.completions.spawn,
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

    def close(self, timeout: float = 10.0) -> None:
        """Wait for results being written; close the store if it was given (one opened
        through `open_store` belongs to whoever provides it)."""
        self.completions.join(timeout=timeout)
        self.completions.kill(timeout=1.0)  # still waiting for a database: recovery's now
        if self.store is not None and self.open_store is None:
            self.store.close()


def build_manager(controller: Any) -> ProgramManager | None:
    """The manager for a controller built by `controller.runner.build` (None without an
    event socket: programs need to dial). Its store is the controller's `program_db`, shared
    with the HTTP API."""
    settings = controller.settings
    database = getattr(controller, "program_db", None)
    if controller.outbound is None or database is None:
        return None
    return ProgramManager(
        None,
        controller.outbound,
        controller.flows,
        records_path=settings.records,
        freeswitch_sps=settings.freeswitch_sps,
        default_gateway=settings.gateway,
        owner=settings.instance_name or None,
        ready=lambda: bool(controller.esl and controller.esl.connected),
        open_store=database.get,
    )
