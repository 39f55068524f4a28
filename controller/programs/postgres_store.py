"""The shared program store: PostgreSQL, for several callflow processes dialling one program.

Selected by a `programs_db` that is a `postgresql://` URL (libpq's environment — PGPASSWORD,
PGSSLMODE, ~/.pgpass — applies too). The statements are those of `sql.py`; where PostgreSQL
can do in one round trip what SQLite does in several there is a `_PG` variant. Contacts are
claimed with `FOR UPDATE SKIP LOCKED`: processes sharing a program claim disjoint contacts,
and a contact moves claimed -> dialing only once (a guarded UPDATE), so nobody is dialled twice.

Why a thread pool: psycopg's connections block, and this project does not monkey-patch
(gevent's sockets are used explicitly), so a statement run on the hub's thread would freeze
every call of the process until the server answered — a network round trip, or a lock wait
of up to `lock_timeout`. Each store call therefore runs on gevent's thread pool: the greenlet
that asked waits, the hub goes on serving calls. Measured on a local server (Unix socket,
2 cores): a one-row read takes 84 us in place and 117 us through the pool; with statements
of 10 ms, a 1 ms ticker greenlet stalled for 510 ms in place (nothing else ran until they
were all done) and at most 1.8 ms through the pool. Over a network the round trip is longer
and the case stronger. A call made from the hub itself (a link callback, which must not
switch) runs in place.

Connections: a few (POOL_SIZE), opened when first needed, each used by one thread at a time;
a connection the server dropped is discarded and the next call opens a new one. Statements
have a `lock_timeout` and a `statement_timeout`, so no wait is unbounded.

Owners: `hold_owner(name)` takes a session advisory lock on a connection of its own for as
long as the store is open. PostgreSQL releases it when that session ends — the process
exited, was killed, or lost the server — so "is a process of this name alive?" is answered
by the server itself, and two processes can never both run as one owner.
"""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import gevent
import psycopg

from controller.programs import sql
from controller.programs.database import redacted
from controller.programs.importer import ImportedContact
from controller.programs.model import ProgramSpec
from controller.programs.rows import (
    after_attempt_params,
    attempt_row,
    contact_row,
    next_step,
    program_row,
    to_json,
)
from controller.programs.store import (
    GLOBAL_DNC,
    AddResult,
    AttemptResult,
    AttemptRow,
    ContactRow,
    Decider,
    ProgramRow,
    ProgramStats,
    StoreError,
    StoreUnavailable,
)

T = TypeVar("T")
POOL_SIZE = 4
CONNECT_TIMEOUT = 10  # seconds
LOCK_TIMEOUT_MS = 10_000  # as SQLite's busy timeout: a writer waits this long for another
STATEMENT_TIMEOUT_MS = 60_000
WAIT_FOR_CONNECTION = 70.0  # seconds; longer than one statement may take
IMPORT_BATCH = 5_000  # contacts per upsert statement
ATTEMPT_WIDTH = len(sql.ATTEMPT_COLUMNS.split(","))
CONTACT_WIDTH = len(sql.CONTACT_COLUMNS.split(","))


@functools.cache
def _q(statement: str) -> str:
    return sql.placeholders(statement)


def _offloadable() -> bool:
    """On the main thread (where the controller's hub runs), outside the hub itself."""
    if threading.current_thread() is not threading.main_thread():
        return False  # already off the hub's thread: blocking here blocks nobody else
    return gevent.getcurrent() is not gevent.get_hub()


Connection = psycopg.Connection[tuple[Any, ...]]


