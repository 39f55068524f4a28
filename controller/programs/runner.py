"""One running program: a greenlet that picks due contacts and dials them, paced.

Each pass (`tick`):
1. the program must still be running (a pause or cancel from another process is seen here)
   and its pinned flow version served, else the runner stops (pausing the program, with the
   reason, when the version is gone);
2. as many contacts as the pacing allows are claimed — due (`next_at` reached), pending;
3. for each: on a do-not-call list now -> `dnc`; its window (in its own zone) closed -> back
   to pending until the window opens; otherwise the attempt is committed as `dialing` with a
   fresh origination uuid, and only then the call is placed through `OutboundCalls`;
4. when a call's record is written, the attempt's result and the contact's next step (retry
   time or disposition) are committed in one transaction.
When nothing is pending, claimed or dialing, the program is `completed`.
"""

from __future__ import annotations

import logging
import time
import uuid as uuidlib
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import gevent
from gevent.event import AsyncResult, Event

from controller.flows.model import Flow
from controller.programs import metrics
from controller.programs.pacing import GatewayLoad, TokenBucket
from controller.programs.recovery import attempt_result
from controller.programs.retries import decider
from controller.programs.store import (
    AttemptResult,
    ContactRow,
    ProgramRow,
    ProgramStore,
    StoreUnavailable,
)
from controller.programs.windows import next_open

log = logging.getLogger("callflow.programs")

POLL_SECONDS = 1.0  # longest sleep: how soon a pause, cancel or new contact is noticed
# An ended call's result written again after these waits while the database is unavailable
# (about a minute in all); then left to recovery, from the records file, at the next start.
RECORD_RETRY_WAITS = (1.0, 2.0, 4.0, 8.0, 16.0, 32.0)


class Placer(Protocol):
    """What the runner needs of `controller.outbound.OutboundCalls`."""

    def place(
        self,
        flow_id: str,
        *,
        contact: dict[str, Any] | None = None,
        to: str | None = None,
        version: str | None = None,
        call_id: str | None = None,
    ) -> AsyncResult: ...


class FlowSource(Protocol):
    def get_version(self, flow_id: str, version: str) -> Flow | None: ...


def gateway_of(flow: Flow, default: str) -> str:
    """The gateway the flow's (first) dial node uses; for per-gateway limits."""
    for node in flow.nodes.values():
        if node.type == "dial":
            return str(node.config.get("gateway") or default)
    return default


