"""The outbound-socket server: FreeSWITCH's `socket` app connects here once per call.

A `Listener` (it accepts as connections arrive, greeting each at once; greenswitch's accept
loop polls every 100 ms) with a large listen backlog, so a burst of calls is queued by the
kernel rather than refused. Each connection is one greenlet owned by the server's pool, and
each ends with exactly one call record, whatever happened: no flow, an invalid flow, too many
calls, the caller hanging up, FreeSWITCH vanishing, or a bug.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import socket
import time
import uuid as uuidlib
from collections.abc import Callable
from typing import Any

import gevent
from gevent import GreenletExit
from gevent.pool import Group

from controller import logs, metrics
from controller.call import Call, CallSettings
from controller.config import Settings
from controller.contacts import ContactDirectory
from controller.dialer import INSTANCE_ID, LATE_DIAL_CAUSE, Dialer, decode_state, late_dial
from controller.engine import Limits, NodeObserver, finish_record, run_flow
from controller.esl import apps
from controller.esl.channel import Channel
from controller.esl.protocol import opening
from controller.exceptions import CallEnded, CallflowError, NotConnected
from controller.flowstore import FlowStore
from controller.listener import Listener
from controller.records import CallRecord, RecordWriter, Step
from controller.sockets import set_keepalive
from controller.speech.dictionary import Dictionaries

log = logging.getLogger("callflow.server")

LISTEN_BACKLOG = 4096
SWITCH_INTERVAL = 0.0005  # seconds; see start()
GC_THRESHOLDS = (5_000, 10, 20)  # gc.set_threshold; see start()
OVER_CAPACITY_CAUSE = "NORMAL_CIRCUIT_CONGESTION"
NO_FLOW_CAUSE = "NO_ROUTE_DESTINATION"
BAD_FLOW_CAUSE = "NORMAL_TEMPORARY_FAILURE"
HANGUP_COMPLETE_WAIT = 2.0
SHUTDOWN_CAUSE = "SYSTEM_SHUTDOWN"
KILL_GRACE = 10.0  # time for ended calls to hang up and write their records
END_CAUSE = "NORMAL_CLEARING"
# A call placed after its dial was given up on: hung up unrun; its dialler wrote its record.
LATE_DIAL_RESULT = "late_dial_killed"


class CallServer:
    def __init__(
        self,
        settings: Settings,
        flows: FlowStore,
        records: RecordWriter,
        *,
        observers: tuple[NodeObserver, ...] = (),
        on_record: Callable[[CallRecord], None] | None = None,
    ) -> None:
        self.settings = settings
        self.flows = flows
        self.records = records
        self.observers = observers
        self.on_record = on_record
        self.contacts = ContactDirectory(settings.contacts)
        self.dialer: Dialer | None = None  # set when an event socket is configured
        self.active = 0
        self.call_settings = CallSettings(
            audio_root=settings.audio.resolve(),
            recordings_dir=settings.recordings.resolve(),
            command_timeout=settings.command_timeout,
            media_timeout=settings.media_timeout,
            dictionaries=Dictionaries(settings.audio.resolve()),
            gateway=settings.gateway,
            dial_string=settings.dial_string,
        )
        self.limits = Limits(max_steps=settings.max_steps, deadline_seconds=settings.call_deadline)
        self._listener: Listener | None = None
        self.calls = Group()  # one greenlet per call, owned here and stopped by stop()

    @property
    def address(self) -> tuple[str, int]:
        assert self._listener is not None, "not started"
        return self._listener.address

    def start(self) -> None:
        self.settings.recordings.mkdir(parents=True, exist_ok=True)
        self._listener = Listener(
            self.settings.host_port,
            self._accepted,
            greeting=lambda: opening(self.settings.linger_seconds),
            backlog=LISTEN_BACKLOG,
            reply_timeout=lambda: self.settings.connect_timeout,
            on_silent=self._silent,
        )
        # Under load the hub runs ready greenlets for this long (checked every 50) before it
        # polls the sockets again: gevent's default, 5 ms, kept a burst's new connections
        # waiting that long (the listener's accept_if_due now bounds the rest).
        gevent.setswitchinterval(SWITCH_INTERVAL)
        # gevent records where each greenlet was spawned from (frames, for debugging tools
        # we do not use): ~10 objects per call for the collector to scan, and time at spawn.
        gevent.config.track_greenlet_tree = False
        # The cyclic garbage collector stops every call while it runs. What is loaded by now
        # (modules, schemas, flows) lives as long as the process: out of its reach it goes
        # (gc.freeze). Python's default thresholds (700, 10, 10) made a ramp to 10,000 calls
        # run 9 full collections, up to 256 ms each; (20,000, 20, 20) none, but gen-1
        # collections of up to 106 ms; (5,000, 10, 20) none, longest pause 12.5 ms, same CPU
        # per call (docs/bench-runtime.md).
        gc.freeze()
        gc.set_threshold(*GC_THRESHOLDS)
        self._listener.start()
        log.info("listening for FreeSWITCH on %s:%d", *self.address)

    def _accepted(self, sock: Any, address: tuple[str, int], unsent: bytes) -> None:
        """The listener has greeted FreeSWITCH's socket app (`connect`, `myevents`, ...) on
        this new connection: the call runs in a greenlet of our group."""
        self.calls.spawn(self._handle, sock, address, unsent)

    @staticmethod
    def _silent(address: tuple[str, int], reason: str) -> None:
        """The listener closed a connection that never answered our `connect`."""
        metrics.child(metrics.OUTBOUND_CONNECTS_ABANDONED, reason).inc()
        log.debug("connection from %s:%s closed, not a call: %s", *address[:2], reason)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop accepting; give calls in progress `timeout` seconds, then end them."""
        if self._listener is not None:
            self._listener.stop()
            self._listener = None
        self.calls.join(timeout=timeout)
        # Calls still running are ended: each hangs up (SYSTEM_SHUTDOWN) and writes its record.
        self.calls.kill(block=True, timeout=KILL_GRACE)

    # -- one call -------------------------------------------------------------------------

    def _handle(self, sock: Any, address: tuple[str, int], unsent: bytes) -> None:
        with contextlib.suppress(OSError):  # a socket already closed fails in start(), recorded
            if unsent:  # the greeting did not fit the socket's buffer at once (never seen)
                sock.sendall(unsent)
            # Commands are small and each waits for its reply: Nagle's algorithm would hold
            # them back for a delayed ACK (~40 ms on Linux) on every exchange.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            set_keepalive(sock)  # a FreeSWITCH host gone silent is found in ~25 s
        started = time.monotonic()
        # The call's reads and writes let new calls in while the hub is busy (listener.py).
        let_in = self._listener.accept_if_due if self._listener else None  # None: stopping
        channel = Channel(sock, command_timeout=self.settings.command_timeout, checkpoint=let_in)
        record = CallRecord(callId=f"unknown-{uuidlib.uuid4()}")
        # Every line this greenlet (and the channel's reader) logs is about this call.
        context = logs.bind_call(record.callId)
        opening_failed: BaseException | None = None
        try:
            channel.start(
                linger_seconds=self.settings.linger_seconds,
                connect_timeout=self.settings.connect_timeout,
                opening_sent=True,
            )
        except NotConnected as exc:
            # Whatever connected never answered `connect` as FreeSWITCH does (at once, with
            # its channel): an idle or junk connection, a scanner. Not a call, not counted
            # against max_calls, no record: closed and counted.
            metrics.child(metrics.OUTBOUND_CONNECTS_ABANDONED, exc.reason).inc()
            log.debug("connection from %s:%s closed, not a call: %s", *address[:2], exc)
            channel.close()
            return
        except (CallflowError, GreenletExit) as exc:
            if not channel.uuid:  # stopped while waiting for the reply to connect: no call
                channel.close()
                return
            opening_failed = exc  # FreeSWITCH answered connect: a call, recorded
        self._serve(channel, record, context, started, opening_failed)

    def _serve(
        self,
        channel: Channel,
        record: CallRecord,
        context: Any,
        started: float,
        opening_failed: BaseException | None,
    ) -> None:
        """Run the call FreeSWITCH handed over (its opening failed past `connect`: that
        failure is recorded like any other)."""
        self.active += 1
        metrics.CALLS_ACTIVE.inc()
        attempt = None
        try:
            if opening_failed is not None:
                raise opening_failed
            context.call_uuid = channel.uuid or record.callId
            attempt = self.dialer.claim(channel.uuid) if self.dialer else None
            if attempt is not None:
                # The answer to one of our own dials: the dialling greenlet runs the call and
                # writes its record; this connection only keeps the socket until it is done.
                attempt.socket.set(channel)
                attempt.done.wait(self.settings.call_deadline)
                return
            self._describe(record, channel)
            if self.active > self.settings.max_calls:
                record.result = "over_capacity"
                record.error = f"more than {self.settings.max_calls} calls at once"
                log.warning("call %s refused: %s", record.callId, record.error)
                channel.hangup(OVER_CAPACITY_CAUSE)
                return
            call = self._prepare(channel, record)
            if call is not None:
                run_flow(call, self.limits, self.observers, start=call.resume_node)
        except CallEnded as ended:
            record.result = record.result or (
                "caller_hangup" if ended.by == "caller" else "disconnected"
            )
        except CallflowError as exc:
            record.result = record.result or "error"
            record.error = record.error or f"{type(exc).__name__}: {exc}"
            log.warning("call %s: %s", record.callId, record.error)
        except Exception as exc:  # a bug: this call gets a record, the others go on
            log.exception("call %s failed", record.callId)
            record.result = "error"
            record.error = f"internal error: {type(exc).__name__}: {exc}"
        except GreenletExit:  # stop() ran out of grace: hang up properly, keep the record
            record.result = record.result or "shutdown"
            record.error = record.error or "the controller stopped before the call ended"
        finally:
            if attempt is not None:
                self.active -= 1
                metrics.CALLS_ACTIVE.dec()
                channel.close()
            else:
                self._finish(channel, record, started)

    @staticmethod
    def _describe(record: CallRecord, channel: Channel) -> None:
        variables = channel.variables
        record.callId = channel.uuid or record.callId
        # Callflow's own originates mark the call; anything else was handed to us by the
        # dialplan, whatever FreeSWITCH's channel direction says (a loopback leg is "outbound").
        record.direction = "outbound" if variables.get("callflow_origin") else "inbound"
        record.callerIdNumber = variables.get("caller_id_number") or None
        record.destinationNumber = variables.get("destination_number") or None

    def _prepare(self, channel: Channel, record: CallRecord) -> Call | None:
        state_text = channel.variables.get("callflow_state")
        if state_text:
            variables = channel.variables
            late = (
                self.dialer.late(channel.uuid, variables) if self.dialer else late_dial(variables)
            )
            if late is not None:
                # Resumed, it would run the flow a second time and write a second record.
                log.warning(
                    "call %s: FreeSWITCH placed it late, %s; hanging it up (%s)",
                    record.callId,
                    late,
                    LATE_DIAL_CAUSE,
                )
                record.result, record.error = LATE_DIAL_RESULT, late
                channel.hangup(LATE_DIAL_CAUSE)
                return None
            call = self._resume(channel, record, state_text)
        else:
            call = self._new_call(channel, record)
        if call is None:
            return None
        # Barge-in is off unless a play node asks for it (FreeSWITCH's default stops on '*').
        # Our dials and the shipped dialplan set it before the call reaches us, which saves
        # a command per call; any other dialplan gets it set here.
        if channel.variables.get("playback_terminators") != "none":
            apps.set_variable(
                channel,
                name="playback_terminators",
                value="none",
                timeout=self.settings.command_timeout,
            )
        log.info(
            "call started: flow %s version %s (%s%s)",
            call.flow.id,
            call.flow.version,
            record.direction,
            f", resumed at {call.resume_node}" if call.resume_node else "",
        )
        if call.flow.settings.get("recordSession"):
            path = call.recording_path("session")
            apps.record_session(channel, path=path, timeout=self.settings.command_timeout)
            record.recordings.append(path)
        return call

    def _resume(self, channel: Channel, record: CallRecord, state_text: str) -> Call | None:
        """A call dialled by a callflow process (maybe another one) was answered, and its
        socket reached this one: carry on from its dial node with the state it carries."""
        try:
            state = decode_state(state_text)
            flow = self.flows.get_version(str(state["flowId"]), str(state["flowVersion"]))
            path = [Step(**step) for step in state["path"]]
        except (ValueError, KeyError, TypeError) as exc:
            record.result, record.error = "error", f"unusable callflow_state: {exc}"
            channel.hangup(BAD_FLOW_CAUSE)
            return None
        record.flowId = str(state["flowId"])
        logs.update_call(flow=record.flowId)
        if flow is None:
            record.result, record.error = "no_flow", f"no flow named {record.flowId!r}"
            channel.hangup(NO_FLOW_CAUSE)
            return None
        record.flowName, record.flowVersion = flow.name, flow.version
        record.path, record.startedAt = path, str(state.get("startedAt") or record.startedAt)
        # Tells the process that dialled that this call (and its record) is handled here.
        apps.set_variable(
            channel,
            name="callflow_handled_by",
            value=INSTANCE_ID,
            timeout=self.settings.command_timeout,
        )
        return Call(
            id=record.callId,
            flow=flow,
            channel=channel,
            settings=self.call_settings,
            record=record,
            contact=dict(state.get("contact") or {}),
            variables=dict(state.get("variables") or {}),
            resume_node=str(state["resume"]),
        )

    def _new_call(self, channel: Channel, record: CallRecord) -> Call | None:
        flow_id, flow = self.flows.select(channel.variables)
        record.flowId = flow_id
        logs.update_call(flow=flow_id)
        if flow is None:
            if flow_id is None:
                record.result, record.error = "no_flow", "no callflow_flow variable and no route"
                cause = NO_FLOW_CAUSE
            else:
                problems = self.flows.problems(flow_id)
                record.result = "invalid_flow" if problems else "no_flow"
                record.error = "; ".join(problems) or f"no flow named {flow_id!r}"
                cause = BAD_FLOW_CAUSE if problems else NO_FLOW_CAUSE
            log.warning("call %s not run: %s", record.callId, record.error)
            channel.hangup(cause)
            return None
        record.flowName, record.flowVersion = flow.name, flow.version
        return Call(
            id=record.callId,
            flow=flow,
            channel=channel,
            settings=self.call_settings,
            record=record,
            contact=self.contacts.find(channel.variables),
        )

    def _finish(self, channel: Channel, record: CallRecord, started: float) -> None:
        try:
            if not channel.ended:
                channel.hangup(SHUTDOWN_CAUSE if record.result == "shutdown" else END_CAUSE)
            channel.wait_hangup_complete(HANGUP_COMPLETE_WAIT)
        except CallflowError as exc:
            log.debug("call %s: final hangup: %s", record.callId, exc)
        finish_record(record, channel, started)
        self.active -= 1  # the call is over; only its bookkeeping remains
        metrics.CALLS_ACTIVE.dec()
        if record.result == LATE_DIAL_RESULT:  # the dialler's record is this call's one
            channel.close()
            return
        # The record is written before the socket closes: whoever sees the call end (the
        # simulator, a test, FreeSWITCH's CDR) can already find it.
        self.records.write(record)
        if self.on_record is not None:
            self.on_record(record)
        channel.close()
