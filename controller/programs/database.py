"""Which store a `programs_db` setting names, and the one store a controller process shares.

`programs_db` is a file path (SQLite, the default: nothing to install, one controller per
database) or a `postgresql://` URL (several controllers sharing programs). The program
manager and the HTTP API of one process use the same store (`ProgramDatabase`), opened the
first time it is needed: a controller never creates a SQLite file on its own — the first
program created (`callflow program create`, `POST /api/programs`) does.
"""

from __future__ import annotations

import re
import socket
import threading
from pathlib import Path
from urllib.parse import urlsplit

from controller.programs.sqlite_store import SQLiteStore
from controller.programs.store import ProgramStore

ProgramsTarget = Path | str  # a SQLite file, or a PostgreSQL URL


def is_postgres_url(target: object) -> bool:
    return isinstance(target, str) and target.startswith(("postgresql://", "postgres://"))


def redacted(url: str) -> str:
    """The URL without its password (in the authority or as `password=`), for messages."""
    password = urlsplit(url).password
    if password:
        url = url.replace(f":{password}@", ":***@", 1)
    return re.sub(r"([?&]password=)[^&#]*", r"\1***", url)


def describe(target: ProgramsTarget) -> str:
    """For messages: the path, or the URL without its password."""
    return redacted(target) if is_postgres_url(target) else str(target)


def exists(target: ProgramsTarget) -> bool:
    """A PostgreSQL database is there to use (its tables are created when missing); a SQLite
    file exists once a program was created."""
    return is_postgres_url(target) or Path(target).exists()


def open_store(target: ProgramsTarget) -> ProgramStore:
    if is_postgres_url(target):
        # psycopg is imported only where PostgreSQL is used.
        from controller.programs.postgres_store import PostgresStore  # noqa: PLC0415

        return PostgresStore(str(target))
    return SQLiteStore(Path(target))


def default_instance_name() -> str:
    """This machine's name: stable across restarts (a pid is not). Two controllers on one
    machine sharing a PostgreSQL program database need distinct `instance_name`s."""
    return socket.gethostname() or "callflow"


class ProgramDatabase:
    """The process's store, opened once on first use and shared (thread-safe to open)."""

    def __init__(self, target: ProgramsTarget) -> None:
        self.target = target
        self._store: ProgramStore | None = None
        self._lock = threading.Lock()

    def get(self, *, create: bool = False) -> ProgramStore | None:
        """The store; None when there is none yet and `create` is false."""
        with self._lock:
            if self._store is None and (create or exists(self.target)):
                self._store = open_store(self.target)
            return self._store

    def close(self) -> None:
        with self._lock:
            store, self._store = self._store, None
        if store is not None:
            store.close()
