"""Outbound calls: a flow that starts with no call and places one with its dial node.

`OutboundCalls.place()` runs the flow in a greenlet of its own group (stopped with the
controller). The nodes before the dial run without a channel; the dial node originates the
call, and when the answered call's socket reaches this process (the outbound server hands it
over) the same greenlet carries on with it. The record is written here, once — unless the
socket landed on another callflow process, which then runs the rest and writes the record.
"""

from __future__ import annotations

import logging
import time
import uuid as uuidlib
from collections.abc import Callable
from typing import Any

from gevent.event import AsyncResult
from gevent.pool import Group

from controller import logs
from controller.call import Call
from controller.dialer import Dialer
from controller.engine import NodeObserver, finish_record, run_flow
from controller.exceptions import CallEnded, CallflowError
from controller.flowstore import FlowStore
from controller.records import CallRecord, RecordWriter
from controller.server import HANGUP_COMPLETE_WAIT, CallServer

log = logging.getLogger("callflow.outbound")


class UnknownFlow(LookupError):
    """No valid flow with that id is being served."""


class OutboundCalls:
    def __init__(
        self,
        server: CallServer,
        dialer: Dialer,
        flows: FlowStore,
        records: RecordWriter,
        *,
        observers: tuple[NodeObserver, ...] = (),
        on_record: Callable[[CallRecord], None] | None = None,
    ) -> None:
        self.server = server
        self.dialer = dialer
        self.flows = flows
        self.records = records
        self.observers = observers
        self.on_record = on_record
        self.group = Group()

    def place(
        self,
        flow_id: str,
        *,
        contact: dict[str, Any] | None = None,
        to: str | None = None,
        version: str | None = None,
        call_id: str | None = None,
    ) -> AsyncResult:
        """Start a call of `flow_id` to `to` (else the contact's phone); the result resolves
        with its record once written (None when another process writes it).

        `version`: run exactly that version of the flow (a program's pinned one), or raise
        UnknownFlow. `call_id`: a uuid — the record's callId and the origination uuid of
        the flow's first dial, so the caller can find the call again after a crash."""
        if version is None:
            flow = self.flows.get(flow_id)
        else:
            flow = self.flows.get_version(flow_id, version)
            if flow is not None and flow.version != version:
                raise UnknownFlow(f"flow {flow_id!r} version {version} is not served here")
        if flow is None:
            raise UnknownFlow(f"no valid flow named {flow_id!r}")
        if call_id is not None:
            call_id = str(uuidlib.UUID(call_id))  # ValueError for anything but a uuid
        contact = dict(contact or {})
        if to:
            contact["phone"] = to
        record = CallRecord(
            callId=call_id or f"pending-{uuidlib.uuid4()}",
            direction="outbound",
            flowId=flow.id,
            flowName=flow.name,
            flowVersion=flow.version,
            destinationNumber=contact.get("phone"),
        )
        call = Call(
            id=record.callId,
            flow=flow,
            channel=None,
            settings=self.server.call_settings,
            record=record,
            contact=contact,
            dialer=self.dialer,
            dial_uuid=call_id,
        )
        result: AsyncResult = AsyncResult()
        self.group.spawn(self._run, call, result)
        return result

    def _run(self, call: Call, result: AsyncResult) -> None:
        started = time.monotonic()
        record = call.record
        logs.bind_call(call.id, call.flow.id)  # until answered: the record's pending id
        log.info("call started: flow %s version %s (outbound)", call.flow.id, call.flow.version)
        try:
            run_flow(call, self.server.limits, self.observers)
        except Exception as exc:  # run_flow records call-level problems; this is a bug
            log.exception("outbound call %s failed", record.callId)
            record.result, record.error = "error", f"internal error: {type(exc).__name__}: {exc}"
        channel = call.channel
        if channel is not None:
            try:
                if not channel.ended:
                    channel.hangup("NORMAL_CLEARING")
                channel.wait_hangup_complete(HANGUP_COMPLETE_WAIT)
            except (CallEnded, CallflowError) as exc:
                log.debug("call %s: final hangup: %s", record.callId, exc)
        finish_record(record, channel, started)
        if record.result == "handed_off":
            result.set(None)
            return
        self.records.write(record)
        if self.on_record is not None:
            self.on_record(record)
        if channel is not None:
            self.dialer.release(channel.uuid)  # lets the server close the socket
        result.set(record)

    def stop(self, timeout: float = 5.0) -> None:
        self.group.kill(block=True, timeout=timeout)
