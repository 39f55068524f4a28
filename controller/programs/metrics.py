"""Program metrics, in the process's registry. Labels are bounded: program states, attempt
outcomes and dispositions (model.PROGRAM_STATES, OUTCOMES, DISPOSITIONS) — never program ids
or numbers."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

from controller.metrics import REGISTRY

PROGRAMS = Gauge(
    "callflow_programs", "Programs in the store, by state.", ["state"], registry=REGISTRY
)
ATTEMPTS = Counter(
    "callflow_program_attempts_total",
    "Program call attempts completed by this process, by outcome.",
    ["outcome"],
    registry=REGISTRY,
)
CONTACTS_FINISHED = Counter(
    "callflow_program_contacts_finished_total",
    "Program contacts given their final disposition by this process, by disposition.",
    ["disposition"],
    registry=REGISTRY,
)
DIALS_IN_PROGRESS = Gauge(
    "callflow_program_calls_active", "Program calls in progress on this process.", registry=REGISTRY
)