class ProgramRunner:
    def __init__(
        self,
        program_id: str,
        *,
        store: ProgramStore,
        placer: Placer,
        flows: FlowSource,
        owner: str,
        gateways: GatewayLoad,
        global_bucket: TokenBucket,
        default_gateway: str = "default",
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        ready: Callable[[], bool] = lambda: True,
        spawn: Callable[..., Any] | None = None,
    ) -> None:
        self.program_id = program_id
        # Runs the write of an ended call's result. It is told of in a link callback, on the
        # hub, where nothing may switch; a store that waits (PostgreSQL) needs a greenlet.
        self.spawn = spawn or (lambda function, *args: function(*args))
        self.recording = 0  # results being written
        self.ready = ready  # FreeSWITCH reachable: no dial is sent (and spent) while it is not
        self.store = store
        self.placer = placer
        self.flows = flows
        self.owner = owner
        self.gateways = gateways
        self.global_bucket = global_bucket
        self.default_gateway = default_gateway
        self.clock = clock
        self.monotonic = monotonic
        self.bucket: TokenBucket | None = None
        # The flow version the program runs, held from its first pass on (a paused runner
        # keeps it for a resume): the flow store keeps only versions something holds.
        self.pinned: Flow | None = None
        self.in_flight = 0
        self.placed = 0
        self.wake = Event()  # a call ended, or the manager has news: look again now
        self.settled = Event()  # no call of this runner in progress
        self.settled.set()

    # -- the loop ---------------------------------------------------------------------------
    def run(self) -> None:
        while True:
            self.wake.clear()
            delay = self.tick()
            if delay is None:
                return
            self.wake.wait(timeout=min(delay, POLL_SECONDS))

    def tick(self) -> float | None:
        """One pass; seconds until the next is useful, or None when the runner should stop."""
        program = self.store.get_program(self.program_id)
        if program is None or program.state in ("completed", "cancelled"):
            self.pinned = None  # nothing will run that version again
        if program is None or program.state != "running":
            return None
        flow = self._flow(program)
        if flow is None:
            return None
        if not self.ready():
            return POLL_SECONDS
        spec = program.spec
        if self.bucket is None or self.bucket.rate != spec.pacing.calls_per_second:
            self.bucket = TokenBucket(spec.pacing.calls_per_second, 1.0, self.monotonic)
        gateway = gateway_of(flow, self.default_gateway)
        room = min(
            spec.pacing.max_concurrent - self.in_flight,
            self.gateways.room(gateway, spec.pacing.gateway_limits.get(gateway)),
            self.bucket.available(),
            self.global_bucket.available(),
        )
        if room <= 0:
            return max(self.bucket.wait(), self.global_bucket.wait(), 0.0) or POLL_SECONDS
        now = self.clock()
        claimed = self.store.claim_due(self.program_id, now=now, limit=room, owner=self.owner)
        for contact in claimed:
            self._consider(program, flow, gateway, contact, now)
        if not claimed and self.in_flight == 0 and self._finished(now):
            self.store.transition(self.program_id, "completed", allowed_from=("running",), now=now)
            self.pinned = None
            log.info("program %s: completed", self.program_id)
            return None
        return 0.0 if len(claimed) == room else POLL_SECONDS

    def _finished(self, now: float) -> bool:
        """Every contact done. A program with no contacts yet waits for an import."""
        stats = self.store.stats(self.program_id, now=now)
        return stats.finished and stats.contacts > 0

    def _flow(self, program: ProgramRow) -> Flow | None:
        version = program.flow_version or ""
        flow = self.flows.get_version(program.spec.flow, version)
        if flow is not None and flow.version == version:
            self.pinned = flow  # holds the version in the flow store while the runner lives
            return flow
        reason = (
            f"flow {program.spec.flow} version {version} is not served here (the file "
            "changed?); `callflow program resume ID --use-current-flow` moves to the current one"
        )
        log.error("program %s paused: %s", self.program_id, reason)
        self.store.transition(
            self.program_id, "paused", allowed_from=("running",), now=self.clock(), reason=reason
        )
        return None

    # -- one contact ------------------------------------------------------------------------
    def _consider(
        self, program: ProgramRow, flow: Flow, gateway: str, contact: ContactRow, now: float
    ) -> None:
        spec = program.spec
        if self.store.is_dnc(contact.phone, self.program_id):  # checked again at dial time
            self.store.finish_contact(contact.id, "dnc", now=now)
            metrics.CONTACTS_FINISHED.labels("dnc").inc()
            return
        zone = ZoneInfo(contact.timezone or spec.timezone)
        opens = next_open(spec.window, zone, datetime.fromtimestamp(now, UTC))
        if opens is None:
            self.store.finish_contact(contact.id, "no_window", now=now)
            metrics.CONTACTS_FINISHED.labels("no_window").inc()
            return
        if opens.timestamp() > now:
            self.store.unclaim(contact.id, next_at=opens.timestamp(), now=now)
            return
        if not (self.bucket and self.bucket.take() and self.global_bucket.take()):
            self.store.unclaim(contact.id, next_at=contact.next_at, now=now)
            return
        self._dial(program, flow, gateway, contact, now)

    def _dial(
        self, program: ProgramRow, flow: Flow, gateway: str, contact: ContactRow, now: float
    ) -> None:
        uuid = str(uuidlib.uuid4())
        # Committed before the originate exists: a crash from here on is found at restart.
        self.store.begin_attempt(contact.id, uuid=uuid, gateway=gateway, owner=self.owner, now=now)
        try:
            result = self.placer.place(
                flow.id, contact=dict(contact.data), version=flow.version, call_id=uuid
            )
        except (LookupError, ValueError) as exc:
            log.error(
                "program %s: cannot place a call to %s: %s", self.program_id, contact.phone, exc
            )
            self._complete(program, uuid, AttemptResult("error", result="error", call_id=uuid))
            return
        self.in_flight += 1
        self.placed += 1
        self.settled.clear()
        self.gateways.add(gateway, 1)
        metrics.DIALS_IN_PROGRESS.inc()

        def ended(done: AsyncResult) -> None:
            self.in_flight -= 1
            self.gateways.add(gateway, -1)
            metrics.DIALS_IN_PROGRESS.dec()
            self.recording += 1
            self.spawn(self._record, program, uuid, done)

        result.rawlink(ended)

    def _record(self, program: ProgramRow, uuid: str, done: AsyncResult) -> None:
        try:
            result = self._result_of(uuid, done)
            for wait in (*RECORD_RETRY_WAITS, None):
                try:
                    self._complete(program, uuid, result)
                    break
                except StoreUnavailable as exc:  # the database is away: wait and try again
                    if wait is None:
                        raise
                    log.warning(
                        "program %s: attempt %s not recorded yet (%s); again in %gs",
                        self.program_id,
                        uuid,
                        exc,
                        wait,
                    )
                    gevent.sleep(wait)
        except Exception:  # the attempt stays dialing; recovery resolves it at restart
            log.exception("program %s: cannot record attempt %s", self.program_id, uuid)
        finally:
            self.recording -= 1
            if self.in_flight == 0 and self.recording == 0:
                self.settled.set()
            self.wake.set()

    @staticmethod
    def _result_of(uuid: str, done: AsyncResult) -> AttemptResult:
        if not done.successful():
            return AttemptResult("unknown", call_id=uuid)
        record = done.value
        if record is None:  # answered, and another callflow process runs it and writes its record
            return AttemptResult("answered", result="handed_off", call_id=uuid)
        return attempt_result(record.as_dict())

    def _complete(self, program: ProgramRow, uuid: str, result: AttemptResult) -> None:
        now = self.clock()
        after = self.store.complete_attempt(
            uuid, result, decide=decider(program.spec, ended_at=now), now=now
        )
        metrics.ATTEMPTS.labels(result.outcome).inc()
        if after is not None and after.status == "done" and after.disposition:
            metrics.CONTACTS_FINISHED.labels(after.disposition).inc()
