"""Every SQL statement of the program store, in one place, for SQLite and PostgreSQL.

Written in the common subset of both dialects with `?` placeholders (a PostgreSQL driver
using `%s` gets them through `placeholders()`); where the dialects differ there are two
constants. Times are epoch seconds (REAL / DOUBLE PRECISION); JSON is stored as text.

The claim is two statements in one transaction: `CLAIM_DUE_SELECT` picks due contacts and
`CLAIM_MARK` marks them claimed by their owner. On PostgreSQL the select ends with
`FOR UPDATE SKIP LOCKED` (`CLAIM_DUE_SELECT_PG`), so several processes claim disjoint
contacts without waiting on each other; SQLite runs the transaction under `BEGIN IMMEDIATE`
(one writer at a time), which gives the same result.
"""

from __future__ import annotations

SCHEMA_VERSION = 1

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS programs (
        id TEXT PRIMARY KEY,
        spec TEXT NOT NULL,
        state TEXT NOT NULL,
        reason TEXT,
        flow_version TEXT,
        created_at DOUBLE PRECISION NOT NULL,
        updated_at DOUBLE PRECISION NOT NULL,
        started_at DOUBLE PRECISION,
        finished_at DOUBLE PRECISION
    )""",
    # id: INTEGER PRIMARY KEY is SQLite's rowid; PostgreSQL uses CONTACTS_ID_PG instead.
    """CREATE TABLE IF NOT EXISTS contacts (
        id {contact_id},
        program_id TEXT NOT NULL REFERENCES programs(id),
        phone TEXT NOT NULL,
        data TEXT NOT NULL,
        timezone TEXT,
        line INTEGER NOT NULL,
        status TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        outcome_counts TEXT NOT NULL DEFAULT '{{}}',
        next_at DOUBLE PRECISION NOT NULL,
        claimed_by TEXT,
        disposition TEXT,
        last_outcome TEXT,
        last_result TEXT,
        last_call_id TEXT,
        last_variables TEXT NOT NULL DEFAULT '{{}}',
        updated_at DOUBLE PRECISION NOT NULL,
        UNIQUE (program_id, phone)
    )""",
    "CREATE INDEX IF NOT EXISTS contacts_due ON contacts (program_id, status, next_at)",
    """CREATE TABLE IF NOT EXISTS attempts (
        uuid TEXT PRIMARY KEY,
        program_id TEXT NOT NULL REFERENCES programs(id),
        contact_id BIGINT NOT NULL REFERENCES contacts(id),
        number INTEGER NOT NULL,
        phone TEXT NOT NULL,
        gateway TEXT,
        owner TEXT,
        state TEXT NOT NULL,
        outcome TEXT,
        result TEXT,
        cause TEXT,
        started_at DOUBLE PRECISION NOT NULL,
        ended_at DOUBLE PRECISION
    )""",
    "CREATE INDEX IF NOT EXISTS attempts_open ON attempts (state, owner)",
    "CREATE INDEX IF NOT EXISTS attempts_program ON attempts (program_id, started_at)",
    """CREATE TABLE IF NOT EXISTS dnc (
        scope TEXT NOT NULL,
        phone TEXT NOT NULL,
        added_at DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (scope, phone)
    )""",
    "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)",
)
CONTACTS_ID_SQLITE = "INTEGER PRIMARY KEY"
CONTACTS_ID_PG = "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY"

SCHEMA_VERSION_GET = "SELECT version FROM schema_version"
SCHEMA_VERSION_SET = "INSERT INTO schema_version (version) VALUES (?)"

# -- programs ---------------------------------------------------------------------------------
PROGRAM_COLUMNS = (
    "id, spec, state, reason, flow_version, created_at, updated_at, started_at, finished_at"
)
PROGRAM_INSERT = (
    "INSERT INTO programs (id, spec, state, created_at, updated_at) VALUES (?, ?, 'created', ?, ?)"
)
PROGRAM_GET = f"SELECT {PROGRAM_COLUMNS} FROM programs WHERE id = ?"
PROGRAM_GET_FOR_UPDATE_PG = PROGRAM_GET + " FOR UPDATE"
PROGRAM_LIST = f"SELECT {PROGRAM_COLUMNS} FROM programs ORDER BY created_at, id"
PROGRAM_SET_STATE = """UPDATE programs SET state = ?, reason = ?, updated_at = ?,
    flow_version = COALESCE(?, flow_version),
    started_at = CASE WHEN ? = 'running' THEN COALESCE(started_at, ?) ELSE started_at END,
    finished_at = CASE WHEN ? IN ('cancelled', 'completed') THEN ? ELSE NULL END
    WHERE id = ?"""

# -- contacts ---------------------------------------------------------------------------------
CONTACT_COLUMNS = (
    "id, program_id, phone, data, timezone, line, status, attempts, outcome_counts, next_at, "
    "disposition, last_outcome, last_result, last_call_id, last_variables, updated_at"
)
CONTACT_FIND = "SELECT id FROM contacts WHERE program_id = ? AND phone = ?"
CONTACT_INSERT = """INSERT INTO contacts
    (program_id, phone, data, timezone, line, status, next_at, updated_at)
    VALUES (?, ?, ?, ?, ?, 'pending', ?, ?)"""
# Re-importing a number updates what flows read; its attempts and disposition are kept.
CONTACT_UPDATE_DATA = "UPDATE contacts SET data = ?, timezone = ?, updated_at = ? WHERE id = ?"
CONTACT_GET = f"SELECT {CONTACT_COLUMNS} FROM contacts WHERE id = ?"
CONTACT_LIST = f"SELECT {CONTACT_COLUMNS} FROM contacts WHERE program_id = ? ORDER BY line, id"

CLAIM_DUE_SELECT = """SELECT id FROM contacts
    WHERE program_id = ? AND status = 'pending' AND next_at <= ?
    ORDER BY next_at, id LIMIT ?"""
CLAIM_DUE_SELECT_PG = CLAIM_DUE_SELECT + " FOR UPDATE SKIP LOCKED"
CLAIM_MARK = """UPDATE contacts SET status = 'claimed', claimed_by = ?, updated_at = ?
    WHERE id = ? AND status = 'pending'"""
UNCLAIM = """UPDATE contacts SET status = 'pending', claimed_by = NULL, next_at = ?,
    updated_at = ? WHERE id = ? AND status = 'claimed'"""
RELEASE_CLAIMS = """UPDATE contacts SET status = 'pending', claimed_by = NULL, updated_at = ?
    WHERE status = 'claimed'"""
RELEASE_CLAIMS_OF = RELEASE_CLAIMS + " AND claimed_by = ?"
FINISH_CONTACT = """UPDATE contacts SET status = 'done', disposition = ?, claimed_by = NULL,
    updated_at = ? WHERE id = ? AND status IN ('pending', 'claimed')"""
CANCEL_PENDING = """UPDATE contacts SET status = 'done', disposition = 'cancelled',
    claimed_by = NULL, updated_at = ?
    WHERE program_id = ? AND status IN ('pending', 'claimed')"""
CONTACT_START_ATTEMPT = """UPDATE contacts SET status = 'dialing', attempts = attempts + 1,
    updated_at = ? WHERE id = ? AND status = 'claimed'"""
CONTACT_AFTER_ATTEMPT = """UPDATE contacts SET status = ?, next_at = ?, disposition = ?,
    outcome_counts = ?, last_outcome = ?, last_result = ?, last_call_id = ?,
    last_variables = ?, claimed_by = NULL, updated_at = ? WHERE id = ?"""

# -- attempts ---------------------------------------------------------------------------------
ATTEMPT_COLUMNS = (
    "uuid, program_id, contact_id, number, phone, gateway, owner, state, outcome, result, "
    "cause, started_at, ended_at"
)
ATTEMPT_INSERT = """INSERT INTO attempts
    (uuid, program_id, contact_id, number, phone, gateway, owner, state, started_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, 'dialing', ?)"""
ATTEMPT_GET = f"SELECT {ATTEMPT_COLUMNS} FROM attempts WHERE uuid = ?"
ATTEMPT_GET_FOR_UPDATE_PG = ATTEMPT_GET + " FOR UPDATE"
ATTEMPT_FINISH = """UPDATE attempts SET state = 'done', outcome = ?, result = ?, cause = ?,
    ended_at = ? WHERE uuid = ? AND state = 'dialing'"""
ATTEMPTS_OPEN = (
    f"SELECT {ATTEMPT_COLUMNS} FROM attempts WHERE state = 'dialing' ORDER BY started_at"
)
ATTEMPTS_OPEN_OF = (
    f"SELECT {ATTEMPT_COLUMNS} FROM attempts WHERE state = 'dialing' AND owner = ? "
    "ORDER BY started_at"
)
ATTEMPT_LIST = (
    f"SELECT {ATTEMPT_COLUMNS} FROM attempts WHERE program_id = ? ORDER BY started_at, uuid"
)

# -- do-not-call ------------------------------------------------------------------------------
DNC_ADD_SQLITE = "INSERT OR IGNORE INTO dnc (scope, phone, added_at) VALUES (?, ?, ?)"
DNC_ADD_PG = "INSERT INTO dnc (scope, phone, added_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING"
DNC_REMOVE = "DELETE FROM dnc WHERE scope = ? AND phone = ?"
DNC_CHECK = "SELECT 1 FROM dnc WHERE phone = ? AND scope IN ('', ?) LIMIT 1"

# -- statistics -------------------------------------------------------------------------------
STATS_STATUS = "SELECT status, COUNT(*) FROM contacts WHERE program_id = ? GROUP BY status"
STATS_DISPOSITION = """SELECT disposition, COUNT(*) FROM contacts
    WHERE program_id = ? AND status = 'done' GROUP BY disposition"""
STATS_OUTCOME = """SELECT COALESCE(outcome, 'in_progress'), COUNT(*) FROM attempts
    WHERE program_id = ? GROUP BY outcome"""
STATS_RECENT = "SELECT COUNT(*) FROM attempts WHERE program_id = ? AND started_at >= ?"


# -- PostgreSQL only: one round trip where SQLite needs several -------------------------------


def _qualified(table: str, columns: str) -> str:
    return ", ".join(f"{table}.{column.strip()}" for column in columns.split(","))


# Key space of callflow's advisory locks (the first of the two int4 keys), then its uses.
ADVISORY_CLASS = 0x43464C57  # "CFLW"
SCHEMA_LOCK_PG = f"SELECT pg_advisory_xact_lock({ADVISORY_CLASS}, 0)"  # one schema creator
# A session lock per owner name: held by the live process of that name, released by
# PostgreSQL when its connection ends (the process exited, was killed, or lost the server).
OWNER_TRY_LOCK_PG = f"SELECT pg_try_advisory_lock({ADVISORY_CLASS}, hashtext(?))"
PROGRAM_INSERT_PG = PROGRAM_INSERT + " ON CONFLICT (id) DO NOTHING"
# NO KEY UPDATE: does not block the key-share locks that inserting attempts takes (their FK).
PROGRAM_LOCK_PG = PROGRAM_GET + " FOR NO KEY UPDATE"
# New numbers inserted, known ones get their data updated (attempts kept); `xmax = 0` tells
# an inserted row from an updated one. Rows in the order given: ids (claim order) follow it.
CONTACTS_UPSERT_PG = """INSERT INTO contacts
    (program_id, phone, data, timezone, line, status, next_at, updated_at)
    SELECT ?, c.phone, c.data, c.timezone, c.line, 'pending', ?, ?
    FROM unnest(?::text[], ?::text[], ?::text[], ?::integer[]) WITH ORDINALITY
        AS c(phone, data, timezone, line, n)
    ORDER BY c.n
    ON CONFLICT (program_id, phone) DO UPDATE
    SET data = EXCLUDED.data, timezone = EXCLUDED.timezone, updated_at = EXCLUDED.updated_at
    RETURNING (xmax = 0)"""
# Due contacts locked and marked in one statement; rows another process has locked are
# skipped, not waited for, so processes sharing a program claim disjoint contacts.
CLAIM_DUE_PG = f"""WITH due AS ({CLAIM_DUE_SELECT_PG})
    UPDATE contacts SET status = 'claimed', claimed_by = ?, updated_at = ?
    FROM due WHERE contacts.id = due.id
    RETURNING {_qualified("contacts", CONTACT_COLUMNS)}"""
# The contact moves to dialing and its attempt row is written, atomically, in one statement.
BEGIN_ATTEMPT_PG = f"""WITH dialing AS (
        UPDATE contacts SET status = 'dialing', attempts = attempts + 1, updated_at = ?
        WHERE id = ? AND status = 'claimed' RETURNING program_id, id, attempts, phone)
    INSERT INTO attempts
        (uuid, program_id, contact_id, number, phone, gateway, owner, state, started_at)
    SELECT ?, program_id, id, attempts, phone, ?, ?, 'dialing', ? FROM dialing
    RETURNING {ATTEMPT_COLUMNS}"""
# The attempt and its contact locked together (a second completer waits, then sees `done`).
ATTEMPT_CONTACT_LOCK_PG = f"""SELECT {_qualified("a", ATTEMPT_COLUMNS)},
    {_qualified("c", CONTACT_COLUMNS)}, p.state
    FROM attempts a JOIN contacts c ON c.id = a.contact_id JOIN programs p ON p.id = a.program_id
    WHERE a.uuid = ? FOR UPDATE OF a, c"""
DNC_ADD_MANY_PG = """INSERT INTO dnc (scope, phone, added_at)
    SELECT ?, phone, ? FROM unnest(?::text[]) AS phone ON CONFLICT DO NOTHING"""
DNC_REMOVE_MANY_PG = "DELETE FROM dnc WHERE scope = ? AND phone = ANY(?::text[])"


def placeholders(statement: str) -> str:
    """The statement with `%s` placeholders (psycopg), for a PostgreSQL store."""
    return statement.replace("%", "%%").replace("?", "%s")
