"""A program's lifecycle: create, import, start, pause, resume, cancel — each idempotent.

These act on the store only, so the `callflow program` commands, the HTTP API and a running
controller share them; a controller notices a change at its next poll (about a second).

- start pins the flow's version (the one served now); doing it again changes nothing;
- resume continues a paused program on its pinned version; `use_current_flow=True` moves it
  to the version served now — the explicit act the guide asks for when a flow changed;
- cancel ends every contact not yet called (`cancelled`); calls in progress finish and keep
  their results, but are not retried.
"""

from __future__ import annotations

from collections.abc import Callable

from controller.programs.importer import ImportReport
from controller.programs.model import ProgramSpec, check_program_id
from controller.programs.store import AddResult, ProgramRow, ProgramStore, StoreError

# The version of a flow served now, or None when no valid version is (e.g. FlowStore.get).
FlowVersion = Callable[[str], str | None]


def create(store: ProgramStore, program_id: str, spec: ProgramSpec, *, now: float) -> ProgramRow:
    return store.create_program(check_program_id(program_id), spec, now=now)


def import_contacts(
    store: ProgramStore, program_id: str, report: ImportReport, *, now: float
) -> AddResult:
    program = _get(store, program_id)
    if program.state in ("cancelled", "completed"):
        raise StoreError(f"program {program_id!r} is {program.state}; create another program")
    return store.add_contacts(program_id, report.contacts, now=now)


def _pinned(program: ProgramRow, flow_version: FlowVersion) -> str:
    version = flow_version(program.spec.flow)
    if version is None:
        raise StoreError(
            f"program {program.id!r}: flow {program.spec.flow!r} has no valid version to run"
        )
    return version


def start(
    store: ProgramStore, program_id: str, flow_version: FlowVersion, *, now: float
) -> ProgramRow:
    program = _get(store, program_id)
    if program.state == "running":
        return program
    if program.state == "paused":
        return resume(store, program_id, flow_version, now=now)
    return store.transition(
        program_id,
        "running",
        allowed_from=("created",),
        now=now,
        flow_version=_pinned(program, flow_version),
    )


def pause(
    store: ProgramStore, program_id: str, *, now: float, reason: str | None = None
) -> ProgramRow:
    return store.transition(program_id, "paused", allowed_from=("running",), now=now, reason=reason)


def resume(
    store: ProgramStore,
    program_id: str,
    flow_version: FlowVersion,
    *,
    now: float,
    use_current_flow: bool = False,
) -> ProgramRow:
    program = _get(store, program_id)
    if program.state == "created":
        raise StoreError(f"program {program_id!r} has not started; use start")
    version = _pinned(program, flow_version) if use_current_flow else None
    if program.state == "running" and version in (None, program.flow_version):
        return program
    return store.transition(
        program_id, "running", allowed_from=("paused", "running"), now=now, flow_version=version
    )


def cancel(store: ProgramStore, program_id: str, *, now: float) -> ProgramRow:
    program = store.transition(
        program_id, "cancelled", allowed_from=("created", "running", "paused"), now=now
    )
    store.cancel_pending(program_id, now=now)  # again after a crash between the two: harmless
    return program


def _get(store: ProgramStore, program_id: str) -> ProgramRow:
    program = store.get_program(program_id)
    if program is None:
        raise StoreError(f"no program {program_id!r}")
    return program
