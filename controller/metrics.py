"""Prometheus metrics: what operators watch. Labels stay bounded — flow ids, node types,
outputs, hangup causes, results — never call uuids or phone numbers.

One registry for the process (`REGISTRY`), served at /metrics by `controller.http`. The
metrics are updated where the thing happens, once: records in `RecordWriter.write`, nodes in
the engine, commands in the channel, dials in the dial node.
"""

from __future__ import annotations

import functools
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

CALLS_ACTIVE = Gauge(
    "callflow_calls_active", "Calls in progress on this controller.", registry=REGISTRY
)
CALLS = Counter(
    "callflow_calls_total",
    "Calls ended, by flow and final result.",
    ["flow", "result"],
    registry=REGISTRY,
)
RECORDS_WRITTEN = Counter(
    "callflow_records_written_total", "Call records written to the records file.", registry=REGISTRY
)
RECORDS_PENDING = Gauge(
    "callflow_records_pending",
    "Call records waiting in memory because the records file refuses them (disk full, I/O "
    "errors); /readyz is not ready meanwhile.",
    registry=REGISTRY,
)
RECORD_WRITE_FAILURES = Counter(
    "callflow_record_write_failures_total",
    "Attempts to append to the records file that failed (the records wait in memory).",
    registry=REGISTRY,
)
RECORDS_DROPPED = Counter(
    "callflow_records_dropped_total",
    "Call records lost: the file refused them and the in-memory queue was full.",
    registry=REGISTRY,
)
NODES = Counter(
    "callflow_node_executions_total",
    "Node runs, by flow, node type and output.",
    ["flow", "type", "output"],
    registry=REGISTRY,
)
NODE_SECONDS = Histogram(
    "callflow_node_duration_seconds",
    "How long nodes run, by node type.",
    ["type"],
    registry=REGISTRY,
    buckets=(0.005, 0.02, 0.1, 0.5, 1, 2, 5, 10, 30, 60, 300),
)
COMMAND_SECONDS = Histogram(
    "callflow_esl_command_duration_seconds",
    "Dialplan applications from sendmsg to their completion.",
    ["app"],
    registry=REGISTRY,
    buckets=(0.005, 0.02, 0.1, 0.5, 1, 2, 5, 10, 30, 60, 300),
)
DIALS = Counter(
    "callflow_dial_outcomes_total",
    "Dials, by FreeSWITCH hangup cause "
    "(ANSWERED when answered here, HANDED_OFF when another controller has it).",
    ["cause"],
    registry=REGISTRY,
)
DIALS_THROTTLED = Counter(
    "callflow_dials_throttled_total",
    "Dials refused by FreeSWITCH's sessions-per-second throttle.",
    registry=REGISTRY,
)
AMD_VERDICTS = Counter(
    "callflow_amd_verdicts_total",
    "Answering-machine detection verdicts.",
    ["verdict", "reason"],
    registry=REGISTRY,
)
AMD_SECONDS = Histogram(
    "callflow_amd_decision_seconds",
    "From answer to the AMD verdict.",
    registry=REGISTRY,
    buckets=(0.5, 1, 1.5, 2, 2.5, 3, 4, 5, 7, 10),
)
FLOW_LOAD_FAILURES = Counter(
    "callflow_flow_load_failures_total",
    "Flow files rejected at load or reload (invalid).",
    ["flow"],
    registry=REGISTRY,
)
FLOW_STALE = Gauge(
    "callflow_flow_stale",
    "1 while the flow's file holds an edit that was rejected (the previous version, if any, "
    "keeps serving).",
    ["flow"],
    registry=REGISTRY,
)
FLOW_LAST_LOAD_SUCCESS = Gauge(
    "callflow_flow_last_load_success_timestamp_seconds",
    "When the flow's file was last loaded and found valid (Unix time).",
    ["flow"],
    registry=REGISTRY,
)
ESL_CONNECTED = Gauge(
    "callflow_event_socket_connected",
    "1 while the event-socket connection to FreeSWITCH is up.",
    registry=REGISTRY,
)
ESL_RECONNECTS = Counter(
    "callflow_event_socket_reconnects_total",
    "Reconnection attempts to FreeSWITCH's event socket.",
    registry=REGISTRY,
)
ESL_GIVEN_UP = Counter(
    "callflow_event_socket_given_up_total",
    "Event-socket connections the controller closed while still open, by reason: no_events "
    "(nothing, not even a HEARTBEAT, for esl_silence_timeout), no_reply (a command unanswered "
    "in command_timeout), write_failed.",
    ["reason"],
    registry=REGISTRY,
)
DIALS_LATE = Counter(
    "callflow_dials_late_killed_total",
    "Calls FreeSWITCH placed after the controller had given up on their dial, hung up on "
    "sight, by where they were seen: reconnect (cancelled once the event socket was back), "
    "socket (their socket reached a controller) or job (the originate's late BACKGROUND_JOB).",
    ["seen_by"],
    registry=REGISTRY,
)
OUTBOUND_CONNECTS_ABANDONED = Counter(
    "callflow_outbound_connects_abandoned_total",
    "Connections to the outbound-socket port closed without a call: no reply to `connect` "
    "in connect_timeout (timeout), closed before one (closed), or a reply naming no channel "
    "(invalid).",
    ["reason"],
    registry=REGISTRY,
)
HTTP_CONNECTIONS = Gauge(
    "callflow_http_connections",
    "HTTP connections open (at most http_max_connections).",
    registry=REGISTRY,
)
HTTP_CONNECTIONS_DROPPED = Counter(
    "callflow_http_connections_dropped_total",
    "HTTP connections the controller closed to protect itself: header_timeout, body_timeout, "
    "evicted (the oldest waiting one, at the cap), over_capacity (at the cap, 503), "
    "descriptor_reserve (descriptors kept for calls, 503).",
    ["reason"],
    registry=REGISTRY,
)


@functools.lru_cache(maxsize=4096)
def child(metric: Any, *labels: str) -> Any:
    """`metric.labels(*labels)`, remembered. Label values are bounded (see above), and on the
    per-call path prometheus_client's `labels()` (a lock, a tuple, a dict) costs more than
    the update itself."""
    return metric.labels(*labels)
