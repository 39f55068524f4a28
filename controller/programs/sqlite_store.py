"""The embedded program store: SQLite in WAL mode, one connection per process.

One connection, used under a lock by every greenlet of the process (gevent runs them on one
thread; the lock keeps one transaction at a time). `synchronous=FULL`: a committed attempt
is on disk before the originate is sent, even if the machine loses power. Other processes
(the `callflow program` commands) open their own connection; `busy_timeout` makes a writer
wait for the other's short transaction instead of failing.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from controller.programs import sql
from controller.programs.importer import ImportedContact
from controller.programs.model import ProgramSpec
from controller.programs.rows import after_attempt_params, next_step
from controller.programs.rows import attempt_row as _attempt
from controller.programs.rows import contact_row as _contact
from controller.programs.rows import program_row as _program
from controller.programs.rows import to_json as _json
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
)

BUSY_TIMEOUT_MS = 10_000


class SQLiteStore:
    """`ProgramStore` on one SQLite file (created with its directory when missing)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: transactions are explicit (BEGIN IMMEDIATE ... COMMIT).
        self._db = sqlite3.connect(
            str(path), isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000
        )
        self._lock = threading.RLock()
        self._db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        self._db.execute("PRAGMA journal_mode = WAL")
        self._db.execute("PRAGMA synchronous = FULL")
        self._db.execute("PRAGMA foreign_keys = ON")
        with self._write() as db:
            for statement in sql.SCHEMA:
                db.execute(statement.format(contact_id=sql.CONTACTS_ID_SQLITE))
            if db.execute(sql.SCHEMA_VERSION_GET).fetchone() is None:
                db.execute(sql.SCHEMA_VERSION_SET, (sql.SCHEMA_VERSION,))

    shared = False  # one controller per SQLite database: it resolves every owner's attempts

    def hold_owner(self, owner: str) -> None:
        """Nothing to hold: one controller dials from a SQLite database (documented)."""

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, committed on leaving, rolled back on an exception."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _read(self, statement: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._db.execute(statement, params).fetchall()

    # -- programs ---------------------------------------------------------------------------
    def create_program(self, program_id: str, spec: ProgramSpec, *, now: float) -> ProgramRow:
        text = _json(spec.as_dict())
        with self._write() as db:
            found = db.execute(sql.PROGRAM_GET, (program_id,)).fetchone()
            if found is None:
                db.execute(sql.PROGRAM_INSERT, (program_id, text, now, now))
                found = db.execute(sql.PROGRAM_GET, (program_id,)).fetchone()
            elif found[1] != text:
                raise StoreError(f"program {program_id!r} exists with another specification")
        return _program(found)

    def get_program(self, program_id: str) -> ProgramRow | None:
        rows = self._read(sql.PROGRAM_GET, (program_id,))
        return _program(rows[0]) if rows else None

    def list_programs(self, states: tuple[str, ...] | None = None) -> list[ProgramRow]:
        rows = [_program(row) for row in self._read(sql.PROGRAM_LIST)]
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
        with self._write() as db:
            found = db.execute(sql.PROGRAM_GET, (program_id,)).fetchone()
            if found is None:
                raise StoreError(f"no program {program_id!r}")
            state = found[2]
            if state == to_state and flow_version is None:
                return _program(found)
            if state not in allowed_from and state != to_state:
                raise StoreError(f"program {program_id!r} is {state}; cannot become {to_state}")
            db.execute(
                sql.PROGRAM_SET_STATE,
                (to_state, reason, now, flow_version, to_state, now, to_state, now, program_id),
            )
            return _program(db.execute(sql.PROGRAM_GET, (program_id,)).fetchone())

    # -- contacts and do-not-call -----------------------------------------------------------
    def add_contacts(
        self, program_id: str, contacts: list[ImportedContact], *, now: float
    ) -> AddResult:
        inserted = updated = 0
        with self._write() as db:
            if db.execute(sql.PROGRAM_GET, (program_id,)).fetchone() is None:
                raise StoreError(f"no program {program_id!r}")
            for contact in contacts:
                found = db.execute(sql.CONTACT_FIND, (program_id, contact.phone)).fetchone()
                data = _json(contact.data)
                if found is None:
                    db.execute(
                        sql.CONTACT_INSERT,
                        (program_id, contact.phone, data, contact.timezone, contact.line, now, now),
                    )
                    inserted += 1
                else:
                    db.execute(sql.CONTACT_UPDATE_DATA, (data, contact.timezone, now, found[0]))
                    updated += 1
        return AddResult(inserted, updated)

    def add_dnc(self, phones: list[str], *, scope: str = GLOBAL_DNC, now: float) -> int:
        with self._write() as db:
            before = db.total_changes
            db.executemany(sql.DNC_ADD_SQLITE, [(scope, phone, now) for phone in phones])
            return db.total_changes - before

    def remove_dnc(self, phones: list[str], *, scope: str = GLOBAL_DNC) -> int:
        with self._write() as db:
            before = db.total_changes
            db.executemany(sql.DNC_REMOVE, [(scope, phone) for phone in phones])
            return db.total_changes - before

    def is_dnc(self, phone: str, program_id: str) -> bool:
        return bool(self._read(sql.DNC_CHECK, (phone, program_id)))

    # -- dialling ---------------------------------------------------------------------------
    def claim_due(self, program_id: str, *, now: float, limit: int, owner: str) -> list[ContactRow]:
        if limit <= 0:
            return []
        with self._write() as db:
            ids = [row[0] for row in db.execute(sql.CLAIM_DUE_SELECT, (program_id, now, limit))]
            for contact_id in ids:
                db.execute(sql.CLAIM_MARK, (owner, now, contact_id))
            return [_contact(db.execute(sql.CONTACT_GET, (i,)).fetchone()) for i in ids]

    def unclaim(self, contact_id: int, *, next_at: float, now: float) -> None:
        with self._write() as db:
            db.execute(sql.UNCLAIM, (next_at, now, contact_id))

    def finish_contact(self, contact_id: int, disposition: str, *, now: float) -> None:
        with self._write() as db:
            db.execute(sql.FINISH_CONTACT, (disposition, now, contact_id))

    def begin_attempt(
        self, contact_id: int, *, uuid: str, gateway: str | None, owner: str, now: float
    ) -> AttemptRow:
        with self._write() as db:
            if db.execute(sql.CONTACT_START_ATTEMPT, (now, contact_id)).rowcount != 1:
                raise StoreError(f"contact {contact_id} is not claimed; not dialling it")
            contact = _contact(db.execute(sql.CONTACT_GET, (contact_id,)).fetchone())
            db.execute(
                sql.ATTEMPT_INSERT,
                (
                    uuid,
                    contact.program_id,
                    contact_id,
                    contact.attempts,
                    contact.phone,
                    gateway,
                    owner,
                    now,
                ),
            )
            return _attempt(db.execute(sql.ATTEMPT_GET, (uuid,)).fetchone())

    def complete_attempt(
        self, uuid: str, result: AttemptResult, *, decide: Decider, now: float
    ) -> ContactRow | None:
        with self._write() as db:
            found = db.execute(sql.ATTEMPT_GET, (uuid,)).fetchone()
            if found is None or found[7] != "dialing":
                return None
            attempt = _attempt(found)
            contact = _contact(db.execute(sql.CONTACT_GET, (attempt.contact_id,)).fetchone())
            program = db.execute(sql.PROGRAM_GET, (attempt.program_id,)).fetchone()
            step = next_step(contact, program[2], result, decide)
            db.execute(sql.ATTEMPT_FINISH, (result.outcome, result.result, result.cause, now, uuid))
            params = after_attempt_params(step, result, contact.id, now)
            db.execute(sql.CONTACT_AFTER_ATTEMPT, params)
            return _contact(db.execute(sql.CONTACT_GET, (contact.id,)).fetchone())

    def open_attempts(self, owner: str | None = None) -> list[AttemptRow]:
        if owner is None:
            return [_attempt(row) for row in self._read(sql.ATTEMPTS_OPEN)]
        return [_attempt(row) for row in self._read(sql.ATTEMPTS_OPEN_OF, (owner,))]

    def release_claims(self, owner: str | None = None, *, now: float) -> int:
        with self._write() as db:
            if owner is None:
                return db.execute(sql.RELEASE_CLAIMS, (now,)).rowcount
            return db.execute(sql.RELEASE_CLAIMS_OF, (now, owner)).rowcount

    def cancel_pending(self, program_id: str, *, now: float) -> int:
        with self._write() as db:
            return db.execute(sql.CANCEL_PENDING, (now, program_id)).rowcount

    # -- reading ----------------------------------------------------------------------------
    def stats(self, program_id: str, *, now: float, window: float = 60.0) -> ProgramStats:
        with self._lock:
            by_status = dict(self._read(sql.STATS_STATUS, (program_id,)))
            by_outcome = dict(self._read(sql.STATS_OUTCOME, (program_id,)))
            return ProgramStats(
                contacts=sum(by_status.values()),
                by_status=by_status,
                by_disposition=dict(self._read(sql.STATS_DISPOSITION, (program_id,))),
                attempts=sum(by_outcome.values()),
                attempts_by_outcome=by_outcome,
                recent_attempts=self._read(sql.STATS_RECENT, (program_id, now - window))[0][0],
            )

    def contacts(self, program_id: str) -> list[ContactRow]:
        return [_contact(row) for row in self._read(sql.CONTACT_LIST, (program_id,))]

    def attempts(self, program_id: str) -> list[AttemptRow]:
        return [_attempt(row) for row in self._read(sql.ATTEMPT_LIST, (program_id,))]

    def close(self) -> None:
        with self._lock:
            self._db.close()
