"""Run a flow on a call, node by node, and close its record — the one place that decides
what happens when something goes wrong.

The rules (the flow validator's endless-loop check mirrors the first three):
- a node returns an output name; a wired output goes to its node;
- an output that is not wired goes to `default` when that is wired, else the call ends;
- `onError` (a `NodeError`, or a bug in a node) goes to the `onError` node when wired, else
  the call is hung up with NORMAL_TEMPORARY_FAILURE and the error is recorded;
- the call ending (`CallEnded`: the caller hung up, FreeSWITCH went away) stops the flow at
  once, whatever node was running, and is recorded with the node it happened in;
- a step cap and a deadline stop runaway loops (`FlowLimitExceeded`);
- a terminal node (hangup) ends the flow.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from controller import logs, metrics
from controller.call import Call
from controller.esl.channel import Channel
from controller.exceptions import (
    CallEnded,
    CallflowError,
    CallHandedOff,
    FlowLimitExceeded,
    NodeError,
)
from controller.flows.model import Node
from controller.nodes import NODE_TYPES
from controller.nodes.base import DEFAULT_OUTPUT, ERROR_OUTPUT
from controller.records import CallRecord, Step, utc_now

log = logging.getLogger("callflow.engine")

ERROR_CAUSE = "NORMAL_TEMPORARY_FAILURE"
END_CAUSE = "NORMAL_CLEARING"


@dataclass(frozen=True, slots=True)
class Limits:
    max_steps: int = 1000
    deadline_seconds: float = 4 * 3600.0


NodeObserver = Callable[[Call, Node], None]


def next_node_id(node: Node, output: str) -> str | None:
    if output.startswith("branches."):
        target = node.branches.get(output[9:])
    else:
        target = node.outputs.get(output)
    if target is None and output != ERROR_OUTPUT:
        target = node.outputs.get(DEFAULT_OUTPUT)
    return target


def run_flow(
    call: Call,
    limits: Limits,
    observers: tuple[NodeObserver, ...] = (),
    *,
    start: str | None = None,
) -> None:
    """Run `call.flow` from its start node (or `start`, for a call resumed after its dial)
    until a terminal node, an unwired output, or the end of the call.

    Never raises for a call-level problem: every outcome ends up in `call.record`.
    """
    record = call.record
    deadline = time.monotonic() + limits.deadline_seconds
    node: Node | None = call.flow.nodes[start or call.flow.start_node_id]
    logs.update_call(flow=call.flow.id)
    try:
        while node is not None:
            if len(record.path) >= limits.max_steps:
                raise FlowLimitExceeded(f"more than {limits.max_steps} steps")
            if time.monotonic() > deadline:
                raise FlowLimitExceeded(f"call ran past its {limits.deadline_seconds:g} s deadline")
            if call.channel is not None:  # a hangup during a node with no ESL command
                call.channel.raise_if_ended()
            node = _run_node(call, node, observers)
    except CallEnded as ended:
        if record.result is None:
            record.result = "caller_hangup" if ended.by == "caller" else "disconnected"
    except CallHandedOff:
        record.result = "handed_off"  # another callflow process has the call and its record
    except FlowLimitExceeded as exc:
        log.warning("call %s: %s; hanging up", call.id, exc)
        record.error = str(exc)
        record.result = "flow_limit"
        _hangup_quietly(call, ERROR_CAUSE)
    finally:
        logs.update_call(node=None)
        record.variables = dict(call.variables)
        if call.unset_reads:
            record.variables.setdefault("_unsetReads", sorted(call.unset_reads))


def _run_node(call: Call, node: Node, observers: tuple[NodeObserver, ...]) -> Node | None:
    call.node = node
    logs.update_call(node=node.id)
    node_type = NODE_TYPES[node.type]
    step = Step(nodeId=node.id, type=node.type)
    call.record.path.append(step)
    if node.type != "dtmf" and call.channel is not None:
        # Type-ahead reaches only the dtmf node right after the prompt it was typed over.
        call.channel.take_digits()
    for observer in observers:
        observer(call, node)
    started = time.monotonic()
    try:
        if node_type.run is None:
            raise NodeError(f"node type {node.type!r} cannot run yet")
        output = node_type.run(call, node.config)
    except CallEnded:
        step.output = "hangup"
        raise
    except CallHandedOff:
        step.output = "handed_off"
        raise
    except NodeError as exc:
        output, step.error = ERROR_OUTPUT, str(exc)
    except CallflowError as exc:  # an ESL failure: the node could not do its job
        output, step.error = ERROR_OUTPUT, f"{type(exc).__name__}: {exc}"
    except Exception as exc:  # a bug in a node must not take other calls (or this record) down
        log.exception("call %s: node %s (%s) failed", call.id, node.id, node.type)
        output, step.error = ERROR_OUTPUT, f"internal error: {type(exc).__name__}: {exc}"
    finally:
        elapsed = time.monotonic() - started
        step.durationMs = int(elapsed * 1000)
        metrics.child(metrics.NODE_SECONDS, node.type).observe(elapsed)
    metrics.child(metrics.NODES, call.flow.id, node.type, output or "end").inc()
    if node_type.terminal:
        return None
    step.output = output
    target = next_node_id(node, output)
    step.next = target
    log.debug("%s (%s): %s -> %s", node.id, node.type, output, target or "end")
    if target is None:
        _end_unwired(call, node, output, step.error)
        return None
    return call.flow.nodes[target]


def _end_unwired(call: Call, node: Node, output: str, error: str | None) -> None:
    """The node's output leads nowhere: the flow is over."""
    record = call.record
    if output == ERROR_OUTPUT:
        record.error = error
        record.result = "error"
        _hangup_quietly(call, ERROR_CAUSE)
    else:
        record.result = record.result or f"ended:{node.id}:{output}"
        _hangup_quietly(call, END_CAUSE)


def _hangup_quietly(call: Call, cause: str) -> None:
    if call.channel is None:
        return
    try:
        call.channel.hangup(cause)
    except CallEnded:
        pass
    except CallflowError as exc:
        log.warning("call %s: hangup failed: %s", call.id, exc)


def finish_record(record: CallRecord, channel: Channel | None, started: float) -> None:
    """Close the record with the channel's outcome; `started` is a time.monotonic() value.
    Logs the one line that says how the call ended (the record says the rest)."""
    record.endedAt = utc_now()
    record.durationMs = int((time.monotonic() - started) * 1000)
    if channel is not None:
        record.hangupCause = record.hangupCause or channel.hangup_cause
        record.hangupBy = record.hangupBy or channel.hangup_by
    log.info(
        "call ended: %s; hangup %s by %s after %d ms",
        record.result,
        record.hangupCause or "-",
        record.hangupBy or "-",
        record.durationMs,
    )