class PostgresStore:
    """`ProgramStore` on a PostgreSQL database (tables created when missing)."""

    shared = True

    def __init__(self, url: str, *, pool_size: int = POOL_SIZE, offload: bool = True) -> None:
        self.url = url
        self.offload = offload
        self._idle: list[Connection] = []
        self._slots = threading.BoundedSemaphore(pool_size)
        self._pool_size = pool_size
        self._lock = threading.Lock()
        self._owner_lock = threading.Lock()
        self._owner: tuple[str, Connection] | None = None
        self._run(self._create_schema)

    # -- connections ------------------------------------------------------------------------
    def _connect(self) -> Connection:
        conn: Connection | None = None
        try:
            conn = psycopg.connect(self.url, autocommit=True, connect_timeout=CONNECT_TIMEOUT)
            conn.execute(f"SET lock_timeout = {LOCK_TIMEOUT_MS}")
            conn.execute(f"SET statement_timeout = {STATEMENT_TIMEOUT_MS}")
        except psycopg.Error as exc:
            if conn is not None:
                conn.close()
            raise StoreUnavailable(f"program database {redacted(self.url)}: {exc}") from None
        return conn

    def _offload(self, function: Callable[..., T], *args: Any) -> T:
        """`function(*args)` on gevent's thread pool (or in place: see the module doc)."""
        if self.offload and _offloadable():
            return gevent.get_hub().threadpool.apply(function, args)
        return function(*args)

    def _run(self, work: Callable[[Connection], T]) -> T:
        return self._offload(self._with_connection, work)

    def _with_connection(self, work: Callable[[Connection], T]) -> T:
        """On a pool thread: a connection for `work`, returned after (or dropped if broken).
        A greenlet killed while waiting does not stop this: the connection still comes back."""
        if not self._slots.acquire(timeout=WAIT_FOR_CONNECTION):
            raise StoreUnavailable(f"program database {redacted(self.url)}: no connection free")
        try:
            with self._lock:
                conn = self._idle.pop() if self._idle else None
            if conn is None or conn.closed:
                conn = self._connect()
            try:
                return work(conn)
            except psycopg.OperationalError as exc:  # the server went away, or a timeout
                raise StoreUnavailable(f"program database {redacted(self.url)}: {exc}") from None
            finally:
                if conn.broken or conn.closed:
                    conn.close()
                else:
                    with self._lock:
                        self._idle.append(conn)
        finally:
            self._slots.release()

    def _create_schema(self, conn: Connection) -> None:
        with conn.transaction():
            conn.execute(sql.SCHEMA_LOCK_PG)  # processes starting together: one creates
            for statement in sql.SCHEMA:
                conn.execute(statement.format(contact_id=sql.CONTACTS_ID_PG))
            if conn.execute(sql.SCHEMA_VERSION_GET).fetchone() is None:
                conn.execute(_q(sql.SCHEMA_VERSION_SET), (sql.SCHEMA_VERSION,))

    def _rows(self, statement: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        return self._run(lambda conn: conn.execute(_q(statement), params).fetchall())

    def _change(self, statement: str, params: tuple[Any, ...]) -> int:
        return self._run(lambda conn: conn.execute(_q(statement), params).rowcount)

    # -- owners -----------------------------------------------------------------------------
    def hold_owner(self, owner: str) -> None:
        try:
            self._offload(self._hold_owner, owner)
        except psycopg.OperationalError as exc:
            raise StoreUnavailable(f"program database {redacted(self.url)}: {exc}") from None

    def _hold_owner(self, owner: str) -> None:
        with self._owner_lock:
            if self._owner is not None:
                name, conn = self._owner
                if name == owner and not conn.broken:
                    try:
                        conn.execute("SELECT 1")  # still connected: the lock is still ours
                        return
                    except psycopg.OperationalError:
                        pass
                _release_and_close(conn)  # lost (so released by the server), or another name
                self._owner = None
            conn = self._connect()
            held = conn.execute(_q(sql.OWNER_TRY_LOCK_PG), (owner,)).fetchone()
            if not (held and held[0]):
                conn.close()
                raise StoreError(
                    f"the owner name {owner!r} is held by another live process on "
                    f"{redacted(self.url)} (two callflow processes with one instance_name?)"
                )
            self._owner = (owner, conn)

    # -- programs ---------------------------------------------------------------------------
    def create_program(self, program_id: str, spec: ProgramSpec, *, now: float) -> ProgramRow:
        text = to_json(spec.as_dict())

        def work(conn: Connection) -> tuple[Any, ...]:
            conn.execute(_q(sql.PROGRAM_INSERT_PG), (program_id, text, now, now))
            return conn.execute(_q(sql.PROGRAM_GET), (program_id,)).fetchone()

        found = self._run(work)
        if found[1] != text:
            raise StoreError(f"program {program_id!r} exists with another specification")
        return program_row(found)

    def get_program(self, program_id: str) -> ProgramRow | None:
        rows = self._rows(sql.PROGRAM_GET, (program_id,))
        return program_row(rows[0]) if rows else None

    def list_programs(self, states: tuple[str, ...] | None = None) -> list[ProgramRow]:
        rows = [program_row(row) for row in self._rows(sql.PROGRAM_LIST)]
        return [row for row in rows if states is None or row.state in states]

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
        def work(conn: Connection) -> tuple[Any, ...]:
            with conn.transaction():
                found = conn.execute(_q(sql.PROGRAM_LOCK_PG), (program_id,)).fetchone()
                if found is None:
                    raise StoreError(f"no program {program_id!r}")
                state = found[2]
                if state == to_state and flow_version is None:
                    return found
                if state not in allowed_from and state != to_state:
                    raise StoreError(f"program {program_id!r} is {state}; cannot become {to_state}")
                params = (to_state, reason, now, flow_version, to_state, now, to_state, now)
                conn.execute(_q(sql.PROGRAM_SET_STATE), (*params, program_id))
                return conn.execute(_q(sql.PROGRAM_GET), (program_id,)).fetchone()

        return program_row(self._run(work))

    # -- contacts and do-not-call -----------------------------------------------------------
    def add_contacts(
        self, program_id: str, contacts: list[ImportedContact], *, now: float
    ) -> AddResult:
        # One row per number (the last one's data wins, as when SQLite updates the first).
        unique: dict[str, ImportedContact] = {}
        for contact in contacts:
            first = unique.get(contact.phone)
            unique[contact.phone] = contact if first is None else _with_line(contact, first.line)
        batch = list(unique.values())

        def work(conn: Connection) -> int:
            inserted = 0
            with conn.transaction():
                # Imports into one program take turns (no deadlock on shared numbers).
                if conn.execute(_q(sql.PROGRAM_LOCK_PG), (program_id,)).fetchone() is None:
                    raise StoreError(f"no program {program_id!r}")
                for start in range(0, len(batch), IMPORT_BATCH):
                    part = batch[start : start + IMPORT_BATCH]
                    params = (
                        program_id,
                        now,
                        now,
                        [c.phone for c in part],
                        [to_json(c.data) for c in part],
                        [c.timezone for c in part],
                        [c.line for c in part],
                    )
                    rows = conn.execute(_q(sql.CONTACTS_UPSERT_PG), params).fetchall()
                    inserted += sum(1 for (was_inserted,) in rows if was_inserted)
            return inserted

        inserted = self._run(work)
        return AddResult(inserted, len(contacts) - inserted)

    def add_dnc(self, phones: list[str], *, scope: str = GLOBAL_DNC, now: float) -> int:
        return self._change(sql.DNC_ADD_MANY_PG, (scope, now, list(phones)))

    def remove_dnc(self, phones: list[str], *, scope: str = GLOBAL_DNC) -> int:
        return self._change(sql.DNC_REMOVE_MANY_PG, (scope, list(phones)))

    def is_dnc(self, phone: str, program_id: str) -> bool:
        return bool(self._rows(sql.DNC_CHECK, (phone, program_id)))

    # -- dialling ---------------------------------------------------------------------------
    def claim_due(self, program_id: str, *, now: float, limit: int, owner: str) -> list[ContactRow]:
        if limit <= 0:
            return []
        rows = self._rows(sql.CLAIM_DUE_PG, (program_id, now, limit, owner, now))
        return sorted((contact_row(row) for row in rows), key=lambda c: (c.next_at, c.id))

    def unclaim(self, contact_id: int, *, next_at: float, now: float) -> None:
        self._change(sql.UNCLAIM, (next_at, now, contact_id))

    def finish_contact(self, contact_id: int, disposition: str, *, now: float) -> None:
        self._change(sql.FINISH_CONTACT, (disposition, now, contact_id))

    def begin_attempt(
        self, contact_id: int, *, uuid: str, gateway: str | None, owner: str, now: float
    ) -> AttemptRow:
        rows = self._rows(sql.BEGIN_ATTEMPT_PG, (now, contact_id, uuid, gateway, owner, now))
        if not rows:
            raise StoreError(f"contact {contact_id} is not claimed; not dialling it")
        return attempt_row(rows[0])

    def complete_attempt(
        self, uuid: str, result: AttemptResult, *, decide: Decider, now: float
    ) -> ContactRow | None:
        def work(conn: Connection) -> tuple[Any, ...] | None:
            with conn.transaction():
                found = conn.execute(_q(sql.ATTEMPT_CONTACT_LOCK_PG), (uuid,)).fetchone()
                if found is None or found[7] != "dialing":
                    return None
                contact = contact_row(found[ATTEMPT_WIDTH : ATTEMPT_WIDTH + CONTACT_WIDTH])
                step = next_step(contact, found[-1], result, decide)
                finish = (result.outcome, result.result, result.cause, now, uuid)
                conn.execute(_q(sql.ATTEMPT_FINISH), finish)
                params = after_attempt_params(step, result, contact.id, now)
                conn.execute(_q(sql.CONTACT_AFTER_ATTEMPT), params)
                return conn.execute(_q(sql.CONTACT_GET), (contact.id,)).fetchone()

        row = self._run(work)
        return contact_row(row) if row is not None else None

    def open_attempts(self, owner: str | None = None) -> list[AttemptRow]:
        if owner is None:
            return [attempt_row(row) for row in self._rows(sql.ATTEMPTS_OPEN)]
        return [attempt_row(row) for row in self._rows(sql.ATTEMPTS_OPEN_OF, (owner,))]

    def release_claims(self, owner: str | None = None, *, now: float) -> int:
        if owner is None:
            return self._change(sql.RELEASE_CLAIMS, (now,))
        return self._change(sql.RELEASE_CLAIMS_OF, (now, owner))

    def cancel_pending(self, program_id: str, *, now: float) -> int:
        return self._change(sql.CANCEL_PENDING, (now, program_id))

    # -- reading ----------------------------------------------------------------------------
    def stats(self, program_id: str, *, now: float, window: float = 60.0) -> ProgramStats:
        def work(conn: Connection) -> ProgramStats:
            def rows(statement: str, *params: Any) -> list[tuple[Any, ...]]:
                return conn.execute(_q(statement), params).fetchall()

            by_status = dict(rows(sql.STATS_STATUS, program_id))
            by_outcome = dict(rows(sql.STATS_OUTCOME, program_id))
            return ProgramStats(
                contacts=sum(by_status.values()),
                by_status=by_status,
                by_disposition=dict(rows(sql.STATS_DISPOSITION, program_id)),
                attempts=sum(by_outcome.values()),
                attempts_by_outcome=by_outcome,
                recent_attempts=rows(sql.STATS_RECENT, program_id, now - window)[0][0],
            )

        return self._run(work)

    def contacts(self, program_id: str) -> list[ContactRow]:
        return [contact_row(row) for row in self._rows(sql.CONTACT_LIST, (program_id,))]

    def attempts(self, program_id: str) -> list[AttemptRow]:
        return [attempt_row(row) for row in self._rows(sql.ATTEMPT_LIST, (program_id,))]

    def close(self) -> None:
        """Close every connection (waiting for those in use, up to WAIT_FOR_CONNECTION each);
        the owner name is released with its session."""
        taken = 0
        for _ in range(self._pool_size):
            taken += bool(self._slots.acquire(timeout=WAIT_FOR_CONNECTION))
        try:
            with self._lock:
                idle, self._idle = self._idle, []
            for conn in idle:
                conn.close()
            with self._owner_lock:
                if self._owner is not None:
                    _release_and_close(self._owner[1])
                    self._owner = None
        finally:
            for _ in range(taken):
                self._slots.release()


def _with_line(contact: ImportedContact, line: int) -> ImportedContact:
    return ImportedContact(contact.phone, contact.data, contact.timezone, line)


def _release_and_close(conn: Connection) -> None:
    """Release the owner lock now: closing alone frees it only once the server has noticed,
    and a process taking the name right after (a restart, `recover`) must find it free."""
    if not conn.broken and not conn.closed:
        with contextlib.suppress(psycopg.Error):  # the session is gone: so is its lock
            conn.execute("SELECT pg_advisory_unlock_all()")
    conn.close()
