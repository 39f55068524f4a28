"""Where programs live: the `ProgramStore` interface and the rows it hands out.

Implementations: `sqlite_store.SQLiteStore` (embedded, the default; one controller per
database) and `postgres_store.PostgresStore` (several controllers sharing programs; claims
with `FOR UPDATE SKIP LOCKED`), both on the statements of `sql.py`. The contract every
implementation keeps — the crash-safety of programs rests on it:

- `begin_attempt` commits the attempt as `dialing`, with the uuid the call will be
  originated with, *before* the caller sends the originate. A crash after it leaves a
  `dialing` attempt, which `open_attempts` finds at the next start; it is resolved from the
  call records (`complete_attempt`) or counted with outcome `unknown` — never silently
  re-dialled.
- `claim_due` moves due contacts from `pending` to `claimed` (owned by one process) in one
  transaction, so two processes never claim the same contact; `release_claims(owner)` puts a
  dead owner's claims back (a claim has not dialled anybody yet).
- An owner is a stable process name (setting `instance_name`), held by one live process at a
  time (`hold_owner`): a restarted process resolves its own open attempts and claims; those
  of a process gone for good are resolved by `callflow program recover --owner NAME`.
- `complete_attempt` is idempotent: an attempt already completed is left alone.
- Every method commits before returning; nothing is kept only in memory.

Contact status: pending -> claimed -> dialing -> pending (a retry) or done (a disposition).
Times are epoch seconds (floats) given by the caller, so tests control the clock.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from controller.programs.importer import ImportedContact
from controller.programs.model import ProgramSpec
from controller.programs.retries import Decision

GLOBAL_DNC = ""  # the scope of the global do-not-call list


class StoreError(RuntimeError):
    """A request the store refuses: unknown program, a transition not allowed, a conflict."""


class StoreUnavailable(StoreError):
    """The database cannot be reached or did not answer in time (PostgreSQL)."""


@dataclass(frozen=True, slots=True)
class ProgramRow:
    id: str
    spec: ProgramSpec
    state: str  # model.PROGRAM_STATES
    reason: str | None
    flow_version: str | None  # pinned when the program first starts
    created_at: float
    updated_at: float
    started_at: float | None = None
    finished_at: float | None = None


@dataclass(slots=True)
class ContactRow:
    id: int
    program_id: str
    phone: str
    data: dict[str, Any]
    timezone: str | None
    line: int
    status: str  # pending | claimed | dialing | done
    attempts: int
    outcome_counts: dict[str, int]
    next_at: float
    disposition: str | None
    last_outcome: str | None
    last_result: str | None
    last_call_id: str | None
    last_variables: dict[str, Any]
    updated_at: float


@dataclass(slots=True)
class AttemptRow:
    uuid: str
    program_id: str
    contact_id: int
    number: int  # 1 for the contact's first attempt
    phone: str
    gateway: str | None
    owner: str | None
    state: str  # dialing | done
    outcome: str | None
    result: str | None
    cause: str | None
    started_at: float
    ended_at: float | None


@dataclass(slots=True)
class AttemptResult:
    """What became of an attempt, from its call record (or `unknown` after a crash)."""

    outcome: str
    result: str | None = None
    cause: str | None = None
    call_id: str | None = None
    variables: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class ProgramStats:
    contacts: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    by_disposition: dict[str, int] = field(default_factory=dict)
    attempts: int = 0
    attempts_by_outcome: dict[str, int] = field(default_factory=dict)
    recent_attempts: int = 0  # attempts started in the last `window` seconds asked for

    @property
    def in_progress(self) -> int:
        return self.by_status.get("dialing", 0)

    @property
    def remaining(self) -> int:
        return self.by_status.get("pending", 0) + self.by_status.get("claimed", 0)

    @property
    def finished(self) -> bool:
        return self.remaining == 0 and self.in_progress == 0


@dataclass(frozen=True, slots=True)
class AddResult:
    inserted: int
    updated: int  # numbers already in the program: data updated, attempts kept


# Decides retry or disposition for a contact whose attempt just ended (counts updated).
Decider = Callable[[ContactRow, str], Decision]


class ProgramStore(Protocol):
    # Several processes may dial from this store at once (PostgreSQL): each resolves only its
    # own open attempts at start. False (SQLite): one controller per store; it resolves all.
    shared: bool

    def hold_owner(self, owner: str) -> None:
        """Hold the owner name for this process while the store is open (again: check that
        it is still held); StoreError when a live process already holds it. Two processes
        with one name would resolve each other's calls in progress as lost."""
        ...

    # -- programs ---------------------------------------------------------------------------
    def create_program(self, program_id: str, spec: ProgramSpec, *, now: float) -> ProgramRow:
        """Create it in state `created`; the same id and spec again returns the existing
        row (idempotent); the same id with another spec is a StoreError."""
        ...

    def get_program(self, program_id: str) -> ProgramRow | None: ...

    def list_programs(self, states: tuple[str, ...] | None = None) -> list[ProgramRow]: ...

    def transition(
        self,
        program_id: str,
        to_state: str,
        *,
        allowed_from: tuple[str, ...],
        now: float,
        reason: str | None = None,
        flow_version: str | None = None,
    ) -> ProgramRow:
        """Move to `to_state` if the program is in one of `allowed_from`; already in
        `to_state` returns it unchanged (idempotent); otherwise StoreError. `flow_version`
        pins the flow (set once, or replaced by an explicit upgrade)."""
        ...

    # -- contacts and do-not-call -----------------------------------------------------------
    def add_contacts(
        self, program_id: str, contacts: list[ImportedContact], *, now: float
    ) -> AddResult: ...

    def add_dnc(self, phones: list[str], *, scope: str = GLOBAL_DNC, now: float) -> int: ...

    def remove_dnc(self, phones: list[str], *, scope: str = GLOBAL_DNC) -> int: ...

    def is_dnc(self, phone: str, program_id: str) -> bool:
        """On the global list or the program's own."""
        ...

    # -- dialling ---------------------------------------------------------------------------
    def claim_due(
        self, program_id: str, *, now: float, limit: int, owner: str
    ) -> list[ContactRow]: ...

    def unclaim(self, contact_id: int, *, next_at: float, now: float) -> None:
        """A claimed contact goes back to pending, due at `next_at` (window closed...)."""
        ...

    def finish_contact(self, contact_id: int, disposition: str, *, now: float) -> None:
        """A claimed or pending contact is done without a call (dnc, no window left)."""
        ...

    def begin_attempt(
        self, contact_id: int, *, uuid: str, gateway: str | None, owner: str, now: float
    ) -> AttemptRow:
        """Commit the attempt as dialing; call it before sending the originate."""
        ...

    def complete_attempt(
        self, uuid: str, result: AttemptResult, *, decide: Decider, now: float
    ) -> ContactRow | None:
        """Record the attempt's result and the contact's next step; None when the attempt
        is unknown or already completed (idempotent)."""
        ...

    def open_attempts(self, owner: str | None = None) -> list[AttemptRow]:
        """Attempts still dialing (all, or one owner's)."""
        ...

    def release_claims(self, owner: str | None = None, *, now: float) -> int: ...

    def cancel_pending(self, program_id: str, *, now: float) -> int:
        """Pending and claimed contacts become done/cancelled (dialing ones finish first)."""
        ...

    # -- reading ----------------------------------------------------------------------------
    def stats(self, program_id: str, *, now: float, window: float = 60.0) -> ProgramStats: ...

    def contacts(self, program_id: str) -> list[ContactRow]: ...

    def attempts(self, program_id: str) -> list[AttemptRow]: ...

    def close(self) -> None: ...
